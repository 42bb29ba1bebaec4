"""Dashboard fixtures: a migrated database per test module, and a writer of known rows into its marts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from streamvault.config import PgSettings
from marts import Marts
from streamvault.testing.support import cli


@pytest.fixture(scope="module")
def warehouse_env(stack) -> Iterator[dict[str, str]]:
    """A database of this module's own, migrated by `streamvault migrate`; its settings as an environment."""
    env = {**stack.env(), "PG_WAREHOUSE_DBNAME": f"d_{uuid.uuid4().hex[:12]}"}
    with psycopg.connect(host=env["PG_WAREHOUSE_HOST"], port=env["PG_WAREHOUSE_PORT"], dbname="postgres",
                         user=env["PG_WAREHOUSE_USER"], password=env["PG_WAREHOUSE_PASSWORD"],
                         autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(env["PG_WAREHOUSE_DBNAME"])))
        migrated = cli("migrate", env=env)
        assert migrated.returncode == 0, migrated.stderr
        yield env
        admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(env["PG_WAREHOUSE_DBNAME"])))


@pytest.fixture(scope="module")
def pg_settings(warehouse_env) -> PgSettings:
    return PgSettings(host=warehouse_env["PG_WAREHOUSE_HOST"], port=warehouse_env["PG_WAREHOUSE_PORT"],
                      dbname=warehouse_env["PG_WAREHOUSE_DBNAME"], user=warehouse_env["PG_WAREHOUSE_USER"],
                      password=warehouse_env["PG_WAREHOUSE_PASSWORD"], sslmode="disable")


@pytest.fixture
def marts(warehouse_env) -> Marts:
    return Marts(warehouse_env)
