pytest_plugins = ["rse_shared.testing.fixtures"]
