"""Settings from environment variables (docs/spec.md §4), validated once at start.

Variable names are the course template's, so existing Helm values keep working. Each group
reads its own prefix. A server whose connection settings the environment leaves all unset comes
from the local stack's `$STREAMVAULT_HOME/env` file when one exists, so `streamvault ...` works right
after `streamvault stack up` without sourcing anything.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal, TypeVar

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    import redis


def streamvault_home() -> Path:
    return Path(os.environ.get("STREAMVAULT_HOME", ".streamvault")).absolute()


def _env_file() -> Path | None:
    path = streamvault_home() / "env"
    return path if path.is_file() else None


class _Group(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)


class _Server(_Group):
    """A server's address, login and TLS: all from the environment, or all from the local stack's env file.

    Never a mix: filling gaps per variable gave a remote host the local stack's password and
    `sslmode=disable`. Any of `connection_fields` set in the environment means "not the local stack".
    """

    connection_fields: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def set_in_environment(cls) -> bool:
        prefix = cls.model_config.get("env_prefix", "").upper()
        names = {prefix + field.upper() for field in cls.connection_fields or tuple(cls.model_fields)}
        return any(key.upper() in names for key in os.environ)


class PgSettings(_Server):
    model_config = SettingsConfigDict(env_prefix="PG_WAREHOUSE_")

    host: str
    port: int
    dbname: str
    user: str
    password: str = ""
    sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] = "prefer"
    sslrootcert: str | None = None

    def conninfo(self) -> str:
        from psycopg.conninfo import make_conninfo

        extra = {"sslrootcert": self.sslrootcert} if self.sslrootcert else {}
        return make_conninfo(
            host=self.host,
            port=self.port,
            dbname=self.dbname,
            user=self.user,
            password=self.password,
            sslmode=self.sslmode,
            application_name="streamvault",
            **extra,
        )


class RedisSettings(_Server):
    """REDIS_USERNAME names an ACL user (Redis 6+); unset, the password is the `default` user's."""

    model_config = SettingsConfigDict(env_prefix="REDIS_")

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    ssl: bool = False
    ssl_ca_certs: str | None = None

    def client(self, **options: object) -> redis.Redis:
        """Every Redis client of streamvault: with TLS, the server's certificate and host name are verified."""
        import redis

        return redis.Redis(host=self.host, port=self.port, username=self.username, password=self.password,
                           ssl=self.ssl, ssl_ca_certs=self.ssl_ca_certs, ssl_check_hostname=self.ssl, **options)


class KafkaSettings(_Server):
    """Managed clouds use SASL_SSL + SCRAM-SHA-512; the local stack PLAINTEXT, or SASL_SSL with --secure."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_")
    # Group and topics say what to read, not which server: set alone, they keep the local stack.
    connection_fields = ("host", "port", "bootstrap_servers", "consumer_username", "consumer_password",
                         "security_protocol", "sasl_mechanism", "ssl_ca_location")

    host: str
    port: int
    # Every broker to bootstrap from, `host:port,...`; unset: KAFKA_HOST:KAFKA_PORT. With several, a client
    # starting while one broker is down still finds the cluster.
    bootstrap_servers: str = ""
    consumer_username: str | None = None
    consumer_password: str | None = None
    consumer_group: str | None = None
    source_topic: str | None = None
    destination_topic: str | None = None
    dlq_topic: str | None = None
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    ssl_ca_location: str | None = None

    @model_validator(mode="after")
    def _bootstrap_from_host_and_port(self) -> KafkaSettings:
        if not self.bootstrap_servers:
            self.bootstrap_servers = f"{self.host}:{self.port}"
        return self

    def client_config(self) -> dict[str, str]:
        """librdkafka settings shared by every producer, consumer and admin client."""
        config = {
            "bootstrap.servers": self.bootstrap_servers,
            "security.protocol": self.security_protocol,
        }
        if self.security_protocol.startswith("SASL"):
            config["sasl.mechanism"] = self.sasl_mechanism
            config["sasl.username"] = self.consumer_username or ""
            config["sasl.password"] = self.consumer_password or ""
        if self.ssl_ca_location:
            config["ssl.ca.location"] = self.ssl_ca_location
        return config


class DashboardSettings(_Group):
    """The dashboard's own database login; see docs/dashboard.md.

    Production sets DASHBOARD_PG_USER/DASHBOARD_PG_PASSWORD to a login that is a member of the
    read-only role `streamvault_dashboard`, so the dashboard never holds the loaders' password.
    Unset, it falls back to the PG_WAREHOUSE_* login (local stack). Either way every connection
    runs `SET ROLE streamvault_dashboard` in read-only transactions.
    """

    model_config = SettingsConfigDict(env_prefix="DASHBOARD_")

    pg_user: str | None = None
    pg_password: str | None = None
    refresh_seconds: float = Field(5.0, gt=0)
    top_n: int = Field(10, ge=1)


class SettingsError(Exception):
    """Carries one human-readable line per bad or missing variable."""

    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = lines


class NoLocalStack(SettingsError):
    """A server that neither the environment nor a local stack describes: a newcomer's first command."""

    def __init__(self, group: type[_Server]):
        prefix = group.model_config.get("env_prefix", "").upper()
        required = "/".join(prefix + name.upper() for name, field in group.model_fields.items() if field.is_required())
        super().__init__([f"no local stack in {streamvault_home()}: run `streamvault stack up`, or set {required}"])


G = TypeVar("G", bound=_Group)


def from_variables(group: type[G], variables: Mapping[str, str]) -> G:
    """A settings group from these variables alone (not the process environment): one principal's settings,
    e.g. a test or a benchmark acting as the generator while the process holds the admin's."""
    prefix = group.model_config.get("env_prefix", "").upper()
    values = {key[len(prefix):].lower(): value for key, value in variables.items()
              if key.upper().startswith(prefix) and key[len(prefix):].lower() in group.model_fields}
    return group.model_validate(values)


def load(group: type[G]) -> G:
    """Build a settings group or raise SettingsError naming each offending variable."""
    prefix = group.model_config.get("env_prefix", "")
    server = issubclass(group, _Server)
    in_environment = server and group.set_in_environment()
    local_stack = None if in_environment else _env_file()
    if server and not in_environment and local_stack is None:
        raise NoLocalStack(group)
    try:
        return group(_env_file=local_stack)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            variable = (prefix + "_".join(str(part) for part in error["loc"])).upper()
            if error["type"] == "missing":
                lines.append(f"{variable} is not set")
            else:
                lines.append(f"{variable}={error.get('input')!r} is invalid: {error['msg']}")
        raise SettingsError(lines) from None
