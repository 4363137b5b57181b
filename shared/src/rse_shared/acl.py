"""The broker's access rules, derived from the one topology (rse_shared.topics).

Each service's principal may write only its own `<service>.events`, its restricted channels
(topics.CHANNELS, each read by one service alone), the audit checkpoint and key topics and
its own dead-letter topics; read only what it consumes; and join only
its own consumer group, named after the service (literal: its replicas share it; a second
copy of a service on the same cluster runs with a `topic_prefix`, and its principals and
group carry that prefix too). The auditor reads every topic and writes none. Only the
admin (a super user, no ACL here) creates topics and changes ACLs: deploy/local creates
every topology topic at set-up, so no service needs CREATE.

Applied with Kafka's own `kafka-acls` tool (AclCommand, `python -m rse_shared.acl
kafka-acls`; adding an ACL that exists is a no-op) because the Python clients we use
(aiokafka) have no ACL API; rendered as Strimzi KafkaUser resources for Kubernetes
(`python -m rse_shared.acl strimzi`, committed as deploy/k8s/kafka/users.yaml).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass
from typing import Any, Literal

import yaml

from rse_shared import topics
from rse_shared.kafka import ADMIN, AUDITOR, tool_options, tool_settings

Resource = Literal["topic", "group", "cluster"]
WILDCARD = "*"


@dataclass(frozen=True)
class Rule:
    """One principal may do `operations` on one resource (literal name)."""

    principal: str
    resource: Resource
    name: str
    operations: tuple[str, ...]


def service_rules(service: str, prefix: str = "") -> list[Rule]:
    """What `service`'s principal may do."""
    writes = [prefix + topics.events_topic(service)]
    writes += [prefix + t for t in topics.channels_of(service)]
    writes += [t.name for t in topics.audit_topics()]
    writes += [topics.dlq_topic(prefix + service, prefix + t) for t in topics.consumed_by(service)]
    rules = [Rule(service, "topic", t, ("Write", "Describe")) for t in writes]
    rules += [
        Rule(service, "topic", prefix + t, ("Read", "Describe"))
        for t in topics.consumed_by(service)
    ]
    if topics.consumed_by(service):
        rules.append(Rule(service, "group", prefix + service, ("Read", "Describe")))
    # The relay's producer is idempotent (enable_idempotence=True).
    rules.append(Rule(service, "cluster", "kafka-cluster", ("IdempotentWrite",)))
    return rules


def auditor_rules() -> list[Rule]:
    """The auditor reads the whole log (rse-audit assigns partitions: no group)."""
    return [Rule(AUDITOR, "topic", WILDCARD, ("Read", "Describe"))]


def rules(prefix: str = "") -> list[Rule]:
    """Every ACL of the platform."""
    return [r for s in topics.SERVICES for r in service_rules(s, prefix)] + auditor_rules()


def principals() -> tuple[str, ...]:
    """Every SCRAM user the platform needs (the admin too)."""
    return (*topics.SERVICES, AUDITOR, ADMIN)


def kafka_acls_commands(prefix: str = "") -> list[list[str]]:
    """AclCommand arguments adding every rule, one command per principal, resource kind
    and set of operations (the tool multiplies operations by resources)."""
    grouped: dict[tuple[str, Resource, tuple[str, ...]], list[str]] = {}
    for rule in rules(prefix):
        grouped.setdefault((rule.principal, rule.resource, rule.operations), []).append(rule.name)
    commands = []
    for (principal, resource, operations), names in grouped.items():
        command = ["--add", "--allow-principal", f"User:{principal}"]
        for operation in operations:
            command += ["--operation", operation]
        if resource == "cluster":
            command.append("--cluster")
        else:
            for name in names:
                command += [f"--{resource}", name]
            command += ["--resource-pattern-type", "literal"]
        commands.append(command)
    return commands


def strimzi_users(cluster: str = "rse", prefix: str = "") -> list[dict[str, Any]]:
    """One Strimzi KafkaUser (SCRAM-SHA-512, simple authorization) per principal but admin."""
    by_principal: dict[str, list[Rule]] = {}
    for rule in rules(prefix):
        by_principal.setdefault(rule.principal, []).append(rule)
    return [
        {
            "apiVersion": "kafka.strimzi.io/v1beta2",
            "kind": "KafkaUser",
            "metadata": {"name": principal, "labels": {"strimzi.io/cluster": cluster}},
            "spec": {
                "authentication": {"type": "scram-sha-512"},
                "authorization": {"type": "simple", "acls": [_strimzi_acl(r) for r in owned]},
            },
        }
        for principal, owned in by_principal.items()
    ]


def _strimzi_acl(rule: Rule) -> dict[str, Any]:
    resource: dict[str, Any] = {"type": rule.resource}
    if rule.resource != "cluster":
        resource |= {"name": rule.name, "patternType": "literal"}
    return {"resource": resource, "operations": list(rule.operations), "host": "*"}


def strimzi_yaml(cluster: str = "rse") -> str:
    """The committed deploy/k8s/kafka/users.yaml."""
    header = (
        "# Generated by `python -m rse_shared.acl strimzi` from rse_shared.topics: do not edit.\n"
    )
    return header + str(yaml.safe_dump_all(strimzi_users(cluster), sort_keys=False))


async def create_topology_topics() -> None:
    """Create, as the admin, every topic of the topology that does not exist yet."""
    from rse_shared.relay import ensure_topics  # the relay's own way, with the admin's rights

    bootstrap, options = tool_settings(ADMIN).kafka_bootstrap, tool_options(ADMIN)
    # ensure_topics gives each topic the partitions the topology names for it.
    await ensure_topics(bootstrap, [t.name for t in topics.all_topics()], options=options)


def main(argv: list[str] | None = None) -> int:
    """Print the ACLs as kafka-acls arguments (one command a line) or as Strimzi YAML."""
    parser = argparse.ArgumentParser(prog="python -m rse_shared.acl")
    parser.add_argument(
        "form", choices=["kafka-acls", "strimzi", "principals", "topics", "create-topics"]
    )
    parser.add_argument("--topic-prefix", default="")
    args = parser.parse_args(argv)
    if args.form == "kafka-acls":
        for command in kafka_acls_commands(args.topic_prefix):
            print(" ".join(command))
    elif args.form == "principals":
        print("\n".join(principals()))
    elif args.form == "topics":
        for topic in topics.all_topics():
            print(topic.name, topic.partitions)
    elif args.form == "create-topics":
        asyncio.run(create_topology_topics())
    else:
        sys.stdout.write(strimzi_yaml())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
