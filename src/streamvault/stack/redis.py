"""Redis from Debian's redis-server, with append-only persistence."""

from __future__ import annotations

import shutil

import redis

from streamvault import config
from streamvault.stack import security
from streamvault.stack.files import write_private
from streamvault.stack.server import Server

# `set-proc-title no`: the command line keeps naming our redis.conf, by which `stack` knows its server.
CONF = """
bind 127.0.0.1
dir {dir}
set-proc-title no
{access}
protected-mode yes
daemonize no
appendonly yes
appendfsync everysec
save 60 1000
"""


class Redis(Server):
    name = "redis"

    @property
    def port(self) -> int:
        return self.settings.redis_port

    def ports(self) -> dict[str, int]:
        return {"STREAMVAULT_REDIS_PORT": self.port}

    def prepare(self) -> None:
        (self.dir / "data").mkdir(exist_ok=True)
        write_private(self.dir / "redis.conf", CONF.format(dir=_quoted(str(self.dir / "data")), access=self._access()))

    def _access(self) -> str:
        """Plaintext: one port, the default user's password. Secure: the TLS port only, the default user off,
        an ACL user per principal (security.REDIS_RULES)."""
        if self.security is None:
            return f"port {self.port}\nrequirepass {_quoted(self.secrets.redis_password)}"
        server, ca = self.security.server, self.security.ca
        lines = ["port 0", f"tls-port {self.port}", f"tls-cert-file {_quoted(str(server.cert))}",
                 f"tls-key-file {_quoted(str(server.key))}", f"tls-ca-cert-file {_quoted(str(ca.cert))}",
                 "tls-auth-clients no", "user default off"]
        for principal, rules in security.REDIS_RULES.items():
            password = self.security.password("redis", principal)
            lines.append(f"user {security.redis_user(principal)} on >{password} {rules}")
        return "\n".join(lines)

    def command(self) -> list[str]:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        return [binary, str(self.dir / "redis.conf")]

    def healthy(self) -> bool:
        client = config.from_variables(config.RedisSettings, self.env()).client(socket_timeout=2,
                                                                                  socket_connect_timeout=2)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def env(self) -> dict[str, str]:
        if self.security is None:
            return {"REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(self.port), "REDIS_PASSWORD": self.secrets.redis_password}
        return self.login_env(security.ADMIN)

    def login_env(self, principal: str) -> dict[str, str]:
        if self.security is None or principal not in security.REDIS_PRINCIPALS:
            return {}
        return {"REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(self.port), "REDIS_SSL": "true",
                "REDIS_SSL_CA_CERTS": str(self.security.ca.cert), "REDIS_USERNAME": security.redis_user(principal),
                "REDIS_PASSWORD": self.security.password("redis", principal)}


def _quoted(value: str) -> str:
    """One argument in redis.conf, whatever it holds (a folder name with spaces splits otherwise)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
