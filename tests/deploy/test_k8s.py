"""The Kubernetes manifests (deploy/k8s) render, fit the API schemas and pass the linter.

Offline and without a cluster: kustomize and kube-score are built from the Go module proxy
by deploy/k8s/tools.sh into .local/bin (once per machine; afterwards the script returns at
once), and the API schemas ship inside the kubernetes-validate package. A missing tool
fails the test with the way to get it; nothing is skipped.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
OVERLAYS = ("dev", "prod")
SERVICES = {
    "identity": 8001,
    "consent": 8002,
    "records": 8003,
    "requests": 8004,
    "benefits": 8005,
    "notifications": 8006,
}
# Oldest Kubernetes the manifests target (PDB unhealthyPodEvictionPolicy is GA in 1.31)
# and the newest whose schemas kubernetes-validate bundles.
KUBERNETES_VERSIONS = ("1.31.0", "1.37.0")
REPLICAS = {"dev": (1, 2), "prod": (2, 6)}
USER = 10001
KUBE_SCORE_OK = 10  # kube-score grades: 1 critical, 5 warning, 7 almost ok, 10 ok
LINT_REASON = "rse-platform/lint-reason"

Obj = dict[str, Any]


# --- tools ---------------------------------------------------------------------------------


@cache
def tools_sh() -> tuple[Path | None, str]:
    """Run deploy/k8s/tools.sh once: (the directory with kustomize and kube-score, or None
    and why not). A failure is remembered, so the other tests fail at once with it."""
    try:
        result = subprocess.run(
            ["bash", str(K8S / "tools.sh")],
            capture_output=True,
            text=True,
            timeout=280,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as failure:
        return None, f"deploy/k8s/tools.sh did not finish: {failure}"
    if result.returncode != 0:
        return None, (
            "deploy/k8s/tools.sh could not install kustomize and kube-score (it "
            "needs Go 1.26+ and the Go module proxy; run it by hand to see why):\n"
            + result.stderr[-3000:]
        )
    return Path(result.stdout.strip().splitlines()[-1]), ""


def bin_dir() -> Path:
    directory, why = tools_sh()
    if directory is None:
        pytest.fail(why)
    return directory


def run(*command: str | Path) -> str:
    result = subprocess.run(
        [str(c) for c in command], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"{' '.join(map(str, command))} failed:\n{result.stderr}"
    return result.stdout


def kubernetes_validate() -> Any:
    try:
        return importlib.import_module("kubernetes_validate")
    except ImportError:
        pytest.fail(
            'kubernetes-validate is not installed: add "kubernetes-validate>=1.37" '
            "to [dependency-groups] dev in the root pyproject.toml, then "
            "`uv lock && uv sync`"
        )


def schema_problem(obj: Obj, version: str) -> str | None:
    """Why `obj` does not fit the strict API schema of Kubernetes `version` (None: it fits)."""
    try:
        kubernetes_validate().validate(obj, version, strict=True)
    except Exception as failure:  # ValidationError (a jsonschema one), SchemaNotFoundError
        where = getattr(failure, "json_path", "")
        return (
            f"{obj['kind']}/{obj['metadata']['name']} (Kubernetes {version}) {where}: "
            f"{getattr(failure, 'message', failure)}"
        )
    return None


# --- rendered manifests -----------------------------------------------------------------------


@cache
def rendered(overlay: str) -> str:
    return run(bin_dir() / "kustomize", "build", K8S / "overlays" / overlay)


@cache
def objects(overlay: str) -> tuple[Obj, ...]:
    return tuple(doc for doc in yaml.safe_load_all(rendered(overlay)) if doc)


def of_kind(overlay: str, kind: str) -> dict[str, Obj]:
    return {o["metadata"]["name"]: o for o in objects(overlay) if o["kind"] == kind}


def deployment(overlay: str, service: str) -> Obj:
    return of_kind(overlay, "Deployment")[service]


def container(overlay: str, service: str) -> Obj:
    containers: list[Obj] = deployment(overlay, service)["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, f"{service}: one container"
    return containers[0]


def resolved_env(overlay: str, service: str) -> dict[str, str]:
    """The container's environment: its ConfigMaps' data, then its own `env` (values, or
    `secret:<name>/<key>` for a secretKeyRef)."""
    configmaps = of_kind(overlay, "ConfigMap")
    env: dict[str, str] = {}
    c = container(overlay, service)
    for source in c.get("envFrom", []):
        env.update(configmaps[source["configMapRef"]["name"]]["data"])
    for var in c.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
        else:
            ref = var["valueFrom"]["secretKeyRef"]
            env[var["name"]] = f"secret:{ref['name']}/{ref['key']}"
    return env


def mounted_secret(overlay: str, service: str, path: str) -> tuple[str, str]:
    """(Secret name, key) of the file at `path`, which must be in a read-only Secret volume
    mounted in the container (the volume projects every key of the Secret as a file)."""
    spec = deployment(overlay, service)["spec"]["template"]["spec"]
    secrets = {v["name"]: v["secret"] for v in spec["volumes"] if "secret" in v}
    for mount in container(overlay, service)["volumeMounts"]:
        if mount["name"] in secrets and mount["mountPath"] == str(Path(path).parent):
            assert mount.get("readOnly") is True, mount
            assert "items" not in secrets[mount["name"]], mount
            return secrets[mount["name"]]["secretName"], Path(path).name
    raise AssertionError(f"{service}: {path} is not in a mounted Secret")


# --- tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_every_service_and_no_secret(overlay: str) -> None:
    kinds = (
        "Deployment",
        "Service",
        "ServiceAccount",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
    )
    for kind in kinds:
        assert set(of_kind(overlay, kind)) == set(SERVICES), kind
    assert {f"{s}-ingress" for s in SERVICES} | {"rse-egress"} == set(
        of_kind(overlay, "NetworkPolicy")
    )
    assert not of_kind(overlay, "Secret"), "secret values must not be in the kustomization"
    namespace = {"dev": "rse-dev", "prod": "rse"}[overlay]
    assert {o["metadata"].get("namespace") for o in objects(overlay)} == {namespace}


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_objects_match_the_kubernetes_api_schemas(overlay: str, version: str) -> None:
    problems = [problem for obj in objects(overlay) if (problem := schema_problem(obj, version))]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kube_score_finds_nothing(overlay: str, tmp_path: Path) -> None:
    manifest = tmp_path / f"{overlay}.yaml"
    manifest.write_text(rendered(overlay))
    result = subprocess.run(
        [
            str(bin_dir() / "kube-score"),
            "score",
            "--output-format",
            "json",
            "--kubernetes-version",
            "v1.31",
            "--enable-optional-test",
            "container-seccomp-profile",
            "--enable-optional-test",
            "container-ports-check",
            str(manifest),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.stdout, result.stderr
    findings = [
        f"{o['object_name']}: {c['check']['id']}: "
        + "; ".join(f"{x['summary']} {x.get('description', '')}" for x in c["comments"] or [])
        for o in json.loads(result.stdout)
        for c in o["checks"]
        if not c["skipped"] and c["grade"] < KUBE_SCORE_OK
    ]
    assert not findings, "\n".join(findings)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_lint_suppression_gives_its_reason(overlay: str) -> None:
    for obj in objects(overlay):
        annotations = obj["metadata"].get("annotations", {})
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        if "kube-score/ignore" in annotations:
            assert len(annotations.get(LINT_REASON, "")) > 40, f"{where}: no {LINT_REASON}"
        for key, value in annotations.items():
            if key.startswith("checkov.io/skip"):
                assert re.fullmatch(r"CKV2?_K8S_\d+=.{40,}", value, re.S), f"{where}: {key}"


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES)
def test_pod_runs_unprivileged_with_probes_and_resources(overlay: str, service: str) -> None:
    pod = deployment(overlay, service)["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["serviceAccountName"] == service
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == USER
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert not {"hostNetwork", "hostPID", "hostIPC"} & set(pod)

    c = container(overlay, service)
    security = c["securityContext"]
    assert security["runAsNonRoot"] is True and security["runAsUser"] == USER
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["privileged"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}

    volumes = {v["name"]: v for v in pod["volumes"]}
    tmp = [m for m in c["volumeMounts"] if m["mountPath"] == "/tmp"]
    assert len(tmp) == 1 and "emptyDir" in volumes[tmp[0]["name"]]

    port = SERVICES[service]
    assert c["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
    assert c["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "http"}
    assert c["startupProbe"]["httpGet"]["path"] == "/health/live"
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(c["resources"][kind]), kind
    assert c["command"] == [f"rse-{service}", "serve"]

    service_obj = of_kind(overlay, "Service")[service]["spec"]
    assert service_obj["type"] == "ClusterIP"
    assert service_obj["ports"] == [
        {"name": "http", "port": port, "targetPort": "http", "protocol": "TCP"}
    ]
    labels = deployment(overlay, service)["spec"]["template"]["metadata"]["labels"]
    assert service_obj["selector"].items() <= labels.items()


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES)
def test_images_are_tagged_per_overlay(overlay: str, service: str) -> None:
    c = container(overlay, service)
    name, _, tag = c["image"].rpartition(":")
    assert name == f"rse/{service}"
    if overlay == "dev":
        assert (tag, c["imagePullPolicy"]) == ("dev", "IfNotPresent")
    else:
        assert re.fullmatch(r"\d+\.\d+\.\d+", tag), f"prod pins a release, not {tag!r}"
        assert c["imagePullPolicy"] == "Always"


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES)
def test_environment_is_the_services_settings(
    overlay: str, service: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env = resolved_env(overlay, service)
    port = SERVICES[service]
    assert env["RSE_ENVIRONMENT"] == "production"
    assert env["RSE_POSTGRES_DB"] == env["RSE_MONGO_DB"] == f"rse_{service}"
    assert env["RSE_HTTP_HOST"] == "0.0.0.0"
    assert env["RSE_HTTP_PORT"] == str(port)
    assert env["RSE_JWKS_URL"].startswith("https://")
    assert env["RSE_JWT_ISSUER"].startswith("https://")
    assert env["RSE_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert env["RSE_KAFKA_PASSWORD"] == f"secret:{service}-credentials/kafka-password"
    assert env["RSE_JWT_ISSUER"] and env["RSE_POSTGRES_HOST"] and env["RSE_KAFKA_BOOTSTRAP"]
    # Credentials come from the Secret, never from a ConfigMap.
    assert env["RSE_POSTGRES_PASSWORD"] == f"secret:{service}-credentials/postgres-password"
    assert env["RSE_MONGO_URL"] == f"secret:{service}-credentials/mongo-url"
    for cm in of_kind(overlay, "ConfigMap").values():
        assert not {"RSE_POSTGRES_PASSWORD", "RSE_MONGO_URL", "RSE_KAFKA_PASSWORD"} & set(
            cm["data"]
        ), cm
    # Key files live in mounted Secrets.
    key_files = {"RSE_AUDIT_KEY_FILE": (f"{service}-audit-key", "audit-key.pem")}
    if service == "identity":
        key_files["RSE_SIGNING_KEY_FILE"] = ("identity-signing-key", "signing-key.pem")
    for var, secret in key_files.items():
        assert mounted_secret(overlay, service, env[var]) == secret, var

    # Every variable is one of the service's settings, and together they validate
    # (RSE_ENVIRONMENT=production refuses the default password and, for identity, no key).
    settings_class = importlib.import_module(f"rse_{service}.config").Settings
    fields = set(settings_class.model_fields)
    unknown = {k for k in env if k.removeprefix("RSE_").lower() not in fields}
    assert not unknown, f"not settings of {service}: {sorted(unknown)}"
    for name in [k for k in os.environ if k.startswith("RSE_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        if value.startswith("secret:"):
            value = "mongodb://u:p@mongo:27017/" if name == "RSE_MONGO_URL" else "not-the-default"
        elif name in key_files:
            value = str(tmp_path / Path(value).name)
        monkeypatch.setenv(name, value)
    settings = settings_class()
    if service == "identity":
        # The identity provider is external: its issuer, identity's client, the callback.
        assert env["RSE_OIDC_ISSUER"].startswith("https://")
        assert env["RSE_OIDC_REDIRECT_URI"].startswith("https://")
        assert env["RSE_OIDC_REDIRECT_URI"].endswith("/auth/oidc/callback")
        assert settings.oidc_client_id == env["RSE_OIDC_CLIENT_ID"] == "rse-identity"
    assert settings.service_name == service
    assert settings.http_port == port
    assert settings.postgres_db == f"rse_{service}"


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES)
def test_autoscaler_and_disruption_budget(overlay: str, service: str) -> None:
    assert "replicas" not in deployment(overlay, service)["spec"], "the HPA owns the count"
    hpa = of_kind(overlay, "HorizontalPodAutoscaler")[service]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": service,
    }
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == REPLICAS[overlay]
    assert hpa["spec"]["metrics"] == [
        {
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 70},
            },
        }
    ]

    pdb = of_kind(overlay, "PodDisruptionBudget")[service]
    assert pdb["spec"]["minAvailable"] == 1
    labels = deployment(overlay, service)["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()


@pytest.mark.parametrize("service", SERVICES)
def test_network_policies_admit_the_http_port_and_needed_egress(service: str) -> None:
    policies = of_kind("prod", "NetworkPolicy")
    labels = deployment("prod", service)["spec"]["template"]["metadata"]["labels"]
    ingress = policies[f"{service}-ingress"]["spec"]
    assert ingress["podSelector"]["matchLabels"].items() <= labels.items()
    assert [p["port"] for rule in ingress["ingress"] for p in rule["ports"]] == [SERVICES[service]]
    egress = policies["rse-egress"]["spec"]
    assert egress["podSelector"]["matchLabels"].items() <= labels.items()
    ports = {p["port"] for rule in egress["egress"] for p in rule["ports"]}
    assert {53, 5432, 9093, 27017, 443} <= ports  # Kafka over SASL_SSL, JWKS over HTTPS
    assert 9092 not in ports  # no plaintext Kafka listener to reach


def test_secret_example_covers_every_reference_and_holds_no_value() -> None:
    example = [d for d in yaml.safe_load_all((K8S / "secret.example.yaml").read_text()) if d]
    provided = {(s["metadata"]["name"], key) for s in example for key in s["stringData"]}
    for secret in example:
        for value in secret["stringData"].values():
            assert "CHANGE-ME" in value, secret["metadata"]["name"]
    problems = [p for s in example if (p := schema_problem(s, KUBERNETES_VERSIONS[-1]))]
    assert not problems, "\n".join(problems)

    for overlay in OVERLAYS:
        needed = set()
        for service in SERVICES:
            env = resolved_env(overlay, service)
            needed |= {
                tuple(v.removeprefix("secret:").split("/"))
                for v in env.values()
                if v.startswith("secret:")
            }
            needed |= {
                mounted_secret(overlay, service, env[var])
                for var in (
                    "RSE_AUDIT_KEY_FILE",
                    "RSE_SIGNING_KEY_FILE",
                    "RSE_KAFKA_CA_FILE",
                    "RSE_POSTGRES_SSLROOTCERT",
                    "RSE_SEAL_KEY_FILE",
                    "RSE_DATA_KEK_FILE",
                    "RSE_STORE_KEY_FILE",
                    "RSE_NOTIFICATIONS_SEAL_PUBLIC_KEY",
                )
                if var in env
            }
        assert needed == provided, overlay

    # Only an example: no kustomization may pull it in (comments may mention it).
    for kustomization in K8S.rglob("kustomization.yaml"):
        content = json.dumps(yaml.safe_load(kustomization.read_text()))
        assert "secret.example" not in content, kustomization


def consumed_topics(service: str) -> list[str]:
    """The topics `service` consumes, as the one topology names them."""
    topology = importlib.import_module("rse_shared.topics")
    return list(topology.consumed_by(service))


def test_readme_names_every_topic_and_database() -> None:
    readme = (K8S / "README.md").read_text()
    topology = importlib.import_module("rse_shared.topics")
    topics = {f"{s}.events" for s in SERVICES} | {topology.CHECKPOINTS_TOPIC, topology.KEYS_TOPIC}
    topics |= {topology.dlq_topic(s, t) for s in SERVICES for t in consumed_topics(s)}
    assert "records.identity.events.dlq" in topics  # the derivation found the consumers
    missing = [t for t in sorted(topics) if f"`{t}`" not in readme]
    assert not missing, f"deploy/k8s/README.md does not list these topics: {missing}"
    for service in SERVICES:
        assert f"rse_{service}" in readme


def test_kafka_users_are_the_acls_derived_from_the_topology() -> None:
    """deploy/k8s/kafka/users.yaml is what `python -m rse_shared.acl strimzi` prints."""
    acl = importlib.import_module("rse_shared.acl")
    committed = (K8S / "kafka" / "users.yaml").read_text()
    assert committed == acl.strimzi_yaml(), "regenerate: python -m rse_shared.acl strimzi"
    users = {d["metadata"]["name"]: d for d in yaml.safe_load_all(committed)}
    assert set(users) == {*SERVICES, "auditor"}  # the admin is Strimzi's super user
    for user in users.values():
        assert user["spec"]["authentication"]["type"] == "scram-sha-512"
    writes = {
        a["resource"].get("name")
        for a in users["requests"]["spec"]["authorization"]["acls"]
        if "Write" in a["operations"]
    }
    assert "consent.events" not in writes and "requests.events" in writes
    assert all(
        a["operations"] == ["Read", "Describe"]
        for a in users["auditor"]["spec"]["authorization"]["acls"]
    )
