"""PostgreSQL from Debian's server binaries with a private data folder."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
from pathlib import Path

import psycopg
from psycopg import sql

from streamvault.stack.server import Server

# PostgreSQL refuses to run as root; under root it runs as the account Debian's package creates.
POSTGRES_ACCOUNT = "postgres"

SERVER_CONF = """
listen_addresses = '127.0.0.1'
unix_socket_directories = '{socket_dir}'
shared_buffers = '256MB'
max_connections = 100
wal_level = 'minimal'
max_wal_senders = 0
max_wal_size = '1GB'
checkpoint_timeout = '15min'
logging_collector = off
log_min_messages = warning
"""


def server_bindir() -> Path:
    configured = os.environ.get("STREAMVAULT_PG_BINDIR")
    if configured:
        return Path(configured)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"),
                        key=lambda p: int(Path(p).parent.parent.name))
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("postgres")
    if found:
        return Path(found).resolve().parent
    raise RuntimeError("PostgreSQL server binaries not found: run `make install` (installs Debian's postgresql)")


class Postgres(Server):
    name = "postgres"
    stop_signal = signal.SIGINT  # "fast" shutdown: abort sessions, checkpoint, exit

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.data_dir = self.dir / "data"
        self.socket_dir = self.dir / "run"
        self.run_as = POSTGRES_ACCOUNT if os.geteuid() == 0 else None

    @property
    def port(self) -> int:
        return self.settings.pg_port

    def ports(self) -> dict[str, int]:
        return {"STREAMVAULT_PG_PORT": self.port}

    def prepare(self) -> None:
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        if self.run_as:
            account = pwd.getpwnam(self.run_as)
            for path in [self.dir, *self.dir.rglob("*")]:
                os.chown(path, account.pw_uid, account.pw_gid)
        if (self.data_dir / "PG_VERSION").exists():
            return
        password_file = self.dir / "initdb-password"
        password_file.write_text(self.secrets.pg_password)
        try:
            subprocess.run(
                [str(server_bindir() / "initdb"), f"--pgdata={self.data_dir}", f"--username={self.settings.pg_user}",
                 f"--pwfile={password_file}", "--auth-host=scram-sha-256", "--auth-local=trust",
                 "--encoding=UTF8", "--locale=C.UTF-8"],
                check=True, capture_output=True, user=self.run_as,
            )
        except subprocess.CalledProcessError as exc:
            raise RuntimeError(f"initdb failed: {exc.stderr.decode(errors='replace')}") from None
        finally:
            password_file.unlink(missing_ok=True)
        with open(self.data_dir / "postgresql.conf", "a") as conf:
            conf.write(SERVER_CONF.format(socket_dir=self.socket_dir))

    def command(self) -> list[str]:
        return [str(server_bindir() / "postgres"), "-D", str(self.data_dir), "-p", str(self.port)]

    def _connect(self, dbname: str) -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=self.port, user=self.settings.pg_user,
                               password=self.secrets.pg_password, dbname=dbname,
                               connect_timeout=2, autocommit=True)

    def healthy(self) -> bool:
        try:
            with self._connect("postgres") as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def after_start(self) -> None:
        with self._connect("postgres") as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                  [self.settings.pg_dbname]).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.settings.pg_dbname)))

    def env(self) -> dict[str, str]:
        return {
            "PG_WAREHOUSE_HOST": "127.0.0.1",
            "PG_WAREHOUSE_PORT": str(self.port),
            "PG_WAREHOUSE_DBNAME": self.settings.pg_dbname,
            "PG_WAREHOUSE_USER": self.settings.pg_user,
            "PG_WAREHOUSE_PASSWORD": self.secrets.pg_password,
            "PG_WAREHOUSE_SSLMODE": "disable",
        }
