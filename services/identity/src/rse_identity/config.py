"""Identity's settings (env prefix RSE_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import model_validator

from rse_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    """Everything identity needs, from the environment."""

    service_name: str = "identity"
    http_port: int = 8001
    signing_key_file: Path | None = None
    access_token_ttl_seconds: int = 300
    # How often guardianships are checked for a ward's 18th birthday (and periods for ends).
    proxy_sweep_interval: float = 60.0
    # Retention (rse_identity.retention): a deregistered citizen is erased this many days
    # after the effective date, a registration never activated this many days after it.
    retention_deregistered_days: int = 3650
    retention_unactivated_days: int = 90
    retention_sweep_interval: float = 3600.0
    # Retired signing keys stay in the JWKS this long after `rse-identity rotate-key`
    # (at least the token lifetime plus the services' JWKS cache, 300 s).
    signing_key_overlap_seconds: int = 3600
    # Password hashes at once (argon2: 64 MiB each), and how long a login waits for a
    # slot before a 503 with Retry-After: what bounds identity's memory under a flood.
    login_concurrency: int = 4
    login_queue_seconds: float = 2.0
    # Login attempts per minute from one client address, and for one account (429).
    login_rate_per_address: int = 60
    login_rate_per_account: int = 10
    # From the `slow_after`-th failure each attempt waits 1 s, 2 s, ...; the
    # `lock_after`-th locks for `lock_seconds`, each next lock twice as long, up to the max.
    login_slow_after: int = 3
    login_lock_after: int = 5
    login_lock_seconds: int = 900
    login_max_lock_seconds: int = 86_400
    # notifications' X25519 public key: contacts are sealed to it (default: deploy/local's
    # secrets/notifications_seal.pub outside production).
    notifications_seal_public_key: Path | None = None
    # The OpenID Connect provider standing for Autenticação.gov (deploy/local: Keycloak's
    # realm rse, RSE_OIDC_ISSUER from infra.sh env); without an issuer, citizens are
    # activated at the counter only.
    oidc_issuer: str | None = None
    # Where identity itself reaches the provider, if not at the issuer URL (docker compose:
    # the browser's localhost is not identity's).
    oidc_provider_url: str | None = None
    oidc_client_id: str = "rse-identity"
    oidc_redirect_uri: str = "http://127.0.0.1:8001/auth/oidc/callback"
    oidc_login_ttl_seconds: int = 600

    @model_validator(mode="after")
    def _require_key_in_production(self) -> Settings:
        if self.environment == "production" and self.signing_key_file is None:
            raise ValueError("RSE_SIGNING_KEY_FILE must be set outside development")
        return self
