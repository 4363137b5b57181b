"""`rse-audit`: the auditor's command line."""

from __future__ import annotations

import argparse
import asyncio
import sys

from rse_audit.kafka_log import event_topics
from rse_audit.verify import verify
from rse_shared.settings import ServiceSettings


async def run_verify(args: argparse.Namespace) -> int:
    bootstrap = args.bootstrap or ServiceSettings().kafka_bootstrap
    topics = args.topic or await event_topics(bootstrap)
    mapping = dict(pair.split("=", 1) for pair in args.checkpoints_of or [])
    summary, findings = await verify(bootstrap, topics, mapping)
    print(f"verified {summary.records} records in {summary.partitions} partitions of "
          f"{len(topics)} topics against {summary.checkpoints} signed checkpoints "
          f"({summary.duplicates} re-published copies skipped)")
    for finding in findings:
        print(f"BROKEN: {finding}")
    if not findings:
        print("OK: every chain is unbroken and every checkpoint authentic")
    return 1 if findings else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rse-audit", description=__doc__)
    parser.add_argument("--bootstrap", help="Kafka bootstrap (default: RSE_KAFKA_BOOTSTRAP)")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("verify", help="check every hash chain and signed checkpoint")
    check.add_argument("--topic", action="append",
                       help="a topic to verify (default: every service's <service>.events)")
    check.add_argument("--checkpoints-of", action="append", metavar="COPY=ORIGINAL",
                       help="verify the topic COPY against the checkpoints of ORIGINAL")
    args = parser.parse_args(argv)
    if args.command == "verify":
        return asyncio.run(run_verify(args))
    parser.print_usage(sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
