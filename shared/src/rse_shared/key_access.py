"""Who may do what in the key database: one PostgreSQL role per service, least privilege.

Every service reads and makes data keys (SELECT, INSERT on `data_keys`) and can only add to
the access log (INSERT on `key_access`: no service reads, changes or deletes it); only
identity, which erases citizens, may destroy a key (UPDATE of the wrapped key and the
erasure columns); the auditor reads the log and what is kept of erasures, never a wrapped
key. Rotating the KEK (`rewrap`) is the database owner's, run by an operator.

    python -m rse_shared.key_access sql --password-dir DIR [--role-prefix rse_keys_]

prints the statements (roles with the passwords kept in DIR/keys-<service>.password, the
tables, the grants) that deploy/local/postgres.sh applies to `rse_keys` as its owner;

    python -m rse_shared.key_access grants --role-prefix rse_

only the tables and grants, for roles that exist already (Kubernetes: each service's
PostgreSQL role `rse_<service>`; see deploy/k8s).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rse_shared.keyring import PostgresKeyring, decode_key
from rse_shared.keyring_sql import SCHEMA
from rse_shared.settings import ServiceSettings
from rse_shared.topics import SERVICES

AUDITOR = "auditor"
ERASER = "identity"
KEPT_OF_ERASURE = "citizen_id, created_at, created_by, erased_at, erased_by, legal_basis"


def role_of(service: str, prefix: str = "rse_keys_") -> str:
    return f"{prefix}{service}"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def role_sql(role: str, password: str) -> str:
    """The login role, made or its password set (idempotent)."""
    return (
        "DO $$ BEGIN\n"
        f"  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {_quote(role)}) THEN\n"
        f"    CREATE ROLE {role} LOGIN PASSWORD {_quote(password)};\n"
        f"  ELSE ALTER ROLE {role} LOGIN NOSUPERUSER PASSWORD {_quote(password)}; END IF;\n"
        "END $$;"
    )


def grants_sql(prefix: str = "rse_keys_") -> list[str]:
    """The grants of every service's role, of the eraser's and of the auditor's."""
    statements = [
        "REVOKE ALL ON data_keys, key_access FROM PUBLIC;",
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC;",
    ]
    for service in (*SERVICES, AUDITOR):
        role = role_of(service, prefix)
        statements += [
            f"GRANT CONNECT ON DATABASE rse_keys TO {role};",
            f"GRANT USAGE ON SCHEMA public TO {role};",
            f"REVOKE ALL ON data_keys, key_access FROM {role};",
        ]
        if service == AUDITOR:
            statements += [
                f"GRANT SELECT ON key_access TO {role};",
                f"GRANT SELECT ({KEPT_OF_ERASURE}) ON data_keys TO {role};",
            ]
            continue
        statements += [
            f"GRANT SELECT, INSERT ON data_keys TO {role};",
            f"GRANT INSERT ON key_access TO {role};",
        ]
    eraser = role_of(ERASER, prefix)
    statements.append(
        f"GRANT UPDATE (wrapped, erased_at, erased_by, legal_basis) ON data_keys TO {eraser};"
    )
    return statements


def setup_sql(password_dir: Path, prefix: str = "rse_keys_") -> str:
    """Everything the key database's owner runs: roles, tables, grants."""
    roles = [
        role_sql(role_of(s, prefix), (password_dir / f"keys-{s}.password").read_text().strip())
        for s in (*SERVICES, AUDITOR)
    ]
    quiet = "SET client_min_messages = warning;"
    return "\n".join([quiet, *roles, SCHEMA.strip(), *grants_sql(prefix)]) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m rse_shared.key_access")
    sub = parser.add_subparsers(dest="command", required=True)
    sql = sub.add_parser("sql", help="roles, tables and grants of the key database")
    sql.add_argument("--password-dir", type=Path, required=True)
    sql.add_argument("--role-prefix", default="rse_keys_")
    grants = sub.add_parser("grants", help="only the tables and grants, for existing roles")
    grants.add_argument("--role-prefix", default="rse_")
    rewrap = sub.add_parser(
        "rewrap",
        help="KEK rotation: re-wrap every data key under a new KEK (as the database owner, "
        "the current KEK from RSE_DATA_KEK(_FILE)); run again to finish an interrupted run",
    )
    rewrap.add_argument("--new-kek-file", type=Path, required=True)
    args = parser.parse_args()
    if args.command == "sql":
        print(setup_sql(args.password_dir, args.role_prefix), end="")
    elif args.command == "grants":
        print("\n".join([SCHEMA.strip(), *grants_sql(args.role_prefix)]))
    else:
        print(f"re-wrapped {rewrap_all(ServiceSettings(), args.new_kek_file):,} data keys")


def rewrap_all(settings: ServiceSettings, new_kek_file: Path) -> int:
    """Every data key wrapped by the settings' KEK, re-wrapped by the one in the file."""
    owner = PostgresKeyring(
        settings.postgres_conninfo(settings.keyring_db),
        decode_key(settings.keys_env()["RSE_DATA_KEK"]),
        service="operator",
        cache_seconds=0,
    )
    try:
        return owner.rewrap(decode_key(new_kek_file.read_text().strip()))
    finally:
        owner.close()


if __name__ == "__main__":
    main()
