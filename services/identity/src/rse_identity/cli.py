"""`rse-identity`: serve the API, bootstrap the first operator, rebuild projections."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from pathlib import Path

from rse_identity.application import IdentityApplication, UsernameTaken
from rse_identity.bootstrap import bootstrap
from rse_identity.config import Settings
from rse_identity.tokens import write_new_key
from rse_shared.logs import setup_logging
from rse_shared.progress import Progress
from rse_shared.telemetry import setup_tracing


def serve(settings: Settings) -> None:
    import uvicorn

    setup_logging("identity", settings.log_level)
    setup_tracing("identity", settings.otlp_endpoint)
    service = bootstrap(settings)
    uvicorn.run(service.api, host=settings.http_host, port=settings.http_port,
                log_config=None, access_log=False)


def create_operator(settings: Settings, username: str) -> int:
    """Create an operator account; the password comes from a prompt or RSE_OPERATOR_PASSWORD."""
    password = os.environ.get("RSE_OPERATOR_PASSWORD") or getpass.getpass("Password: ")
    if len(password) < 12:
        print("the password needs at least 12 characters", file=sys.stderr)
        return 2
    app = IdentityApplication(env=settings.eventstore_env())
    try:
        account_id = app.provision_staff(username=username, password=password,
                                                 role="operator")
    except UsernameTaken:
        print(f"username {username!r} already exists", file=sys.stderr)
        return 1
    print(f"operator {username} created ({account_id})")
    return 0


async def rebuild(settings: Settings) -> int:
    service = bootstrap(settings)
    total = service.app.recorder.max_notification_id() or 0
    progress = Progress("citizen_directory", total)
    projector = service.projectors["citizen_directory"]
    projector.progress = lambda done, _position: progress.update(done)
    applied = await projector.rebuild()
    progress.close()
    print(f"rebuilt citizen_directory from {applied} events")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rse-identity", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the API, relay and projector")
    operator = commands.add_parser("create-operator", help="create the first operator")
    operator.add_argument("username")
    commands.add_parser("rebuild-projections", help="drop and replay the read models")
    key = commands.add_parser("generate-key", help="write a new Ed25519 signing key (PEM)")
    key.add_argument("path", type=Path)
    args = parser.parse_args(argv)
    settings = Settings()
    if args.command == "serve":
        serve(settings)
        return 0
    if args.command == "create-operator":
        return create_operator(settings, args.username)
    if args.command == "rebuild-projections":
        return asyncio.run(rebuild(settings))
    write_new_key(args.path)
    print(f"wrote {args.path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
