"""The key database's tables and the statements the keyring runs on them (rse_shared.keyring)."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS data_keys (
    citizen_id uuid PRIMARY KEY,
    kek_id text NOT NULL,
    wrapped bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL,
    erased_at timestamptz,
    erased_by text,
    legal_basis text,
    CHECK ((wrapped IS NULL) = (erased_at IS NOT NULL))
);
CREATE TABLE IF NOT EXISTS key_access (
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    service text NOT NULL,
    citizen_id uuid NOT NULL,
    purpose text NOT NULL
);
CREATE INDEX IF NOT EXISTS key_access_citizen ON key_access (citizen_id, at);
"""

# Made if missing, and the fetch logged, in one statement: the row the INSERT made is
# not visible to the SELECT of the same statement, hence the UNION.
FETCH = """
WITH made AS (
    INSERT INTO data_keys (citizen_id, kek_id, wrapped, created_by)
    SELECT u.citizen_id, %(kek_id)s, u.wrapped, %(service)s
    FROM unnest(%(citizens)b::uuid[], %(wrapped)b::bytea[]) AS u(citizen_id, wrapped)
    ON CONFLICT (citizen_id) DO NOTHING
    RETURNING citizen_id, kek_id, wrapped
), logged AS (
    INSERT INTO key_access (service, citizen_id, purpose)
    SELECT %(service)s, c, %(purpose)s FROM unnest(%(citizens)b::uuid[]) AS c
)
SELECT citizen_id, kek_id, wrapped FROM made
UNION ALL
SELECT citizen_id, kek_id, wrapped FROM data_keys
WHERE citizen_id = ANY(%(citizens)b::uuid[]) AND citizen_id NOT IN (SELECT citizen_id FROM made)
"""

ERASE = """
UPDATE data_keys SET wrapped = NULL, erased_at = clock_timestamp(), erased_by = %(by)s,
    legal_basis = %(basis)s
WHERE citizen_id = %(citizen)s AND erased_at IS NULL
"""
ERASE_UNKNOWN = """
INSERT INTO data_keys (citizen_id, kek_id, wrapped, created_by, erased_at, erased_by, legal_basis)
VALUES (%(citizen)s, '', NULL, %(by)s, clock_timestamp(), %(by)s, %(basis)s)
ON CONFLICT (citizen_id) DO NOTHING
"""
