"""Small helpers the tests and benchmarks share: run the CLI, read topics, connect to the stack's servers, wait."""

from __future__ import annotations

import os
import random
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import redis
from confluent_kafka import Consumer, Message
from psycopg import sql

from streamvault import config


def free_port() -> int:
    """A port free now and outside the kernel's ephemeral range, so that no outgoing connection of the
    busy test session can take it before the server we start binds it."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    while True:
        port = _ports.randrange(20000, low)
        if port in _handed_out:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port


_ports = random.Random()
_handed_out: set[int] = set()


def cli(*args: str, env: dict[str, str] | None = None, unset: tuple[str, ...] = (),
        timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run `streamvault ARGS` in a child process with the session's environment, changed as asked."""
    child_env = {k: v for k, v in {**os.environ, **(env or {})}.items() if k not in unset}
    return subprocess.run([sys.executable, "-m", "streamvault", *args], capture_output=True, text=True,
                          env=child_env, timeout=timeout)


def poll_all(consumer: Consumer, expected: int, timeout: float = 60.0) -> list[Message]:
    """Collect messages until `expected` arrived or the time is up (the caller asserts on what came)."""
    got, deadline = [], time.monotonic() + timeout
    while len(got) < expected and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and not message.error():
            got.append(message)
    return got


def pg_connect(env: dict[str, str] | None = None, **kwargs) -> psycopg.Connection:
    """A connection with the settings in `env` (default: the process's), TLS settings included."""
    return psycopg.connect(config.from_variables(config.PgSettings, env or dict(os.environ)).conninfo(), **kwargs)


def pg_admin(env: dict[str, str] | None = None) -> psycopg.Connection:
    """The server's maintenance database, to create and drop databases."""
    return pg_connect({**(env or os.environ), "PG_WAREHOUSE_DBNAME": "postgres"}, autocommit=True)


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """A new, empty database on the stack's server for the duration of the block."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with pg_admin() as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        with pg_admin() as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def redis_client(env: dict[str, str] | None = None) -> redis.Redis:
    return config.from_variables(config.RedisSettings, env or dict(os.environ)).client()


def read_env_file(path: Path) -> dict[str, str]:
    """The connection settings `streamvault stack up` writes: KEY=shell-quoted value, a line each."""
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if line)
    return {key: "".join(shlex.split(value)) for key, value in pairs}


def checkout(src: Path) -> dict[str, str]:
    """Which code a benchmark ran: the src/ folder and its git commit."""
    commit = subprocess.run(["git", "-C", str(src), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return {"code": str(src), "commit": commit.stdout.strip()}


def load_stack_env() -> None:
    """The running stack's settings (written by `streamvault stack up`), unless the environment has them."""
    for key, value in read_env_file(config.streamvault_home() / "env").items():
        os.environ.setdefault(key, value)


def kafka_config(env: dict[str, str] | None = None, **extra: object) -> dict[str, object]:
    return {**config.from_variables(config.KafkaSettings, env or dict(os.environ)).client_config(), **extra}


def metrics_text(url: str) -> str:
    """A service's /metrics, read once: the callers take every value they need from one reading."""
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode()


def wait_for(condition, what: str, timeout: float = 120) -> None:
    """Poll until `condition()` holds; a bound on liveness, not a measure of speed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for: {what}")
