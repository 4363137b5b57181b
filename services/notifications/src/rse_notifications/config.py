"""Notifications' settings (env prefix RSE_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr, model_validator

from rse_shared.settings import ServiceSettings

SMS_TEMPLATE = '{"to": "$to", "from": "$sender", "text": "$text", "reference": "$reference"}'


class Settings(ServiceSettings):
    """Everything notifications needs, from the environment."""

    service_name: str = "notifications"
    http_port: int = 8006
    # The X25519 private key that opens what records and identity seal to notifications
    # (default: deploy/local's secrets/notifications_seal.key outside production).
    seal_key_file: Path | None = None

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 11025
    smtp_starttls: bool = True
    smtp_username: str | None = "notifications"
    smtp_password: SecretStr | None = None
    smtp_password_file: Path | None = None
    # The CA the relay's certificate is checked against (default: the local CA outside
    # production; the system's CAs in production).
    smtp_ca_file: Path | None = None
    mail_from: str = "SNS 24 <nao-responder@sns.min-saude.pt>"

    # Any provider's HTTP gateway: POST the template (JSON; $to $text $sender $reference).
    # None (the default, as on a local `make up`): SMS off, each one recorded as not sent.
    sms_gateway_url: str | None = None
    sms_gateway_username: str | None = None
    sms_gateway_password: SecretStr | None = None
    sms_payload_template: str = SMS_TEMPLATE
    sms_sender: str = "SNS"

    dispatch_interval: float = 1.0
    delivery_max_attempts: int = 5
    delivery_first_retry: float = 2.0
    delivery_last_retry: float = 600.0

    @model_validator(mode="after")
    def _local_delivery_secrets(self) -> Settings:
        if self.environment == "production" or self.secrets_dir is None:
            return self
        self.seal_key_file = self.seal_key_file or self.secrets_dir / "notifications_seal.key"
        self.smtp_ca_file = self.smtp_ca_file or self.secrets_dir / "ca.crt"
        if self.smtp_password is None and self.smtp_password_file is None:
            self.smtp_password_file = self.secrets_dir / "mailpit" / "smtp.password"
        return self

    def smtp_secret(self) -> str | None:
        if self.smtp_password is not None:
            return self.smtp_password.get_secret_value()
        if self.smtp_password_file is not None and self.smtp_password_file.exists():
            return self.smtp_password_file.read_text().strip()
        return None
