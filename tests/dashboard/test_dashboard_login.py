"""The dashboard with a warehouse login that is not a superuser, as on a managed server: it can read
through `streamvault_dashboard`, and its readiness (`/ready`) says when it cannot."""

from __future__ import annotations

import urllib.request
import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest
from psycopg import sql

from served import Server, start_dashboard
from streamvault.testing.support import cli, wait_for

ROLE = "streamvault_dashboard"


def _admin(env: dict[str, str], dbname: str = "postgres") -> psycopg.Connection:
    return psycopg.connect(host=env["PG_WAREHOUSE_HOST"], port=env["PG_WAREHOUSE_PORT"], dbname=dbname,
                           user=env["PG_WAREHOUSE_USER"], password=env["PG_WAREHOUSE_PASSWORD"], autocommit=True)


@pytest.fixture
def owned_warehouse(stack) -> Iterator[dict[str, str]]:
    """A database owned by a non-superuser login that may create roles, as a managed server's owner account,
    migrated by that login: the environment of a deployment that gives the dashboard no login of its own."""
    admin_env, name = stack.env(), f"owner_{uuid.uuid4().hex[:8]}"
    env = {**admin_env, "PG_WAREHOUSE_USER": name, "PG_WAREHOUSE_PASSWORD": uuid.uuid4().hex,
           "PG_WAREHOUSE_DBNAME": f"o_{uuid.uuid4().hex[:12]}"}
    with _admin(admin_env) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEROLE PASSWORD {}").format(
            sql.Identifier(name), sql.Literal(env["PG_WAREHOUSE_PASSWORD"])))
        admin.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
            sql.Identifier(env["PG_WAREHOUSE_DBNAME"]), sql.Identifier(name)))
        try:
            migrated = cli("migrate", env=env)
            assert migrated.returncode == 0, migrated.stderr
            yield env
        finally:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(env["PG_WAREHOUSE_DBNAME"])))
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


@pytest.fixture
def dashboard(tmp_path) -> Iterator[Callable[[dict[str, str]], Server]]:
    """Starts real dashboards; stops them after the test."""
    started: list[Server] = []

    def start(env: dict[str, str]) -> Server:
        started.append(start_dashboard(env, tmp_path / f"dashboard-{len(started)}.log"))
        return started[-1]

    yield start
    for server in started:
        server.process.terminate()
        server.process.wait(timeout=30)


def test_a_non_superuser_owner_that_migrated_the_warehouse_serves_the_dashboard(owned_warehouse, dashboard):
    """SET ROLE needs membership, which nothing granted: every /api/* answered 503 while `/` stayed 200."""
    server = dashboard(owned_warehouse)
    assert server.answer("/api/kpis")[0] == 200
    assert server.answer("/api/charts/dishes-by-orders")[0] == 200
    assert server.answer("/ready") == (200, {"status": "ready"})


def test_a_login_that_may_not_take_the_role_is_not_ready_and_the_answer_says_what_to_grant(owned_warehouse, stack,
                                                                                          dashboard):
    """The probe must not call a dashboard ready whose every query fails; the page itself stays up."""
    login = owned_warehouse["PG_WAREHOUSE_USER"]
    with _admin(stack.env()) as admin:
        admin.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(ROLE), sql.Identifier(login)))
    server = dashboard(owned_warehouse)
    assert server.answer("/ready") == (503, {"error": f"the login {login} may not SET ROLE {ROLE}: "
                                                      f"GRANT {ROLE} TO {login} (see docs/dashboard.md)"})
    with urllib.request.urlopen(server.url + "/", timeout=10) as page:
        assert page.status == 200

    with _admin(stack.env()) as admin:
        admin.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(ROLE), sql.Identifier(login)))
    wait_for(lambda: server.answer("/ready")[0] == 200, "the dashboard is ready once the role is granted")


def test_while_not_ready_the_dashboard_logs_the_reason_once_and_its_return_once(owned_warehouse, stack, dashboard,
                                                                               tmp_path):
    """A probe or poll every few seconds must not add a line each time: operators read state changes.
    (The connection pool's own warnings, one per connection attempt with growing back-off, are not these.)"""
    login = owned_warehouse["PG_WAREHOUSE_USER"]
    with _admin(stack.env()) as admin:
        admin.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(ROLE), sql.Identifier(login)))
    server = dashboard(owned_warehouse)
    for _ in range(3):
        assert server.answer("/ready")[0] == 503
    with _admin(stack.env()) as admin:
        admin.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(ROLE), sql.Identifier(login)))
    wait_for(lambda: server.answer("/ready")[0] == 200, "the dashboard is ready once the role is granted")
    assert server.answer("/api/kpis")[0] == 200

    server.process.terminate()
    server.process.wait(timeout=30)
    lines = [line.split(" streamvault.dashboard.availability: ")[1]
             for line in (tmp_path / "dashboard-0.log").read_text().splitlines() if "warehouse queries" in line]
    assert lines == [f"warehouse queries fail: the login {login} may not SET ROLE {ROLE}: GRANT {ROLE} TO {login} "
                     "(see docs/dashboard.md) (PoolTimeout: couldn't get a connection after 5.00 sec)",
                     "warehouse queries work again"]
