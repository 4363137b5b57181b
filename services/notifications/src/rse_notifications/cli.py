"""`rse-notifications`: serve the API and workers, or rebuild the projections."""

from __future__ import annotations

from rse_notifications.bootstrap import bootstrap
from rse_notifications.config import Settings
from rse_shared.cli import main as service_main


def main(argv: list[str] | None = None) -> int:
    return service_main(
        "rse-notifications", Settings, lambda s: bootstrap(Settings.model_validate(s)), argv
    )


if __name__ == "__main__":
    raise SystemExit(main())
