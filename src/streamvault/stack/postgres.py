"""PostgreSQL from Debian's server binaries with a private data folder."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import stat
import subprocess
from pathlib import Path

import psycopg
from psycopg import sql

from streamvault import config
from streamvault.db import sqlfiles
from streamvault.stack import process, security
from streamvault.stack.server import Server

# PostgreSQL refuses to run as root; under root it runs as the account Debian's package creates.
POSTGRES_ACCOUNT = "postgres"

SERVER_CONF = """
listen_addresses = '127.0.0.1'
unix_socket_directories = '{socket_dir}'
max_connections = 100
wal_level = 'minimal'
max_wal_senders = 0
logging_collector = off
log_min_messages = warning
"""

# Given on the command line, so that folders made by earlier versions run with them too. The warehouse is a
# write-heavy load on random keys (Data Vault hash keys): each insert touches a random index page, and the
# first touch of a page after a checkpoint writes its whole 8 KiB image to the WAL. With 256 MB of buffers and a
# checkpoint every 1 GB of WAL, the soak at 1,000 orders/s wrote 29 MB of WAL a second, most of it page
# images (4,200 a second), with a checkpoint every ~35 s and backends writing out buffers themselves
# (docs/performance.md); with these settings, 5-7 MB a second.
# Once the vault outgrows shared_buffers, every page a batch reads evicts another, often dirty (keys are
# random hashes, so writes land all over the indexes). The background writer cleaned at most 100 pages per
# 200 ms round, 4 MB a second, and from minute 25 of the soak the backends wrote 50-65 MB a second
# themselves, inside the batches' statements; it may now clean 1,000 pages every 20 ms ahead of them.
WRITE_LOAD = {"max_wal_size": "8GB", "checkpoint_timeout": "15min", "wal_compression": "lz4",
              "bgwriter_delay": "20ms", "bgwriter_lru_maxpages": "1000", "bgwriter_lru_multiplier": "4"}


def shared_buffers(memory: int | None = None) -> str:
    """A quarter of the memory the server may use (the machine's, or less if its cgroup says so), PostgreSQL's
    usual starting point, in the unit SHOW prints. The vault's hash-key indexes are read at random, so the
    pages a batch needs are all over them: once they outgrow the buffers, each batch reads its pages from the
    kernel's cache and evicts dirty ones. A fixed 1 GB was outgrown by an hour of orders at 1,000 a second
    (docs/performance.md, stop 18); the memory is used only as pages are read."""
    if memory is None:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        try:
            memory = min(memory, int(Path("/sys/fs/cgroup/memory.max").read_text()))
        except (OSError, ValueError):  # no cgroup v2 limit ("max", or no such file)
            pass
    mib = max(128, memory // 4 // 2**20 // 128 * 128)
    return f"{mib // 1024}GB" if mib % 1024 == 0 else f"{mib}MB"


def server_settings() -> dict[str, str]:
    """What the stack's PostgreSQL runs with, beyond postgresql.conf."""
    return {"shared_buffers": shared_buffers(), **WRITE_LOAD}


# Below this much shared memory the 4 kB pages' cost is too small to be worth a kernel setting.
HUGE_PAGES_WORTHWHILE_KB = 1024 * 1024


def huge_pages_hint(shared_memory_kb: int, huge_pages_in_use_kb: int, pages_needed: int) -> str | None:
    """PostgreSQL takes huge pages only when the machine has reserved them (`vm.nr_hugepages`), a setting for
    the whole machine that the stack never changes itself. With 6 GB of buffers, in the soaks with an hour of
    history PostgreSQL took 64-70 % of a core in 2 MB pages against 67-76 % in 4 kB ones, and the history loaded
    11-21 % faster (docs/performance.md, stop 18). So `stack up` says what to set aside when it would matter."""
    if huge_pages_in_use_kb or shared_memory_kb < HUGE_PAGES_WORTHWHILE_KB or pages_needed <= 0:
        return None
    return (f"postgres: its {shared_memory_kb // 1024} MB of shared memory is in 4 kB pages; in huge pages it needs "
            f"less CPU for a large warehouse (docs/deploy.md). To set them aside for it before `stack up`, as root: "
            f"sysctl vm.nr_hugepages={pages_needed}")

# The secure stack: TLS on the one listener, SCRAM passwords, and no other way in (pg_hba.conf).
TLS_CONF = """
ssl = on
ssl_cert_file = '{cert}'
ssl_key_file = '{key}'
ssl_min_protocol_version = 'TLSv1.2'
password_encryption = 'scram-sha-256'
"""
TLS_HBA = """# streamvault secure stack: TLS and SCRAM only; no plaintext, no trust, no local socket.
hostssl all all 127.0.0.1/32 scram-sha-256
hostssl all all ::1/128 scram-sha-256
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


def _check_reachable(folder: Path, account: pwd.struct_passwd) -> None:
    """The account must enter every folder above its own (a `mktemp -d` folder or /root is 0700): say so
    before initdb fails deep inside with `Permission denied`."""
    groups = set(os.getgrouplist(account.pw_name, account.pw_gid))
    for parent in reversed(folder.parents):
        mode = parent.stat()
        allowed = (stat.S_IXUSR if mode.st_uid == account.pw_uid else
                   stat.S_IXGRP if mode.st_gid in groups else stat.S_IXOTH)
        if not mode.st_mode & allowed:
            raise RuntimeError(f"PostgreSQL runs as the account {account.pw_name}, which cannot enter {parent} "
                               f"(mode {stat.S_IMODE(mode.st_mode):04o}): choose a STREAMVAULT_HOME outside it, "
                               f"or let others enter it (chmod o+x {parent})")


class Postgres(Server):
    name = "postgres"
    stop_signal = signal.SIGINT  # "fast" shutdown: abort sessions, checkpoint, exit

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.data_dir = self.dir / "data"
        self.socket_dir = self.dir / "run"
        self.tls_dir = self.dir / "tls"
        self.run_as = POSTGRES_ACCOUNT if os.geteuid() == 0 else None

    @property
    def port(self) -> int:
        return self.settings.pg_port

    def ports(self) -> dict[str, int]:
        return {"STREAMVAULT_PG_PORT": self.port}

    def prepare(self) -> None:
        if self.run_as:
            _check_reachable(self.dir, pwd.getpwnam(self.run_as))
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        if self.security is not None:  # PostgreSQL reads its key only when its own account owns it, mode 0600
            self.tls_dir.mkdir(exist_ok=True)
            for source in (self.security.server.cert, self.security.server.key):
                shutil.copyfile(source, self.tls_dir / source.name)
                (self.tls_dir / source.name).chmod(0o600)
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
            if self.security is not None:
                conf.write(TLS_CONF.format(cert=self.tls_dir / "server.crt", key=self.tls_dir / "server.key"))
        if self.security is not None:
            (self.data_dir / "pg_hba.conf").write_text(TLS_HBA)

    def command(self) -> list[str]:
        settings = [arg for name, value in server_settings().items() for arg in ("-c", f"{name}={value}")]
        return [str(server_bindir() / "postgres"), "-D", str(self.data_dir), "-p", str(self.port), *settings]

    def _connect(self, dbname: str) -> psycopg.Connection:
        pg = config.from_variables(config.PgSettings, {**self.env(), "PG_WAREHOUSE_DBNAME": dbname})
        return psycopg.connect(pg.conninfo(), connect_timeout=2, autocommit=True)

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
            if self.security is not None:
                self._create_logins(conn)

    def hint(self) -> str | None:
        pid = self.pid
        if pid is None:
            return None
        with self._connect("postgres") as conn:
            setting, shared_memory_mb, needed = conn.execute(sqlfiles.sql(__package__, "huge_pages.sql")).fetchone()
        if setting == "off":
            return None
        return huge_pages_hint(shared_memory_mb * 1024, process.huge_pages_kb(pid), needed)

    def _create_logins(self, conn: psycopg.Connection) -> None:
        """One login per principal, a member of the role migration 0012 (0005 for the dashboard) grants to."""
        for principal in security.PG_PRINCIPALS:
            login, group = security.pg_login(principal), security.pg_group(principal)
            if not conn.execute(sqlfiles.sql(__package__, "role_exists.sql"), {"name": group}).fetchone():
                conn.execute(sql.SQL(sqlfiles.sql(__package__, "group_role.sql")).format(group=sql.Identifier(group)))
            if not conn.execute(sqlfiles.sql(__package__, "role_exists.sql"), {"name": login}).fetchone():
                conn.execute(sql.SQL(sqlfiles.sql(__package__, "login_role.sql")).format(
                    login=sql.Identifier(login), group=sql.Identifier(group),
                    password=sql.Literal(self.security.password("pg", principal))))

    def env(self) -> dict[str, str]:
        tls = {"PG_WAREHOUSE_SSLMODE": "disable"} if self.security is None else {
            "PG_WAREHOUSE_SSLMODE": "verify-full", "PG_WAREHOUSE_SSLROOTCERT": str(self.security.ca.cert)}
        return {"PG_WAREHOUSE_HOST": "127.0.0.1", "PG_WAREHOUSE_PORT": str(self.port),
                "PG_WAREHOUSE_DBNAME": self.settings.pg_dbname, "PG_WAREHOUSE_USER": self.settings.pg_user,
                "PG_WAREHOUSE_PASSWORD": self.secrets.pg_password, **tls}

    def login_env(self, principal: str) -> dict[str, str]:
        """The dashboard's login is DASHBOARD_PG_* (as the Helm chart sets it): PG_WAREHOUSE_* only gives the address."""
        if self.security is None or principal not in security.PG_PRINCIPALS:
            return {}
        login, password = security.pg_login(principal), self.security.password("pg", principal)
        env = {key: value for key, value in self.env().items() if key != "PG_WAREHOUSE_PASSWORD"}
        if principal == security.DASHBOARD:
            return {**env, "DASHBOARD_PG_USER": login, "DASHBOARD_PG_PASSWORD": password}
        return {**env, "PG_WAREHOUSE_USER": login, "PG_WAREHOUSE_PASSWORD": password}
