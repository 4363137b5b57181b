"""`rse-audit`: verify the log is unaltered, replay it, ask it questions, report from it."""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import time
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

from aiokafka.errors import KafkaError
from pymongo import AsyncMongoClient

from rse_audit.compare import compare, compare_decisions
from rse_audit.freshness import lag_of
from rse_audit.history import as_of
from rse_audit.kafka_log import event_topics
from rse_audit.permits import DELIVERY_GRACE, permits_without_consent
from rse_audit.provenance import entries_not_on_consent_events, records_cipher, register_changes
from rse_audit.replay import replay
from rse_audit.report import write_report
from rse_audit.verify import KeyDocument, load_keys, published_keys, verify
from rse_shared.keyring import Keyring, PostgresKeyring, decode_key, shared_keyring
from rse_shared.progress import Progress
from rse_shared.settings import ServiceSettings

DEFAULT_DB = Path(".local/audit/history.sqlite")


def bootstrap_of(args: argparse.Namespace) -> str:
    return str(args.bootstrap or ServiceSettings().kafka_bootstrap)


def auditor_keyring(keys: str | None = None) -> PostgresKeyring:
    """The citizens' data keys, each fetch logged as the auditor's: the key database `keys`
    (a name on the RSE_POSTGRES_* server or a libpq string; default RSE_KEYRING_DB) under the
    KEK of RSE_DATA_KEK(_FILE)."""
    settings = ServiceSettings(service_name="auditor")
    if keys is None:
        return settings.data_keyring()
    return shared_keyring(
        conninfo_of(keys),
        decode_key(settings.keys_env()["RSE_DATA_KEK"]),
        service="auditor",
        cache_seconds=settings.key_cache_seconds,
    )


def keyring_of(args: argparse.Namespace) -> Keyring | None:
    """The auditor's keys if the command was given `--keys` (None: protected values withheld)."""
    keys = getattr(args, "keys", None)
    return None if keys is None else auditor_keyring(keys)


def conninfo_of(store: str) -> str:
    """A libpq connection string: `store` itself, or the database `store` on RSE_POSTGRES_*."""
    if "=" in store or "://" in store:
        return store
    return ServiceSettings(postgres_db=store).postgres_conninfo()


async def run_verify(args: argparse.Namespace) -> int:
    settings = ServiceSettings()
    if args.keys:
        pinned: list[KeyDocument] | None = load_keys(args.keys)
    elif settings.environment == "production" and not args.unpinned:
        print(
            "REFUSED: in production the checkpoints' keys must be pinned (--keys FILE, "
            "written once by `rse-audit keys` and checked with each service's operators); "
            "--unpinned trusts whatever audit.keys holds",
            file=sys.stderr,
        )
        return 2
    else:
        pinned = None
        print(
            "UNPINNED: trusting the verification keys published on audit.keys; anyone "
            "allowed to write there could add one (pin them: `rse-audit keys`, then "
            "`verify --keys FILE`)"
        )
    interval = args.checkpoint_interval or settings.checkpoint_interval
    bootstrap = bootstrap_of(args)
    topics = args.topic or await event_topics(bootstrap)
    mapping = dict(pair.split("=", 1) for pair in args.checkpoints_of or [])
    summary, findings = await verify(bootstrap, topics, mapping, pinned, interval)
    print(
        f"verified {summary.records} records in {summary.partitions} partitions of "
        f"{len(topics)} topics against {summary.checkpoints} signed checkpoints "
        f"({summary.duplicates} re-published copies skipped)"
    )
    for finding in findings:
        print(f"BROKEN: {finding}")
    if not findings:
        print("OK: every chain is unbroken and every checkpoint authentic")
    return 1 if findings else 0


async def run_keys(args: argparse.Namespace) -> int:
    """Write the verification keys on audit.keys to a file, to pin them for `verify --keys`."""
    keys = await published_keys(bootstrap_of(args))
    text = json.dumps(keys, indent=2) + "\n"
    if args.out:
        args.out.write_text(text)
        print(
            f"wrote {len(keys)} keys to {args.out}; check them against each service's "
            f"operators before you trust them"
        )
    else:
        print(text, end="")
    return 0


async def run_replay(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    bootstrap = bootstrap_of(args)
    topics = args.topic or await event_topics(bootstrap)
    args.db.parent.mkdir(parents=True, exist_ok=True)
    args.db.unlink(missing_ok=True)
    progress = Progress("replay", None)
    started = time.monotonic()
    read = await replay(bootstrap, topics, args.db, progress=progress, keyring=keyring_of(args))
    progress.close()
    elapsed = time.monotonic() - started
    print(
        f"replayed {read} events from {len(topics)} topics in {elapsed:.1f}s "
        f"({read / max(elapsed, 1e-9):,.0f} events/s) into {args.db}",
        file=out,
    )
    return 0


async def fresh_history(args: argparse.Namespace) -> str | None:
    """Replay first when the history is behind the log; with --no-replay, warn instead.

    Returns the warning the answer must carry (None when the history is complete). The
    messages go to stderr: `as-of` writes its answer on stdout.
    """
    try:
        lag = await lag_of(bootstrap_of(args), args.db)
    except (KafkaError, OSError) as error:
        if not args.no_replay:
            raise
        warning = f"could not compare the history in {args.db} with the log: {error!r}"
        print(f"WARNING: {warning}", file=sys.stderr)
        return warning
    if not lag.behind:
        return None
    if args.no_replay:
        warning = f"{lag.describe()}; this answer does not include them (--no-replay)"
        print(f"WARNING: {warning}", file=sys.stderr)
        return warning
    print(f"{lag.describe()}: replaying first", file=sys.stderr)
    # The same topics again (a first replay: every service's events topic).
    args.topic = args.topic or (lag.replay.topics if lag.replay else None)
    await run_replay(args, out=sys.stderr)
    return None


async def run_compare(args: argparse.Namespace) -> int:
    settings = ServiceSettings()
    mongo: AsyncMongoClient[Any] = AsyncMongoClient(args.mongo_url or settings.mongo_url)
    try:
        with sqlite3.connect(args.db) as db:
            records = ServiceSettings(service_name="records")
            cipher = records_cipher(records.keys_env()["RSE_STORE_KEY"], auditor_keyring(args.keys))
            changes = register_changes(conninfo_of(args.records_store), cipher)
            differences = [
                *entries_not_on_consent_events(db, changes),
                *permits_without_consent(db, timedelta(seconds=args.grace)),
                *await compare(db, mongo[args.consent_db]),
                *await compare_decisions(db, mongo[args.requests_db], mongo[args.benefits_db]),
            ]
    finally:
        await mongo.close()
    for difference in differences:
        print(f"DIFFERENT: {difference}")
    print(f"{len(differences)} differences between the replay and the live projections")
    return 1 if differences else 0


def _no_history(path: Path) -> bool:
    if path.exists():
        return False
    print(f"no history in {path}: run `rse-audit replay` (or drop --no-replay)", file=sys.stderr)
    return True


async def run_as_of(args: argparse.Namespace) -> int:
    await fresh_history(args)
    if _no_history(args.db):
        return 2
    with sqlite3.connect(args.db) as db:
        answer = as_of(db, args.citizen, args.date)
    print(json.dumps(asdict(answer), indent=1))
    return 0


async def run_report(args: argparse.Namespace) -> int:
    stale = await fresh_history(args)
    if _no_history(args.db):
        return 2
    with sqlite3.connect(args.db) as db:
        files = write_report(
            db, args.out, citizen_id=args.citizen, since=args.since, until=args.until, stale=stale
        )
    for path in files:
        print(f"wrote {path}")
    return 0


def _add_kafka_commands(commands: Any) -> None:
    """verify, keys and replay: the commands that read the topics."""
    every = "every service's <service>.events"
    check = commands.add_parser("verify", help="check every hash chain and signed checkpoint")
    check.add_argument("--topic", action="append", help=f"a topic to verify (default: {every})")
    check.add_argument(
        "--checkpoints-of",
        action="append",
        metavar="COPY=ORIGINAL",
        help="verify the topic COPY against the checkpoints of ORIGINAL",
    )
    check.add_argument(
        "--keys",
        type=Path,
        metavar="FILE",
        help="trust only these verification keys (from `rse-audit keys`)",
    )
    check.add_argument(
        "--unpinned",
        action="store_true",
        help="in production, trust the keys on audit.keys (refused otherwise)",
    )
    check.add_argument(
        "--checkpoint-interval",
        type=float,
        metavar="SECONDS",
        help="the relays' checkpoint interval (default: RSE_CHECKPOINT_INTERVAL"
        " or 30); records unsigned for twice as long fail",
    )
    pin = commands.add_parser("keys", help="the producers' verification keys, to pin")
    pin.add_argument("--out", type=Path, help="write them to this file (default: stdout)")
    rebuild = commands.add_parser("replay", help="rebuild the history from offset 0")
    rebuild.add_argument("--topic", action="append", help=f"a topic to replay (default: {every})")
    _add_key_option(rebuild)


def _add_key_option(*commands: Any) -> None:
    """replay (and as-of and report, which may replay first): the auditor's key access."""
    for command in commands:
        command.add_argument(
            "--keys",
            metavar="CONNINFO",
            help="the citizens' key database (a database on the RSE_POSTGRES_* server or a "
            "libpq string; the KEK from RSE_DATA_KEK or RSE_DATA_KEK_FILE): protected values "
            "are revealed, each key fetch logged as the auditor's (default: withheld)",
        )


def _add_history_commands(commands: Any) -> None:
    """compare, as-of and report: the commands that read the replayed history."""
    against = commands.add_parser("compare", help="the replay against the live projections")
    against.add_argument("--mongo-url", help="default: RSE_MONGO_URL")
    for service in ("consent", "requests", "benefits"):
        against.add_argument(
            f"--{service}-db",
            default=f"rse_{service}",
            help=f"the {service} service's MongoDB database",
        )
    against.add_argument(
        "--grace",
        type=float,
        metavar="SECONDS",
        default=DELIVERY_GRACE.total_seconds(),
        help="how long after a consent's revocation records may still act on "
        "it, not yet told (default: %(default)s)",
    )
    against.add_argument(
        "--records-store",
        default="rse_records",
        help="records' event store, whose consent register is looked up on "
        "consent.events: a PostgreSQL database on the RSE_POSTGRES_* "
        "server, or a libpq connection string (default: rse_records); its events open "
        "with records' store key (RSE_STORE_KEY(_FILE)) and the citizens' keys",
    )
    against.add_argument(
        "--keys",
        metavar="CONNINFO",
        help="the citizens' key database (default: RSE_KEYRING_DB on the RSE_POSTGRES_* "
        "server); each fetch logged as the auditor's",
    )
    ask = commands.add_parser("as-of", help="what a citizen had authorised, and who accessed")
    ask.add_argument("citizen")
    ask.add_argument("date", help="ISO date or date-time (UTC)")
    report = commands.add_parser("report", help="HTML report, JSON lines and FHIR exports")
    report.add_argument("--citizen")
    report.add_argument("--since")
    report.add_argument("--until")
    report.add_argument("--out", type=Path, default=Path(".local/audit/report"))
    _add_freshness_options(ask, report)
    _add_key_option(ask, report)


def _add_freshness_options(*commands: Any) -> None:
    """as-of and report: replay first when the log has moved on, or only warn."""
    for command in commands:
        command.add_argument(
            "--no-replay",
            action="store_true",
            help="answer from the history as it is, with a warning if the log has moved on "
            "(default: replay first when it has)",
        )
        command.add_argument(
            "--topic",
            action="append",
            help="a topic to replay when there is no history yet (default: every "
            "service's <service>.events; afterwards: the topics the history holds)",
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rse-audit", description=__doc__)
    parser.add_argument("--bootstrap", help="Kafka bootstrap (default: RSE_KAFKA_BOOTSTRAP)")
    parser.add_argument(
        "--db", type=Path, default=DEFAULT_DB, help=f"the replayed history (default: {DEFAULT_DB})"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    _add_kafka_commands(commands)
    _add_history_commands(commands)
    args = parser.parse_args(argv)
    if args.command == "verify":
        return asyncio.run(run_verify(args))
    if args.command == "keys":
        return asyncio.run(run_keys(args))
    if args.command == "replay":
        return asyncio.run(run_replay(args))
    if args.command == "compare":
        return asyncio.run(run_compare(args))
    if args.command == "as-of":
        return asyncio.run(run_as_of(args))
    return asyncio.run(run_report(args))


if __name__ == "__main__":
    raise SystemExit(main())
