"""`streamvault demo` end to end, headless, on its own stack (state folder and free ports), as a newcomer runs it.

One demo runs until `status` reports a healthy, drained pipeline, then gets Ctrl-C; a second run
resumes on the same data and exits by itself once drained.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from streamvault.stack.process import is_alive
from streamvault.testing.support import free_port, pg_connect, read_env_file

SERVERS = ("kafka", "postgres", "redis")
# The session's servers and services must not leak into the demo's environment.
FOREIGN = ("KAFKA_", "PG_WAREHOUSE_", "REDIS_", "STREAMVAULT_", "DASHBOARD_", "HTTP_")


@dataclass
class FirstRun:
    env: dict[str, str]
    status: dict
    pids: dict[str, int]
    returncode: int
    output: str


def _streamvault(*args: str) -> list[str]:
    return [sys.executable, "-m", "streamvault", *args]


def _status(env: dict[str, str]) -> tuple[int, dict]:
    result = subprocess.run(_streamvault("status", "--json"), env=env, capture_output=True, text=True, timeout=120)
    return result.returncode, json.loads(result.stdout)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=180)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def demo_env() -> Iterator[dict[str, str]]:
    # Not pytest's tmp_path: its folders are private to root, and PostgreSQL runs as its own account.
    home = Path(tempfile.mkdtemp(prefix="streamvault-demo-"))
    home.chmod(0o755)
    env = {key: value for key, value in os.environ.items() if not key.startswith(FOREIGN)}
    env.update({"STREAMVAULT_HOME": str(home), "STREAMVAULT_DASHBOARD_PORT": str(free_port()),
                **{f"STREAMVAULT_{server}_PORT": str(free_port())
                   for server in ("KAFKA", "KAFKA_CONTROLLER", "PG", "REDIS")},
                **{f"STREAMVAULT_{key}_URL": f"http://127.0.0.1:{free_port()}" for key in ("STG", "DDS", "CDM")}})
    try:
        yield env
    finally:
        subprocess.run(_streamvault("stack", "down"), env=env, capture_output=True, timeout=300)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def first_run(demo_env: dict[str, str]) -> FirstRun:
    """A batch of orders; watched with `status` until drained; then Ctrl-C."""
    home = Path(demo_env["STREAMVAULT_HOME"])
    output = home / "first-run.out"
    with open(output, "wb") as out:
        demo = subprocess.Popen(_streamvault("demo", "--orders", "1000", "--headless"), env=demo_env, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        status, deadline = {}, time.monotonic() + 600
        while time.monotonic() < deadline and demo.poll() is None:
            if "all orders published" in output.read_text():
                code, status = _status(demo_env)
                if code == 0 and all(s["lag"] == 0 for s in status["services"].values()):
                    break
            time.sleep(2)
        assert demo.poll() is None, f"the demo exited with {demo.returncode}:\n{output.read_text()[-3000:]}"
        pids = {path.stem: int(path.read_text()) for path in (home / "demo").glob("*.pid")}
        pids.update({server: int((home / server / "pid").read_text()) for server in SERVERS})
    finally:
        _stop(demo)
    return FirstRun(demo_env, status, pids, demo.returncode, output.read_text())


def test_while_the_demo_runs_status_reports_a_healthy_drained_pipeline_with_filled_marts(first_run):
    status = first_run.status
    assert status.get("healthy") is True, first_run.output
    assert {key: (s["health"], s["lag"]) for key, s in status["services"].items()} == {
        "stg": ("ready", 0), "dds": ("ready", 0), "cdm": ("ready", 0)}
    layers = status["layers"]
    assert layers["source"]["order-service_orders"] > 1000
    assert layers["stg"]["order_events"] >= 1000
    assert layers["dds"]["h_order"] > 0 and layers["dds"]["l_order_product"] > 0
    assert layers["cdm"]["user_product_counters"] > 0 and layers["cdm"]["user_category_counters"] > 0
    # The generator injects malformed messages: they are dead-lettered, not lost.
    assert status["services"]["stg"]["dlq"] > 0


def test_ctrl_c_stops_every_service_and_server_the_demo_started(first_run):
    assert first_run.returncode == 0, first_run.output
    assert set(first_run.pids) == {"stg-service", "dds-service", "cdm-service", "dashboard", "generator", *SERVERS}
    assert {name: pid for name, pid in first_run.pids.items() if is_alive(pid)} == {}
    home = Path(first_run.env["STREAMVAULT_HOME"])
    assert all((home / "logs" / f"{name}.log").is_file() for name in ("stg-service", "generator", "dashboard"))


def test_a_second_run_resumes_on_the_same_data_and_exits_once_drained(first_run):
    env, home = first_run.env, Path(first_run.env["STREAMVAULT_HOME"])
    before = first_run.status["layers"]["stg"]["order_events"]
    result = subprocess.run(_streamvault("demo", "--orders", "300", "--exit-when-drained", "--headless",
                                         "--keep-stack"), env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "continuing after object id" in result.stdout

    with pg_connect(read_env_file(home / "env")) as conn:
        events, distinct_ids = conn.execute(
            "SELECT count(*), count(DISTINCT object_id) FROM stg.order_events").fetchone()
        closed_orders = conn.execute(
            "SELECT count(*) FROM stg.order_events WHERE payload->>'final_status' = 'CLOSED'").fetchone()[0]
    assert events == distinct_ids >= before + 300  # new ids: nothing of the first run was overwritten
    assert closed_orders > 0

    code, status = _status(env)  # the services stopped with the demo; the stack was kept
    assert code == 1
    assert {s["health"] for s in status["services"].values()} == {"down"}
    assert [s["lag"] for s in status["services"].values()] == [0, 0, 0]
    assert status["layers"]["stg"]["order_events"] == events
    assert status["layers"]["cdm"]["user_product_counters"] > 0
