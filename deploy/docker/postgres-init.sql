-- Mounted into postgres:15 at /docker-entrypoint-initdb.d/ by docker-compose.yml.
-- Runs once, as POSTGRES_USER (rse), only when the data volume is empty:
-- after changing this file run `docker compose down -v` to re-initialise.
-- One database per service (database-per-service; no cross-service SQL).
CREATE DATABASE rse_identity OWNER rse;
CREATE DATABASE rse_consent  OWNER rse;
CREATE DATABASE rse_records  OWNER rse;
CREATE DATABASE rse_requests OWNER rse;
CREATE DATABASE rse_benefits OWNER rse;
CREATE DATABASE rse_notifications OWNER rse;
-- The citizens' data keys (rse_shared.keyring), wrapped by the key-encryption key.
CREATE DATABASE rse_keys OWNER rse;
