"""The deployment files stay valid without a Docker engine."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_docker_compose_file_is_valid() -> None:
    compose = shutil.which("docker-compose")
    if compose is None:
        pytest.fail("docker-compose is not installed: run `make install`")
    result = subprocess.run(
        [compose, "-f", str(REPO / "docker-compose.yml"), "config", "-q"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_every_service_has_a_dockerfile_and_a_compose_entry() -> None:
    compose = (REPO / "docker-compose.yml").read_text()
    for service in sorted(p.name for p in (REPO / "services").iterdir() if p.is_dir()):
        assert (REPO / "services" / service / "Dockerfile").is_file()
        assert f"\n  {service}:\n" in compose


def test_compose_kafka_gets_the_topologys_acls_and_topics() -> None:
    """docker-compose's broker applies what rse_shared.acl derives (regenerate both files
    with `python -m rse_shared.acl kafka-acls` / `topics` when the topology changes)."""
    from rse_shared import acl, topics

    commands = (REPO / "deploy" / "docker" / "kafka-acls.txt").read_text().splitlines()
    assert commands == [" ".join(c) for c in acl.kafka_acls_commands()]
    created = (REPO / "deploy" / "docker" / "kafka-topics.txt").read_text().splitlines()
    assert created == [f"{t.name} {t.partitions}" for t in topics.all_topics()]
    compose = (REPO / "docker-compose.yml").read_text()
    assert "PLAINTEXT" not in compose and "RSE_KAFKA_SECURITY_PROTOCOL: SASL_SSL" in compose
