"""Settings base every service's Settings extends."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from rse_shared.keyring import PostgresKeyring

DEV_PASSWORD = "rse"
REPO = Path(__file__).resolve().parents[3]
KafkaProtocol = Literal["SASL_SSL", "SSL", "SASL_PLAINTEXT", "PLAINTEXT"]


def local_secrets_dir() -> Path:
    """Where deploy/local keeps the generated CA and credentials of this checkout."""
    if os.environ.get("RSE_SECRETS_DIR"):
        return Path(os.environ["RSE_SECRETS_DIR"])
    return Path(os.environ.get("RSE_LOCAL_DIR") or REPO / ".local") / "secrets"


def write_new_secret_key(path: Path) -> None:
    """A new random 32-byte key, base64, in a file only its owner reads (kept if another
    process wrote it first)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as out:
        out.write(base64.b64encode(os.urandom(32)).decode() + "\n")


def audience_of(service: str) -> str:
    """The audience of the access tokens `service` accepts (RFC 9068 `aud`)."""
    return f"rse-{service}"


class ServiceSettings(BaseSettings):
    """Connection and runtime settings shared by every service (env prefix RSE_)."""

    model_config = SettingsConfigDict(env_prefix="RSE_", extra="ignore")

    service_name: str = "service"
    environment: Literal["development", "test", "production"] = "development"

    postgres_host: str = "127.0.0.1"
    postgres_port: int = 55432
    postgres_user: str = "rse"
    postgres_password: SecretStr = SecretStr(DEV_PASSWORD)
    postgres_db: str = ""
    postgres_pool_size: int = 5
    # Seconds a command waits for a pooled connection before an attempt fails; eventsourcing
    # makes 10 attempts, so a database that is away gets a 503 after about 10x this.
    postgres_connect_timeout: int = 1
    # TLS to PostgreSQL: the server's certificate is checked against this CA, and its name
    # against postgres_host (default: the local CA of deploy/local, outside production).
    postgres_sslmode: Literal["verify-full", "verify-ca", "require", "disable"] = "verify-full"
    postgres_sslrootcert: Path | None = None

    kafka_bootstrap: str = "127.0.0.1:19092"
    # SASL/SCRAM-SHA-512 over TLS: one principal per service (default: the service name),
    # its password from RSE_KAFKA_PASSWORD, RSE_KAFKA_PASSWORD_FILE or, in development and
    # test only, the file deploy/local generated; the broker's certificate against this CA.
    kafka_security_protocol: KafkaProtocol = "SASL_SSL"
    kafka_username: str = ""
    kafka_password: SecretStr | None = None
    kafka_password_file: Path | None = None
    kafka_ca_file: Path | None = None
    # deploy/local's generated CA and credentials (used only outside production).
    secrets_dir: Path | None = None
    mongo_url: str = "mongodb://127.0.0.1:27018/"
    mongo_db: str = ""

    http_host: str = "127.0.0.1"
    http_port: int = 8000

    jwt_issuer: str = "http://127.0.0.1:8001"
    # The audience this service's tokens must name (one per service, default
    # "rse-<service_name>"): a token identity issued for another service is refused here.
    jwt_audience: str = ""
    jwks_url: str = "http://127.0.0.1:8001/.well-known/jwks.json"

    # Encryption at rest (rse_shared.keyring, rse_shared.eventstore.StateCipher): the key
    # database of the citizens' data keys, the key-encryption key that wraps them, and this
    # service's store key for events of no one citizen; each 32 bytes, base64, given or
    # read from a file (outside production: the ones deploy/local generated).
    keyring_db: str = "rse_keys"
    # The service's own role in the key database (rse_shared.key_access grants it only what
    # it needs). Default: outside production "rse_keys_<service>" with the password
    # deploy/local generated; in production the service's PostgreSQL role and password.
    keyring_user: str = ""
    keyring_password: SecretStr | None = None
    keyring_password_file: Path | None = None
    data_kek: SecretStr | None = None
    data_kek_file: Path | None = None
    store_key: SecretStr | None = None
    store_key_file: Path | None = None
    # After a rotation, the store key before it: opens what it sealed until
    # `python -m rse_shared.reseal` has sealed everything anew under `store_key`.
    store_key_previous: SecretStr | None = None
    store_key_previous_file: Path | None = None
    key_cache_seconds: float = 300.0
    # A stored event in clear is refused (StoreUnreadable): once encryption is on, a row
    # without a key marker can only have been written past the service. True only while a
    # store written before encryption is still being read.
    store_accept_clear: bool = False

    otlp_endpoint: str | None = None
    log_level: str = "INFO"

    relay_poll_interval: float = 0.1
    # Ed25519 key signing the relay's audit checkpoints (None: a new key each start).
    audit_key_file: Path | None = None
    checkpoint_interval: float = 30.0
    consumer_max_attempts: int = 3
    # The Kafka consumer group (default: the service name). The replicas of one deployment
    # share it; another copy of the service on the same broker needs a group of its own.
    consumer_group: str = ""
    # Put before every event topic's name, produced and consumed (e.g. "staging."), so that
    # several deployments can share one Kafka cluster.
    topic_prefix: str = ""
    max_body_bytes: int = 1_000_000

    @model_validator(mode="after")
    def _fill_names(self) -> ServiceSettings:
        if not self.postgres_db:
            self.postgres_db = f"rse_{self.service_name}"
        if not self.mongo_db:
            self.mongo_db = f"rse_{self.service_name}"
        if not self.consumer_group:
            self.consumer_group = self.service_name
        if not self.kafka_username:
            self.kafka_username = self.service_name
        if not self.jwt_audience:
            self.jwt_audience = audience_of(self.service_name)
        return self

    @model_validator(mode="after")
    def _find_local_secrets(self) -> ServiceSettings:
        if self.environment == "production":
            return self
        secrets = self.secrets_dir = self.secrets_dir or local_secrets_dir()
        self.kafka_ca_file = self.kafka_ca_file or secrets / "ca.crt"
        self.postgres_sslrootcert = self.postgres_sslrootcert or secrets / "ca.crt"
        if self.kafka_password is None and self.kafka_password_file is None:
            self.kafka_password_file = secrets / "kafka" / f"{self.kafka_username}.password"
        if not self.keyring_user:
            self.keyring_user = f"rse_keys_{self.service_name}"
        if self.keyring_password is None and self.keyring_password_file is None:
            self.keyring_password_file = secrets / "postgres" / f"keys-{self.service_name}.password"
        if self.data_kek is None and self.data_kek_file is None:
            self.data_kek_file = secrets / "keys" / "data.kek"
        if self.store_key is None and self.store_key_file is None:
            self.store_key_file = secrets / "keys" / f"{self.service_name}.store"
        return self

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> ServiceSettings:
        if (
            self.environment == "production"
            and self.postgres_password.get_secret_value() == DEV_PASSWORD
        ):
            raise ValueError("RSE_POSTGRES_PASSWORD must be set outside development")
        if (
            self.environment == "production"
            and self.kafka_security_protocol.startswith("SASL")
            and self.kafka_password is None
            and self.kafka_password_file is None
        ):
            raise ValueError(
                "RSE_KAFKA_PASSWORD or RSE_KAFKA_PASSWORD_FILE must be set in production"
            )
        if self.environment == "production":
            for name in ("data_kek", "store_key"):
                if getattr(self, name) is None and getattr(self, f"{name}_file") is None:
                    variable = f"RSE_{name.upper()}"
                    raise ValueError(f"{variable} or {variable}_FILE must be set in production")
        return self

    def _key(self, name: str) -> str:
        """A 32-byte key's base64 text, given or from its file (made there outside
        production if the file does not exist yet)."""
        given: SecretStr | None = getattr(self, name)
        if given is not None:
            return given.get_secret_value()
        path: Path | None = getattr(self, f"{name}_file")
        assert path is not None
        if not path.exists() and self.environment != "production":
            write_new_secret_key(path)
        return path.read_text().strip()

    def store_key_text(self) -> str:
        """This service's store key (base64), e.g. for an auditor opening its event store."""
        return self._key("store_key")

    def keys_env(self) -> dict[str, str]:
        """The event store's encryption settings (read by rse_shared.eventstore)."""
        return {
            "RSE_STORE_KEY": self._key("store_key"),
            "RSE_DATA_KEK": self._key("data_kek"),
            "RSE_KEYRING_CONNINFO": self.keyring_conninfo(),
            "RSE_KEY_SERVICE": self.service_name,
            "RSE_KEY_CACHE_SECONDS": str(self.key_cache_seconds),
            "RSE_STORE_ACCEPT_CLEAR": "y" if self.store_accept_clear else "",
            "RSE_STORE_KEY_PREVIOUS": self._previous_store_key(),
        }

    def _previous_store_key(self) -> str:
        if self.store_key_previous is not None:
            return self.store_key_previous.get_secret_value()
        if self.store_key_previous_file is not None:
            return self.store_key_previous_file.read_text().strip()
        return ""

    def data_keyring(self, service: str | None = None) -> PostgresKeyring:
        """The citizens' data keys, fetched in the name of `service` (default: this one)."""
        from rse_shared.keyring import decode_key, shared_keyring

        return shared_keyring(
            self.postgres_conninfo(self.keyring_db),
            decode_key(self._key("data_kek")),
            service=service or self.service_name,
            cache_seconds=self.key_cache_seconds,
        )

    def kafka_secret(self) -> str:
        """This principal's Kafka password (read from its file when one is named)."""
        if self.kafka_password is not None:
            return self.kafka_password.get_secret_value()
        if self.kafka_password_file is None:
            raise ValueError(f"no Kafka password for {self.kafka_username!r}")
        return self.kafka_password_file.read_text().strip()

    def eventstore_env(self) -> dict[str, str]:
        """The eventsourcing library's environment for this service's event store."""
        return {
            "PERSISTENCE_MODULE": "rse_shared.pgstore:TLSPostgresFactory",
            "POSTGRES_DBNAME": self.postgres_db,
            "POSTGRES_HOST": self.postgres_host,
            "POSTGRES_PORT": str(self.postgres_port),
            "POSTGRES_USER": self.postgres_user,
            "POSTGRES_PASSWORD": self.postgres_password.get_secret_value(),
            "POSTGRES_POOL_SIZE": str(self.postgres_pool_size),
            "POSTGRES_CONNECT_TIMEOUT": str(self.postgres_connect_timeout),
            "POSTGRES_LOCK_TIMEOUT": "5",
            "POSTGRES_PRE_PING": "n",
            **self._libpq_tls(),
            **self.keys_env(),
        }

    def _libpq_tls(self) -> dict[str, str]:
        # Read by rse_shared.pgstore, which hands them to libpq.
        tls: dict[str, str] = {"POSTGRES_SSLMODE": self.postgres_sslmode}
        if self.postgres_sslrootcert is not None:
            tls["POSTGRES_SSLROOTCERT"] = str(self.postgres_sslrootcert)
        return tls

    def keyring_conninfo(self) -> str:
        """This service's connection to the key database, as its own key role."""
        user, password = self.keyring_user or self.postgres_user, self.keyring_password
        key_file = self.keyring_password_file
        if password is None and key_file is not None and key_file.exists():
            password = SecretStr(key_file.read_text().strip())
        if password is None:  # production, or a name with no key role: the service's role
            user, password = self.postgres_user, self.postgres_password
        return self.postgres_conninfo(self.keyring_db, user=user, password=password)

    def postgres_conninfo(
        self,
        database: str | None = None,
        *,
        user: str | None = None,
        password: SecretStr | None = None,
    ) -> str:
        """A libpq connection string for this service's database (or another one)."""
        secret = (password or self.postgres_password).get_secret_value()
        return (
            f"host={self.postgres_host} port={self.postgres_port} "
            f"dbname={database or self.postgres_db} "
            f"user={user or self.postgres_user} password={secret} "
            f"sslmode={self.postgres_sslmode}"
            + (f" sslrootcert={self.postgres_sslrootcert}" if self.postgres_sslrootcert else "")
        )
