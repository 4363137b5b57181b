"""The command line every service shares: `serve` and `rebuild-projections`."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Mapping

from rse_shared.logs import setup_logging
from rse_shared.progress import Progress
from rse_shared.service import Service
from rse_shared.settings import ServiceSettings
from rse_shared.telemetry import setup_tracing

Command = Callable[[argparse.Namespace], int]


def serve(settings: ServiceSettings, build: Callable[[], Service]) -> int:
    """Run the API with the relay, projectors and consumers of one service."""
    import uvicorn

    setup_logging(settings.service_name, settings.log_level)
    setup_tracing(settings.service_name, settings.otlp_endpoint)
    service = build()
    uvicorn.run(
        service.api,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
    )
    return 0


async def rebuild(service: Service) -> int:
    """Drop every projection of the service and replay its log into it, with progress."""
    total = service.app.recorder.max_notification_id() or 0
    for name, projector in service.projectors.items():
        progress = Progress(name, total)
        projector.progress = lambda done, _position, bar=progress: bar.update(done)
        applied = await projector.rebuild()
        progress.close()
        print(f"rebuilt {name} from {applied} events")
    await service.mongo.close()
    return 0


def main(
    prog: str,
    settings_factory: Callable[[], ServiceSettings],
    build: Callable[[ServiceSettings], Service],
    argv: list[str] | None = None,
    extra: Mapping[str, tuple[str, Callable[[argparse.ArgumentParser], object], Command]]
    | None = None,
) -> int:
    """Parse `argv` and run `serve`, `rebuild-projections` or one of the `extra` commands.

    `extra` maps a command name to (help, a function adding its arguments, its handler).
    """
    parser = argparse.ArgumentParser(prog=prog)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the API, relay, projectors and consumers")
    commands.add_parser("rebuild-projections", help="drop and replay the read models")
    for name, (help_text, add_arguments, _) in (extra or {}).items():
        add_arguments(commands.add_parser(name, help=help_text))
    args = parser.parse_args(argv)
    if args.command in (extra or {}):
        return (extra or {})[args.command][2](args)
    settings = settings_factory()
    if args.command == "serve":
        return serve(settings, lambda: build(settings))
    return asyncio.run(rebuild(build(settings)))
