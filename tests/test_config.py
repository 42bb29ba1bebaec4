"""Bad or missing settings fail at start with one line naming each variable, never a traceback; the local
stack's env file fills in a server only when the environment names none of its connection settings."""

from __future__ import annotations

import os
import shlex

import pytest

from streamvault import config
from streamvault.testing.support import cli


def test_an_invalid_port_names_the_variable_in_one_line(stack):
    result = cli("migrate", env={"PG_WAREHOUSE_PORT": "abc"})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "PG_WAREHOUSE_PORT='abc'" in lines[0]
    assert "Traceback" not in result.stderr


def test_each_missing_variable_gets_its_own_line(tmp_path):
    result = cli("migrate", env={"STREAMVAULT_HOME": str(tmp_path), "PG_WAREHOUSE_PORT": "x"},
                 unset=("PG_WAREHOUSE_HOST", "PG_WAREHOUSE_DBNAME"))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert sorted(result.stderr.strip().splitlines()) == [
        "streamvault: configuration error: PG_WAREHOUSE_DBNAME is not set",
        "streamvault: configuration error: PG_WAREHOUSE_HOST is not set",
        "streamvault: configuration error: PG_WAREHOUSE_PORT='x' is invalid: "
        "Input should be a valid integer, unable to parse string as an integer",
    ]


# The env file `streamvault stack up` writes for the local stack (a password and no TLS on loopback).
LOCAL_STACK = {"KAFKA_HOST": "127.0.0.1", "KAFKA_PORT": "19092", "KAFKA_SECURITY_PROTOCOL": "PLAINTEXT",
               "PG_WAREHOUSE_HOST": "127.0.0.1", "PG_WAREHOUSE_PORT": "15432", "PG_WAREHOUSE_DBNAME": "streamvault",
               "PG_WAREHOUSE_USER": "streamvault", "PG_WAREHOUSE_PASSWORD": "local-secret",
               "PG_WAREHOUSE_SSLMODE": "disable",
               "REDIS_HOST": "127.0.0.1", "REDIS_PORT": "16379", "REDIS_PASSWORD": "local-secret"}


@pytest.fixture
def local_stack_env_file(tmp_path, monkeypatch) -> None:
    """A local stack's env file, and an environment with no server variable of its own."""
    (tmp_path / "env").write_text("".join(f"{key}={shlex.quote(value)}\n" for key, value in LOCAL_STACK.items()))
    monkeypatch.setenv("STREAMVAULT_HOME", str(tmp_path))
    for key in os.environ:
        if key.upper().startswith(("KAFKA_", "PG_WAREHOUSE_", "REDIS_")):
            monkeypatch.delenv(key)


def test_with_no_server_variable_set_the_local_stacks_env_file_is_used(local_stack_env_file, monkeypatch):
    monkeypatch.setenv("KAFKA_SOURCE_TOPIC", "orders")  # where to read, not which server: the file still applies
    pg, kafka = config.load(config.PgSettings), config.load(config.KafkaSettings)
    assert (pg.host, pg.port, pg.password, pg.sslmode) == ("127.0.0.1", 15432, "local-secret", "disable")
    assert (kafka.bootstrap_servers, kafka.source_topic) == ("127.0.0.1:19092", "orders")


def test_a_remote_warehouse_in_the_environment_gets_neither_the_local_password_nor_sslmode_disable(
        local_stack_env_file, monkeypatch):
    """With only the remote address and login exported, gaps were filled from the file: its password, no TLS."""
    for key, value in {"PG_WAREHOUSE_HOST": "warehouse.example.net", "PG_WAREHOUSE_PORT": "6432",
                       "PG_WAREHOUSE_USER": "loader", "PG_WAREHOUSE_DBNAME": "dwh"}.items():
        monkeypatch.setenv(key, value)
    pg = config.load(config.PgSettings)
    assert (pg.host, pg.password, pg.sslmode) == ("warehouse.example.net", "", "prefer")


def test_a_remote_redis_in_the_environment_gets_no_local_password(local_stack_env_file, monkeypatch):
    monkeypatch.setenv("REDIS_HOST", "redis.example.net")
    monkeypatch.setenv("REDIS_PORT", "6380")
    assert config.load(config.RedisSettings).password is None


def test_a_server_half_set_in_the_environment_names_what_is_missing_instead_of_mixing_in_the_local_one(
        local_stack_env_file, monkeypatch):
    monkeypatch.setenv("KAFKA_HOST", "kafka.example.net")
    with pytest.raises(config.SettingsError) as raised:
        config.load(config.KafkaSettings)
    assert raised.value.lines == ["KAFKA_PORT is not set"]


@pytest.mark.parametrize("command", [("status",), ("migrate",)])
def test_with_no_local_stack_and_no_variables_a_command_says_how_to_get_a_stack(tmp_path, command):
    """A newcomer's first command: not a missing variable, but the two ways to give it servers."""
    result = cli(*command, env={"STREAMVAULT_HOME": str(tmp_path / "home")},
                 unset=tuple(key for key in os.environ if key.upper().startswith(("KAFKA_", "PG_WAREHOUSE_", "REDIS_"))))
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"streamvault: no local stack in {tmp_path / 'home'}: run `streamvault stack up`, or set ")
    assert not (tmp_path / "home").exists()
