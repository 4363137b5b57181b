"""The auditor's tool: verify the log is unaltered, replay it, report from it."""
