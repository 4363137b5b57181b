"""`rse-identity`: serve, rebuild projections, create the first operator, make or rotate
the signing key."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from rse_identity.application import IdentityApplication, UsernameTaken
from rse_identity.bootstrap import bootstrap
from rse_identity.config import Settings
from rse_identity.signing_keys import rotate_key as rotate_key_file
from rse_shared.cli import main as service_main
from rse_shared.keys import write_new_key


def create_operator(args: argparse.Namespace) -> int:
    """Create an operator account; the password comes from a prompt or RSE_OPERATOR_PASSWORD."""
    password = os.environ.get("RSE_OPERATOR_PASSWORD") or getpass.getpass("Password: ")
    if len(password) < 12:
        print("the password needs at least 12 characters", file=sys.stderr)
        return 2
    app = IdentityApplication(env=Settings().eventstore_env())
    try:
        account_id = app.provision_staff(username=args.username, password=password, role="operator")
    except UsernameTaken:
        print(f"username {args.username!r} already exists", file=sys.stderr)
        return 1
    print(f"operator {args.username} created ({account_id})")
    return 0


def generate_key(args: argparse.Namespace) -> int:
    write_new_key(args.path)
    print(f"wrote {args.path}")
    return 0


def rotate_key(args: argparse.Namespace) -> int:
    """Retire the signing key (kept in the JWKS for the overlap) and write a new one."""
    settings = Settings()
    path = args.path or settings.signing_key_file
    if path is None:
        print("no signing key file: set RSE_SIGNING_KEY_FILE or name it", file=sys.stderr)
        return 2
    retired = rotate_key_file(path, settings.signing_key_overlap_seconds)
    print(f"new signing key in {path}; the old one's public key in {retired}")
    print("restart identity to sign with it; the old key verifies for the overlap")
    return 0


def main(argv: list[str] | None = None) -> int:
    return service_main(
        "rse-identity",
        Settings,
        lambda s: bootstrap(Settings.model_validate(s)),
        argv,
        extra={
            "create-operator": (
                "create an operator account (the first one, too)",
                lambda p: p.add_argument("username"),
                create_operator,
            ),
            "rotate-key": (
                "retire the signing key (still in the JWKS for the overlap), write a new one",
                lambda p: p.add_argument("path", type=Path, nargs="?"),
                rotate_key,
            ),
            "generate-key": (
                "write a new Ed25519 signing key (PEM)",
                lambda p: p.add_argument("path", type=Path),
                generate_key,
            ),
        },
    )


if __name__ == "__main__":
    raise SystemExit(main())
