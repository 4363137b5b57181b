"""Notifications domain: recipients and their preferences, notifications and messages."""
