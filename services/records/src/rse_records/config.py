"""Records' settings (env prefix RSE_)."""

from __future__ import annotations

from rse_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    """Everything records needs, from the environment."""

    service_name: str = "records"
    http_port: int = 8003
    # The topics records consumes: identity opens and closes records, consent says who reads,
    # requests' approved renewals become e-prescriptions.
    identity_topic: str = "identity.events"
    consent_topic: str = "consent.events"
    requests_topic: str = "requests.events"
