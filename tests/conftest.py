"""One real stack (Kafka, PostgreSQL, Redis) per test session, on free ports in a temporary folder."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from streamvault.stack import Stack
from streamvault.stack.settings import StackSettings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    # Not pytest's tmp_path: its folders are private to root, and PostgreSQL runs as its own account.
    home = Path(tempfile.mkdtemp(prefix="streamvault-test-"))
    home.chmod(0o755)
    settings = StackSettings(home=home, kafka_port=free_port(), kafka_controller_port=free_port(),
                             pg_port=free_port(), redis_port=free_port())
    local = Stack(settings)
    saved = dict(os.environ)
    try:
        local.up()
        # The CLI run by tests (and services they start) must find this stack, not the default one.
        os.environ.update(local.env())
        os.environ.update({"STREAMVAULT_KAFKA_PORT": str(settings.kafka_port),
                           "STREAMVAULT_KAFKA_CONTROLLER_PORT": str(settings.kafka_controller_port),
                           "STREAMVAULT_PG_PORT": str(settings.pg_port),
                           "STREAMVAULT_REDIS_PORT": str(settings.redis_port)})
        yield local
    finally:
        local.down()
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def stack_env(stack: Stack) -> dict[str, str]:
    return stack.env()


@pytest.fixture
def empty_database(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A new, empty database on the session's server, named in PG_WAREHOUSE_DBNAME for the test."""
    env = stack.env()
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = psycopg.connect(host=env["PG_WAREHOUSE_HOST"], port=env["PG_WAREHOUSE_PORT"],
                            user=env["PG_WAREHOUSE_USER"], password=env["PG_WAREHOUSE_PASSWORD"],
                            dbname="postgres", autocommit=True)
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        monkeypatch.setenv("PG_WAREHOUSE_DBNAME", name)
        yield name
        admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
