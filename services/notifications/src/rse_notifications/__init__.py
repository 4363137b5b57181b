"""RSE notifications service."""
