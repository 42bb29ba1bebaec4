"""Redis from Debian's redis-server, with append-only persistence."""

from __future__ import annotations

import shutil

import redis

from streamvault.stack.server import Server

# `set-proc-title no`: the command line keeps naming our redis.conf, by which `stack` knows its server.
CONF = """
bind 127.0.0.1
port {port}
dir {dir}
set-proc-title no
requirepass {password}
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
        conf = self.dir / "redis.conf"
        conf.write_text(CONF.format(port=self.port, dir=_quoted(str(self.dir / "data")),
                                    password=_quoted(self.secrets.redis_password)))
        conf.chmod(0o600)

    def command(self) -> list[str]:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        return [binary, str(self.dir / "redis.conf")]

    def healthy(self) -> bool:
        client = redis.Redis(host="127.0.0.1", port=self.port, password=self.secrets.redis_password,
                             socket_timeout=2, socket_connect_timeout=2)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def env(self) -> dict[str, str]:
        return {
            "REDIS_HOST": "127.0.0.1",
            "REDIS_PORT": str(self.port),
            "REDIS_PASSWORD": self.secrets.redis_password,
        }


def _quoted(value: str) -> str:
    """One argument in redis.conf, whatever it holds (a folder name with spaces splits otherwise)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
