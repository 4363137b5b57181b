"""How every Kafka client of the platform connects: SASL/SCRAM-SHA-512 over TLS.

Services connect as their own principal (`ServiceSettings.kafka_username`, by default the
service's name); operator and audit tools name theirs (`tool_settings("admin")`). The
broker refuses anything else: see rse_shared.acl for what each principal may do.
"""

from __future__ import annotations

import ssl
from functools import cache
from typing import Any

from aiokafka.helpers import create_ssl_context
from faststream.security import BaseSecurity, SASLScram512

from rse_shared.settings import ServiceSettings

SASL_MECHANISM = "SCRAM-SHA-512"
ADMIN = "admin"
"""The super user: creates topics, applies ACLs; tests and developer tools use it."""
AUDITOR = "auditor"
"""Reads every topic, writes none."""


def client_options(settings: ServiceSettings) -> dict[str, Any]:
    """The security arguments of an aiokafka client (producer, consumer, admin)."""
    protocol = settings.kafka_security_protocol
    options: dict[str, Any] = {"security_protocol": protocol}
    if protocol.endswith("SSL"):
        options["ssl_context"] = _ssl_context(str(settings.kafka_ca_file or "") or None)
    if protocol.startswith("SASL"):
        options.update(
            sasl_mechanism=SASL_MECHANISM,
            sasl_plain_username=settings.kafka_username,
            sasl_plain_password=settings.kafka_secret(),
        )
    return options


def broker_security(settings: ServiceSettings) -> BaseSecurity | None:
    """The same, as FastStream's KafkaBroker wants it."""
    protocol = settings.kafka_security_protocol
    context = (
        _ssl_context(str(settings.kafka_ca_file or "") or None)
        if protocol.endswith("SSL")
        else None
    )
    if protocol.startswith("SASL"):
        return SASLScram512(
            settings.kafka_username,
            settings.kafka_secret(),
            ssl_context=context,
            use_ssl=context is not None,
        )
    return BaseSecurity(ssl_context=context) if context else None


def tool_settings(principal: str) -> ServiceSettings:
    """Settings of a tool that connects as `principal`, servers taken from the environment."""
    return ServiceSettings(service_name=principal, kafka_username=principal)


def tool_options(principal: str = ADMIN) -> dict[str, Any]:
    """client_options of a tool connecting as `principal`."""
    return client_options(tool_settings(principal))


@cache
def _ssl_context(cafile: str | None) -> ssl.SSLContext:
    # One context per CA: building one reads and parses the CA file.
    context: ssl.SSLContext = create_ssl_context(cafile=cafile)
    return context
