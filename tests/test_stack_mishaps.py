"""The local stack under what users do to it: reused pids, two commands at once, ports taken by another
server, Ctrl-C, a changed port, a mistyped folder, a write cut short. Real processes and servers only.

Each test that starts servers uses its own state folder and free ports, and stops whatever runs from
that folder afterwards, also when it fails.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from secrets import token_hex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from streamvault.stack import Stack
from streamvault.stack.kafka import Kafka
from streamvault.stack import process
from streamvault.stack.process import cmdline
from streamvault.stack.redis import Redis
from streamvault.stack.settings import Secrets, StackSettings
from streamvault.testing.support import cli, free_port, wait_for

SERVERS = ("postgres", "redis", "kafka")
PORT_VARIABLES = ("STREAMVAULT_KAFKA_PORT", "STREAMVAULT_KAFKA_CONTROLLER_PORT", "STREAMVAULT_PG_PORT",
                  "STREAMVAULT_REDIS_PORT")


@dataclass
class Folder:
    """A state folder of its own, on free ports, driven through the `streamvault stack` command."""

    home: Path
    env: dict[str, str]

    def stack(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return cli("stack", *args, env={**self.env, **(env or {})})

    def popen(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "streamvault", "stack", *args], env={**os.environ, **self.env},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def processes(self) -> list[int]:
        """Every process whose command line names a file in this folder: the servers started from it."""
        return [pid for pid in _all_pids() if f"{self.home}/".encode() in cmdline(pid)]

    def write_secrets(self, **chosen: str) -> None:
        """A `secrets.json` as an earlier version may have saved it."""
        generated = {"pg_password": token_hex(12), "redis_password": token_hex(12),
                     "kafka_cluster_id": "MkU3OEVBNTcwNTJENDM2Qg"}
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "secrets.json").write_text(json.dumps({**generated, **chosen}))


def _assert_nothing_left(folder: Folder, why: str = "every server of the folder stopped") -> None:
    """A server's own short-lived children (Redis forks to write its files) may outlive it by a moment."""
    try:
        wait_for(lambda: not folder.processes(), why, timeout=30)
    except AssertionError:
        left = {pid: cmdline(pid).replace(b"\0", b" ").decode(errors="replace") for pid in folder.processes()}
        raise AssertionError(f"{why}: still running after 30 s: {left}\n{_whose(folder, left)}") from None


def _whose(folder: Folder, left: dict[int, str]) -> str:
    """What tells a server `stop` missed from a child it left: each leftover's parent, group and start, against
    the pid files; and the servers' logs (seen twice: a Redis of a failed `up`)."""
    lines = []
    for pid in left:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            lines.append(f"pid {pid}: parent {stat[1]}, group {stat[2]}, session {stat[3]}, started {stat[19]}")
        except (OSError, IndexError):
            lines.append(f"pid {pid}: gone")
    for pid_file in sorted(folder.home.glob("*/pid*")):
        lines.append(f"{pid_file}: {pid_file.read_text().strip()}")
    for log in sorted(folder.home.glob("*/server.log")):
        lines.append(f"--- {log}:\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:]))
    return "\n".join(lines)


def _all_pids() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def _new_folder() -> Folder:
    # Not pytest's tmp_path: its folders are private to root, and PostgreSQL runs as its own account.
    home = Path(tempfile.mkdtemp(prefix="streamvault-mishap-"))
    home.chmod(0o755)
    shutil.rmtree(home)  # `stack up` makes it, as it does for a new user
    return Folder(home, {"STREAMVAULT_HOME": str(home), **{variable: str(free_port()) for variable in PORT_VARIABLES}})


def _clean_up(folder: Folder) -> None:
    """`stack down`, then SIGKILL whatever still runs from the folder: a failed test leaves nothing behind."""
    if folder.home.is_dir():
        folder.stack("down")
    for pid in folder.processes():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    shutil.rmtree(folder.home, ignore_errors=True)


@pytest.fixture
def folder() -> Iterator[Folder]:
    made = _new_folder()
    try:
        yield made
    finally:
        _clean_up(made)


@pytest.fixture
def bystander() -> Iterator[subprocess.Popen]:
    """An unrelated process of the same user, whose pid a stale pid file may name after pids wrapped."""
    process = subprocess.Popen(["sleep", "600"])
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def _pid(folder: Folder, server: str) -> int:
    return int((folder.home / server / "pid").read_text())


def _cluster_id(folder: Folder) -> str:
    admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{folder.env['STREAMVAULT_KAFKA_PORT']}"})
    return admin.list_topics(timeout=30).cluster_id


# --- issue 13: Kafka cluster ids and other generated values that look like options -------------------

def test_no_generated_secret_can_be_mistaken_for_an_option(tmp_path: Path):
    """About 1 in 64 random URL-safe values starts with `-`: over 640 folders, old code made ~30 such."""
    values = []
    for n in range(640):
        secrets = Secrets.load_or_create(tmp_path / f"{n}.json")
        values += [secrets.pg_password, secrets.redis_password, secrets.kafka_cluster_id]
    assert [value for value in values if value.startswith("-")] == []


@pytest.mark.parametrize("first", ["-", "_"])
def test_a_folder_whose_saved_cluster_id_starts_with_a_dash_or_underscore_comes_up_fresh_and_formatted(
        folder: Folder, first: str):
    """Folders made before the fix keep their saved id: it must work on the first `up` (which formats the
    storage with it) and on every later one."""
    cluster_id = first + "Kq3vXgYtRzu9h2Wc4bNfA"
    folder.write_secrets(kafka_cluster_id=cluster_id)

    fresh = folder.stack("up")
    assert fresh.returncode == 0, fresh.stderr
    assert _cluster_id(folder) == cluster_id
    assert folder.stack("down").returncode == 0
    formatted = folder.stack("up")
    assert formatted.returncode == 0, formatted.stderr
    assert _cluster_id(folder) == cluster_id


def test_redis_runs_in_a_state_folder_whose_path_holds_spaces_and_quotes():
    """A path is one value in redis.conf, however it is spelt (`dir /My Stack/...` was three)."""
    home = Path(tempfile.mkdtemp(prefix='streamvault mishap "quoted" '))
    redis = Redis(StackSettings(home=home, redis_port=free_port()), Secrets.generate())
    try:
        assert redis.launch()
        redis.await_healthy()
    finally:
        redis.stop()
        shutil.rmtree(home, ignore_errors=True)


# --- issue 17, item 1: a pid file naming another process ----------------------------------------------

def test_down_never_signals_a_process_that_a_stale_pid_file_names(folder: Folder, bystander: subprocess.Popen):
    folder.write_secrets()
    for server in SERVERS:
        (folder.home / server).mkdir()
        (folder.home / server / "pid").write_text(f"{bystander.pid}\n")

    result = folder.stack("down")

    assert result.returncode == 0, result.stderr
    assert bystander.poll() is None, "stack down killed an unrelated process"


def test_a_server_this_process_started_is_stopped_even_before_its_command_line_names_its_folder(tmp_path: Path):
    """A failed `up` stops what it started a moment before; a server may not read as ours yet (a Redis was left)."""
    pid_file = tmp_path / "pid"
    child = process.spawn(["sleep", "600"], pid_file, tmp_path / "server.log")
    not_yet_ours = f"{tmp_path}/".encode()

    assert process.stop(pid_file, not_yet_ours, timeout=5, child=child)
    assert child.poll() is not None and not pid_file.exists()


@pytest.fixture(scope="module")
def up_beside_a_bystander() -> Iterator[tuple[Folder, subprocess.CompletedProcess[str], int]]:
    """A first `up` whose redis pid file names an unrelated, living process."""
    made, process = _new_folder(), subprocess.Popen(["sleep", "600"])
    try:
        (made.home / "redis").mkdir(parents=True)
        (made.home / "redis" / "pid").write_text(f"{process.pid}\n")
        yield made, made.stack("up"), process.pid
    finally:
        process.kill()
        process.wait()
        _clean_up(made)


def test_up_starts_its_own_server_when_the_pid_file_names_another_process(up_beside_a_bystander):
    folder, result, bystander = up_beside_a_bystander
    assert result.returncode == 0, result.stderr
    assert _pid(folder, "redis") != bystander
    assert _pid(folder, "redis") in folder.processes()


# --- item 12: a port changed while the stack runs -----------------------------------------------------

def test_up_with_another_port_than_the_running_stack_says_which_port_it_runs_on(up_beside_a_bystander):
    folder, started, _ = up_beside_a_bystander
    assert started.returncode == 0, started.stderr
    running = folder.env["STREAMVAULT_REDIS_PORT"]

    result = folder.stack("up", env={"STREAMVAULT_REDIS_PORT": str(free_port())})

    assert result.returncode == 1
    assert f"the stack in {folder.home} runs redis on port {running}" in result.stderr
    assert "stack down" in result.stderr
    assert folder.stack("status").returncode == 0, "the running stack must be left as it was"


# --- item 2: two `stack up` at once -------------------------------------------------------------------

def test_two_concurrent_ups_on_one_folder_leave_exactly_the_servers_that_down_stops(folder: Folder):
    first, second = folder.popen("up"), folder.popen("up")
    outcomes = [first.communicate(timeout=600), second.communicate(timeout=600)]

    assert [first.returncode, second.returncode] == [0, 0], outcomes
    assert sorted(folder.processes()) == sorted(_pid(folder, server) for server in SERVERS)
    assert folder.stack("down").returncode == 0
    wait_for(lambda: not folder.processes(), "every server of the folder to stop", timeout=60)


# --- items 3 and 10: a port held by another server; clean-up after a failed `up` ----------------------

def test_up_refuses_a_kafka_port_that_another_broker_holds_and_stops_what_it_started(folder: Folder, stack: Stack):
    """The session's broker answers on the port: `up` must not report that broker as ours."""
    taken = str(stack.settings.kafka_port)

    result = folder.stack("up", env={"STREAMVAULT_KAFKA_PORT": taken})

    assert result.returncode == 1, result.stdout
    assert f"port {taken}" in result.stderr and "STREAMVAULT_KAFKA_PORT" in result.stderr
    assert not (folder.home / "env").exists(), "the env file would point clients at a foreign cluster"
    _assert_nothing_left(folder)


def test_kafka_is_healthy_only_when_its_own_cluster_answers(stack: Stack):
    """A broker of another cluster on our port (ours died on BindException) is not our Kafka."""
    another_cluster = Secrets(pg_password="unused", redis_password="unused", kafka_cluster_id="MkU3OEVBNTcwNTJENDM2Qg")
    foreign = Kafka(stack.settings, another_cluster)
    assert not foreign.healthy()
    assert stack.servers[-1].healthy()


def test_up_with_the_controller_port_taken_fails_naming_it_and_leaves_nothing_running(folder: Folder):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", int(folder.env["STREAMVAULT_KAFKA_CONTROLLER_PORT"])))
        listener.listen()

        result = folder.stack("up")

    assert result.returncode == 1, result.stdout
    assert "STREAMVAULT_KAFKA_CONTROLLER_PORT" in result.stderr
    _assert_nothing_left(folder, "PostgreSQL and Redis of a failed `up` must be stopped")


def test_the_controller_port_defaults_to_the_port_after_kafkas(monkeypatch: pytest.MonkeyPatch):
    """A second stack moved with STREAMVAULT_KAFKA_PORT alone must not collide on the first one's 19093."""
    monkeypatch.delenv("STREAMVAULT_KAFKA_CONTROLLER_PORT", raising=False)
    assert StackSettings(kafka_port=29092).kafka_controller_port == 29093
    monkeypatch.setenv("STREAMVAULT_KAFKA_CONTROLLER_PORT", "30000")
    assert StackSettings(kafka_port=29092).kafka_controller_port == 30000


def test_readme_documents_every_port_variable():
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert [variable for variable in PORT_VARIABLES if variable not in readme] == []


# --- item 13: a mistyped folder; Ctrl-C during `up` ---------------------------------------------------

def test_down_on_a_folder_without_a_stack_says_so_and_creates_nothing(folder: Folder):
    result = folder.stack("down")
    assert result.returncode == 0, result.stderr
    assert f"no stack in {folder.home}" in result.stdout
    assert not folder.home.exists()


@pytest.mark.parametrize("interruption", [signal.SIGINT, signal.SIGHUP], ids=["ctrl-c", "terminal-closed"])
def test_an_interrupted_up_stops_the_servers_it_had_started(folder: Folder, interruption: signal.Signals):
    returncode, stderr = _interrupt_while_waiting_for_kafka(folder, interruption)
    assert returncode != 0
    assert "Traceback" not in stderr
    _assert_nothing_left(folder, "servers left running with no env file to reach them")


def _interrupt_while_waiting_for_kafka(folder: Folder, interruption: signal.Signals) -> tuple[int, str]:
    """`up` interrupted once every server is started and before Kafka answers. Kafka is frozen (SIGSTOP)
    from the moment its pid file appears until the signal is sent, so that `up` is surely still waiting
    then; on a loaded machine it could otherwise finish between the test's look and its signal."""
    kafka_pid_file = folder.home / "kafka" / "pid"
    up = folder.popen("up")
    try:
        wait_for(lambda: _read(kafka_pid_file).strip() or up.poll() is not None, "`stack up` to start every server",
                 timeout=300)
        assert up.poll() is None, f"`up` ended before Kafka started: {up.communicate()}"
        kafka_pid = int(_read(kafka_pid_file))
        os.kill(kafka_pid, signal.SIGSTOP)
        try:
            assert not (folder.home / "env").exists() and up.poll() is None, \
                "Kafka answered before it could be frozen: `up` is not waiting for it"
            up.send_signal(interruption)
        finally:
            os.kill(kafka_pid, signal.SIGCONT)
        _, stderr = up.communicate(timeout=300)
    finally:
        up.kill()
    return up.returncode, stderr


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""


# --- item 9: a write cut short; a folder that cannot be used -----------------------------------------

def _limit_file_size() -> None:
    """Files the child writes stop at 16 bytes, as on a disk that fills up mid-write."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (16, 16))


def test_a_first_up_cut_short_while_saving_secrets_leaves_no_damaged_file(folder: Folder):
    cut_short = subprocess.run([sys.executable, "-m", "streamvault", "stack", "up"], env={**os.environ, **folder.env},
                               capture_output=True, text=True, timeout=300, preexec_fn=_limit_file_size)
    assert cut_short.returncode != 0
    assert "Traceback" not in cut_short.stderr

    later = folder.stack("status")

    assert "Traceback" not in later.stderr, later.stderr
    _assert_nothing_left(folder)


def test_a_damaged_secrets_file_gives_one_clear_line(folder: Folder):
    folder.home.mkdir()
    (folder.home / "secrets.json").write_text("")

    result = folder.stack("status")

    assert "Traceback" not in result.stderr
    assert f"{folder.home / 'secrets.json'} is damaged" in result.stderr


def test_a_state_folder_that_is_a_file_gives_one_clear_line(tmp_path: Path):
    not_a_folder = tmp_path / "home"
    not_a_folder.write_text("")

    result = cli("stack", "up", env={"STREAMVAULT_HOME": str(not_a_folder)})

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: cannot use the stack folder {not_a_folder}: Not a directory ({not_a_folder / 'secrets.json'})"]



@pytest.mark.skipif(os.geteuid() != 0, reason="only under root does PostgreSQL run as another account")
def test_a_state_folder_postgresql_cannot_enter_is_refused_up_front_with_what_to_do():
    """As root, PostgreSQL runs as its own account, which cannot enter a private folder (a `mktemp -d` folder,
    /root, pytest's tmp_path): `up` failed deep inside initdb with `Permission denied`."""
    private = Path(tempfile.mkdtemp(prefix="streamvault-private-"))  # mode 0700, as `mktemp -d` makes it
    home = private / "home"
    folder = Folder(home, {"STREAMVAULT_HOME": str(home), **{variable: str(free_port()) for variable in PORT_VARIABLES}})
    try:
        result = folder.stack("up")

        assert result.returncode == 1
        assert result.stderr.strip().splitlines() == [
            f"Error: PostgreSQL runs as the account postgres, which cannot enter {private} (mode 0700): choose a "
            f"STREAMVAULT_HOME outside it, or let others enter it (chmod o+x {private})"]
        assert not folder.processes()
    finally:
        _clean_up(folder)
        shutil.rmtree(private, ignore_errors=True)
