"""Identity's aggregates: citizens, their NIF claims, and login accounts."""
