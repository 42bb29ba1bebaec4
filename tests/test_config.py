"""Bad or missing settings fail at start with one line naming each variable, never a traceback."""

from __future__ import annotations

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
