"""One real stack (Kafka, PostgreSQL, Redis) per test session, on free ports in a temporary folder."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from psycopg import sql

from streamvault.stack import Stack
from streamvault.stack.settings import StackSettings
from streamvault.testing.pipeline import Pipeline
from streamvault.testing.support import cli, free_port, pg_admin


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
def new_database(stack: Stack) -> Iterator[Callable[[], str]]:
    """Makes empty databases on the session's server; drops them after the test."""
    env, names = stack.env(), []

    def make() -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        with pg_admin(env) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        names.append(name)
        return name

    yield make
    with pg_admin(env) as admin:
        for name in names:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def empty_database(new_database: Callable[[], str], monkeypatch: pytest.MonkeyPatch) -> str:
    """A new, empty database named in PG_WAREHOUSE_DBNAME for the test."""
    name = new_database()
    monkeypatch.setenv("PG_WAREHOUSE_DBNAME", name)
    return name


@pytest.fixture
def migrated(empty_database: str) -> str:
    """The empty database with the warehouse's schema, for tests of the stages' SQL without services."""
    assert cli("migrate").returncode == 0
    return empty_database


@pytest.fixture
def pipeline(stack: Stack, new_database: Callable[[], str], tmp_path: Path) -> Iterator[Pipeline]:
    """A migrated database and fresh topics; the test starts the services it needs."""
    running = Pipeline(database=new_database(), log_dir=tmp_path)
    running.prepare()
    yield running
    running.stop_all()
