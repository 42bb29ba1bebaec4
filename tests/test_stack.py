"""The local stack: real servers that start idempotently, report health and keep their data."""

from __future__ import annotations

import json
import time
import uuid

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic, ResourceType
from psycopg import sql as pgsql

from streamvault.stack import Stack, process
from streamvault.stack.kafka import CLEANER_KEY_MAP_BYTES
from streamvault.stack.postgres import huge_pages_hint, server_settings, shared_buffers
from streamvault.testing.pipeline import read_topic
from streamvault.testing.support import cli, kafka_config, pg_admin, pg_connect, poll_all, redis_client, wait_for


def test_status_json_reports_three_healthy_servers(stack: Stack):
    result = cli("stack", "status", "--json")
    servers = json.loads(result.stdout)
    assert result.returncode == 0, result.stderr
    assert sorted(server["name"] for server in servers) == ["kafka", "postgres", "redis"]
    assert all(server["healthy"] is True and server["pid"] for server in servers)


def test_up_is_idempotent(stack: Stack):
    pids = {server["name"]: server["pid"] for server in stack.status()}
    result = cli("stack", "up")
    assert result.returncode == 0, result.stderr
    assert {server["name"]: server["pid"] for server in stack.status()} == pids


def test_env_file_configures_clients(stack: Stack):
    env = dict(line.split("=", 1) for line in stack.env_file.read_text().splitlines())
    assert env["PG_WAREHOUSE_PORT"] == str(stack.settings.pg_port)
    assert env["KAFKA_PORT"] == str(stack.settings.kafka_port)
    with pg_connect(env) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_data_survives_down_and_up(stack: Stack):
    env = stack.env()
    marker = uuid.uuid4().hex
    topic = f"persist-{marker}"
    with pg_connect(env, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS persist_check (marker text)")
        conn.execute("INSERT INTO persist_check VALUES (%s)", [marker])
    redis_client(env).set(f"persist:{marker}", marker)
    producer = Producer(kafka_config(env, acks="all"))
    producer.produce(topic, value=marker.encode())
    assert producer.flush(30) == 0

    stack.down()
    assert all(not server["running"] for server in stack.status())
    stack.up()

    with pg_connect(env) as conn:
        assert conn.execute("SELECT count(*) FROM persist_check WHERE marker = %s", [marker]).fetchone() == (1,)
    assert redis_client(env).get(f"persist:{marker}") == marker.encode()
    consumer = Consumer(kafka_config(env, **{"group.id": marker, "auto.offset.reset": "earliest"}))
    consumer.subscribe([topic])
    try:
        values = [m.value() for m in poll_all(consumer, expected=1)]
    finally:
        consumer.close()
    assert values == [marker.encode()]


def test_postgresql_runs_with_the_settings_of_a_write_heavy_load_on_random_keys(stack: Stack):
    """Checkpoints every 1 GB of WAL made each one a storm of full-page images, and a vault grown past its
    shared buffers evicted dirty pages in every batch (docs/performance.md)."""
    expected = server_settings()
    with pg_admin() as pg:
        settings = {name: pg.execute(pgsql.SQL("SHOW {}").format(pgsql.Identifier(name))).fetchone()[0]
                    for name in expected}
    assert settings == expected


def test_the_broker_compacts_with_a_32_mb_key_map_not_a_quarter_of_its_heap(stack: Stack):
    """The log cleaner keeps the internal topics (offsets, transactions) compacted with a key map on the heap;
    128 MB by default, 32 MB here (stack/kafka.py). The cleaner still compacts: only a key's latest value
    stays once its segment has rolled."""
    admin = AdminClient(kafka_config())
    broker = ConfigResource(ResourceType.BROKER, "1")
    configured = admin.describe_configs([broker])[broker].result()["log.cleaner.dedupe.buffer.size"].value
    assert configured == str(CLEANER_KEY_MAP_BYTES) == "33554432"

    topic = f"compacted-{uuid.uuid4().hex[:8]}"
    settings = {"cleanup.policy": "compact", "segment.ms": "100", "min.cleanable.dirty.ratio": "0.01"}
    admin.create_topics([NewTopic(topic, 1, 1, config=settings)])[topic].result()
    producer = Producer(kafka_config())
    for segment in range(3):  # a segment rolls when a message comes more than segment.ms after its first
        for n in range(50):
            producer.produce(topic, key=b"k", value=f"{segment}-{n}".encode())
        producer.flush(10)
        time.sleep(0.3)
    producer.produce(topic, key=b"k", value=b"last")  # the active segment, never cleaned
    producer.flush(10)

    def values() -> list[bytes]:
        return [message.value() for message in read_topic(topic)]

    wait_for(lambda: len(values()) == 2, "the cleaner to compact the rolled segments", timeout=120)
    assert values() == [b"2-49", b"last"]


def test_postgresql_gets_a_quarter_of_the_memory_for_its_shared_buffers_in_the_unit_show_prints():
    assert shared_buffers(24 * 2**30) == "6GB"
    assert shared_buffers(16 * 2**30 - 1) == "3968MB"  # whole 128 MB steps, never more than a quarter
    assert shared_buffers(2**28) == "128MB"  # PostgreSQL's own default as the least


def test_stack_up_says_how_many_huge_pages_postgresql_would_take_when_it_has_none(stack: Stack):
    """The stack never changes a setting of the whole machine; it says what would help (docs/deploy.md)."""
    with pg_admin() as pg:  # pg_settings gives MB; SHOW prints the largest unit that divides the size ("6GB")
        settings = dict(pg.execute("SELECT name, setting::int FROM pg_settings WHERE name IN "
                                   "('shared_memory_size', 'shared_memory_size_in_huge_pages')").fetchall())
    shared_mb, needed = settings["shared_memory_size"], settings["shared_memory_size_in_huge_pages"]
    postgres = next(server for server in stack.status() if server["name"] == "postgres")
    result = cli("stack", "up")
    assert result.returncode == 0, result.stderr
    if process.huge_pages_kb(postgres["pid"]) > 0 or shared_mb < 1024:  # it has them, or they would not matter
        assert "huge pages" not in result.stderr
    else:
        assert f"its {shared_mb} MB of shared memory is in 4 kB pages" in result.stderr
        assert result.stderr.count(f"sysctl vm.nr_hugepages={needed}\n") == 1


def test_the_huge_pages_hint_is_only_for_large_shared_memory_not_yet_in_huge_pages():
    assert "vm.nr_hugepages=3086" in huge_pages_hint(6171 * 1024, 0, 3086)
    assert huge_pages_hint(6171 * 1024, 6172 * 1024, 3086) is None  # PostgreSQL took them
    assert huge_pages_hint(143 * 1024, 0, 72) is None  # 128 MB of buffers: not worth a machine setting
