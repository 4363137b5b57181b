"""Delivery: the queue in PostgreSQL, the SMTP and SMS senders, the dispatcher."""
