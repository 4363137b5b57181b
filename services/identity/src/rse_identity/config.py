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
