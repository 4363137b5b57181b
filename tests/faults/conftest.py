"""The fault suite runs on servers of its own, which its tests kill and restart.

A second, fresh instance of PostgreSQL, Kafka and FerretDB (deploy/local with its own
directory and ports, see `FaultServers`) is started once for the suite and stopped after
it, so killing a server here never disturbs the other suites or a developer's `make up`.
`infra` is overridden for this directory: every fixture built on it (fresh databases,
topics, the end-to-end `platform`) lands on these servers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from rse_shared.settings import ServiceSettings, local_secrets_dir
from rse_shared.testing import REPO
from tests.e2e.conftest import platform as platform  # the fixture, re-exported

SCRIPTS = REPO / "deploy" / "local"


class FaultServers:
    """Control of the suite's own servers: kill (SIGKILL), start, restart."""

    def __init__(self, directory: Path, base: int) -> None:
        self.directory = directory
        # Below the ephemeral range (32768-60999): a client's outgoing port cannot take one
        # of these while a server is restarted.
        self.ports = {
            "postgres": 25442 + base,
            "kafka": 19192 + base,
            "controller": 19193 + base,
            "ferretdb": 27028 + base,
            "mailpit_smtp": 11035 + base,
            "mailpit_http": 18035 + base,
        }

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "RSE_LOCAL_DIR": str(self.directory),
            "RSE_BIN_DIR": str(REPO / ".local" / "bin"),  # the FerretDB build is shared
            # The checkout's CA and Kafka credentials, so every client set-up reaches both.
            "RSE_SECRETS_DIR": str(local_secrets_dir()),
            "RSE_LOCAL_PG_PORT": str(self.ports["postgres"]),
            "RSE_LOCAL_KAFKA_PORT": str(self.ports["kafka"]),
            "RSE_LOCAL_KAFKA_CONTROLLER_PORT": str(self.ports["controller"]),
            "RSE_LOCAL_FERRETDB_PORT": str(self.ports["ferretdb"]),
            # infra.sh starts and stops a Mailpit too: its own, never the checkout's.
            "RSE_LOCAL_MAILPIT_SMTP_PORT": str(self.ports["mailpit_smtp"]),
            "RSE_LOCAL_MAILPIT_HTTP_PORT": str(self.ports["mailpit_http"]),
            # No identity provider here: the suite's citizens are activated at the counter.
            "RSE_LOCAL_KEYCLOAK": "off",
        }

    def run(self, script: str, action: str) -> None:
        done = subprocess.run(
            ["bash", str(SCRIPTS / f"{script}.sh"), action],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{script}.sh {action} failed:\n{done.stderr}")

    def kill(self, server: str) -> None:
        """SIGKILL the server (postgres, kafka or ferretdb)."""
        self.run(server, "kill")

    def start(self, server: str) -> None:
        """Start it and wait until it answers."""
        self.run(server, "start")

    def settings(self) -> ServiceSettings:
        return ServiceSettings(
            service_name="test",
            environment="test",
            postgres_port=self.ports["postgres"],
            kafka_bootstrap=f"127.0.0.1:{self.ports['kafka']}",
            mongo_url=f"mongodb://127.0.0.1:{self.ports['ferretdb']}/",
        )

    def service_env(self) -> dict[str, str]:
        """The environment a service process needs to use these servers."""
        settings = self.settings()
        return {
            **os.environ,
            "RSE_ENVIRONMENT": "test",
            "RSE_POSTGRES_PORT": str(settings.postgres_port),
            "RSE_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "RSE_MONGO_URL": settings.mongo_url,
        }


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `after_the_faults` (the auditor's) run last."""
    last = [item for item in items if item.get_closest_marker("after_the_faults")]
    items[:] = [item for item in items if item not in last] + last


@pytest.fixture(scope="session")
def servers() -> Iterator[FaultServers]:
    """The suite's own servers, fresh for the run (RSE_FAULTS_DIR / RSE_FAULTS_PORT_OFFSET
    let two runs side by side use separate instances)."""
    directory = Path(os.environ.get("RSE_FAULTS_DIR", REPO / ".local" / "faults"))
    fault = FaultServers(directory, int(os.environ.get("RSE_FAULTS_PORT_OFFSET", "0")))
    if directory.exists():
        fault.run("infra", "down")
        shutil.rmtree(directory)
    try:
        fault.run("infra", "up")
    except RuntimeError:
        fault.run("infra", "down")  # leave nothing half-started behind
        raise
    yield fault
    fault.run("infra", "down")
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def infra(servers: FaultServers) -> ServiceSettings:
    """The suite's servers stand in for the shared ones."""
    return servers.settings()
