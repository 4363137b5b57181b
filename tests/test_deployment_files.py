"""The deployment files stay valid without a Docker engine."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from rse_shared.topics import SERVICES

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


def test_compose_runs_the_official_keycloak_with_the_realm_and_identity_trusts_it() -> None:
    """The same provider as deploy/local's: Keycloak's official image, the committed realm."""
    import yaml

    services = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    keycloak = services["keycloak"]
    assert keycloak["image"] == "quay.io/keycloak/keycloak:26.4.7"
    assert "--import-realm" in keycloak["command"]
    assert (
        "./deploy/keycloak/rse-realm.json:/opt/keycloak/data/import/rse-realm.json:ro"
        in keycloak["volumes"]
    )
    identity = services["identity"]["environment"]
    assert identity["RSE_OIDC_ISSUER"] == "http://localhost:18080/realms/rse"
    assert identity["RSE_OIDC_CLIENT_ID"] == "rse-identity"


def test_the_realm_has_a_public_pkce_client_and_citizens_with_their_claims() -> None:
    import json

    realm = json.loads((REPO / "deploy" / "keycloak" / "rse-realm.json").read_text())
    [client] = realm["clients"]
    assert client["clientId"] == "rse-identity" and client["publicClient"] is True
    assert client["attributes"]["pkce.code.challenge.method"] == "S256"
    assert not client["implicitFlowEnabled"] and not client["directAccessGrantsEnabled"]
    claims = {m["config"].get("claim.name") for m in client["protocolMappers"]}
    assert {"nif", "sns_number", "birthdate"} <= claims
    ana = next(u for u in realm["users"] if u["username"] == "ana.silva")
    assert set(ana["attributes"]) == {"nif", "sns_number", "birthdate"}


def test_every_compose_service_keeps_its_keys_in_files_that_outlive_the_container() -> None:
    """The KEK and each service's own store key come from the files deploy/local/secrets.sh
    makes: a key made inside a container would die with it, and the store with it."""
    import yaml

    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    secrets = compose["secrets"]
    platform = {
        name: service
        for name, service in compose["services"].items()
        if "RSE_HTTP_PORT" in service.get("environment", {})
    }
    assert set(platform) == {*SERVICES, "notifications"}
    for name, service in platform.items():
        env = service["environment"]
        assert env["RSE_DATA_KEK_FILE"] == "/run/secrets/data_kek", name
        assert env["RSE_STORE_KEY_FILE"] == f"/run/secrets/{name}_store_key", name
        assert {"data_kek", f"{name}_store_key"} <= set(service["secrets"]), name
        assert secrets[f"{name}_store_key"]["file"] == f"./.local/secrets/keys/{name}.store"
    assert secrets["data_kek"]["file"] == "./.local/secrets/keys/data.kek"
