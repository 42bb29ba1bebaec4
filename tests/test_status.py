"""Lag as the services experience it, and `streamvault status`, against the session's real servers."""

from __future__ import annotations

import json
import uuid

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from streamvault import config
from streamvault.kafka.lag import caught_up, committed_messages, partition_lags
from streamvault.testing.support import cli, free_port, kafka_config


def _topic(partitions: int) -> str:
    topic = f"lag-{uuid.uuid4().hex}"
    admin = AdminClient(kafka_config())  # kept alive until the creation is done
    for future in admin.create_topics([NewTopic(topic, num_partitions=partitions)]).values():
        future.result()
    return topic


def _transaction(topic: str, messages: dict[int, int], *, commit: bool) -> None:
    """`messages[p]` messages to partition p in one transaction, committed or aborted."""
    producer = Producer(kafka_config(**{"transactional.id": f"test-{uuid.uuid4().hex}"}))
    producer.init_transactions(60)
    producer.begin_transaction()
    for partition, count in messages.items():
        for index in range(count):
            producer.produce(topic, value=f"{partition}-{index}".encode(), partition=partition)
    producer.flush()
    if commit:
        producer.commit_transaction(60)
    else:
        producer.abort_transaction(60)


def _commit(group: str, offsets: list[TopicPartition]) -> None:
    consumer = Consumer(kafka_config(**{"group.id": group, "enable.auto.commit": False}))
    try:
        consumer.commit(offsets=offsets, asynchronous=False)
    finally:
        consumer.close()


def test_a_group_past_every_committed_message_is_caught_up_though_markers_and_aborted_data_follow(stack):
    settings, group = config.load(config.KafkaSettings), f"g-{uuid.uuid4().hex}"
    topic = _topic(partitions=2)
    _transaction(topic, {0: 3, 1: 2}, commit=True)  # p0: data 0-2, marker 3; p1: data 0-1, marker 2
    _transaction(topic, {0: 2}, commit=False)  # p0: aborted data 4-5, marker 6

    before = partition_lags(settings, group, topic)
    assert [(p.partition, p.committed, p.end, p.caught_up, p.lag) for p in before] == [
        (0, None, 7, False, 7), (1, None, 3, False, 3)]
    assert not caught_up(settings, group, topic)

    _commit(group, [TopicPartition(topic, 0, 2), TopicPartition(topic, 1, 2)])  # p0: one message left
    partly = partition_lags(settings, group, topic)
    assert [(p.partition, p.committed, p.caught_up, p.lag) for p in partly] == [(0, 2, False, 5), (1, 2, True, 0)]

    _commit(group, [TopicPartition(topic, 0, 3)])  # what a service commits after the last message
    after = partition_lags(settings, group, topic)
    assert [(p.partition, p.committed, p.end, p.caught_up, p.lag) for p in after] == [
        (0, 3, 7, True, 0), (1, 2, 3, True, 0)]
    assert caught_up(settings, group, topic)
    assert committed_messages(settings, topic) == 5



def test_a_group_is_not_caught_up_while_an_open_transaction_holds_data_it_may_have_to_read(stack):
    """A read_committed reader sees the end of a partition at its last stable offset: a transaction left
    open (a producer that stalled, or one no coordinator will ever end: a hanging transaction) must not
    pass for the end, or `status` says drained while a service waits behind it."""
    settings, group = config.load(config.KafkaSettings), f"g-{uuid.uuid4().hex}"
    topic = _topic(partitions=1)
    producer = Producer(kafka_config(**{"transactional.id": f"test-{uuid.uuid4().hex}"}))
    producer.init_transactions(60)
    producer.begin_transaction()
    producer.produce(topic, value=b"pending", partition=0)
    producer.flush()

    [open_] = partition_lags(settings, group, topic)
    assert (open_.end, open_.caught_up, open_.lag) == (1, False, 1)
    assert not caught_up(settings, group, topic)

    producer.abort_transaction(60)  # the data is gone for read_committed readers: nothing left to read
    assert caught_up(settings, group, topic)

def test_a_topic_that_does_not_exist_has_nothing_to_catch_up_on(stack):
    settings = config.load(config.KafkaSettings)
    topic = f"missing-{uuid.uuid4().hex}"
    assert partition_lags(settings, "nobody", topic) == []
    assert caught_up(settings, "nobody", topic)
    assert committed_messages(settings, topic) == 0


def _service_urls() -> dict[str, str]:
    """Nothing listens there: every service is down."""
    return {f"STREAMVAULT_{key}_URL": f"http://127.0.0.1:{free_port()}" for key in ("STG", "DDS", "CDM")}


def test_status_counts_each_layer_and_reports_services_that_are_down(empty_database):
    assert cli("migrate").returncode == 0
    group = f"g-{uuid.uuid4().hex}"
    result = cli("status", "--json", env={**_service_urls(), "KAFKA_CONSUMER_GROUP": group,
                                          "KAFKA_SOURCE_TOPIC": f"missing-{uuid.uuid4().hex}"})
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["healthy"] is False
    assert report["layers"]["stg"] == {"order_events": 0}
    assert set(report["layers"]["dds"]) >= {"h_order", "h_user", "h_product", "l_order_product", "s_order_status"}
    assert report["layers"]["cdm"] == {"user_product_counters": 0, "user_category_counters": 0}
    assert report["parked"] == 0
    assert {key: (s["name"], s["health"], s["group"], s["lag"]) for key, s in report["services"].items()} == {
        "stg": ("stg-service", "down", group, 0), "dds": ("dds-service", "down", group, 0),
        "cdm": ("cdm-service", "down", group, 0)}
    assert sorted(report["problems"]) == sorted(f"{s}-service: down ({report['services'][s]['url']}/ready)"
                                                for s in ("stg", "dds", "cdm"))

    table = cli("status", env=_service_urls())
    assert table.returncode == 1
    assert "stg-service" in table.stdout and "down" in table.stdout and "parked orders" in table.stdout


def test_status_reports_servers_that_do_not_answer_instead_of_failing(stack):
    result = cli("status", "--json", env={**_service_urls(), "KAFKA_PORT": str(free_port()),
                                          "PG_WAREHOUSE_PORT": str(free_port())})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    assert report["layers"] == {} and report["parked"] is None
    assert [s["lag"] for s in report["services"].values()] == [None, None, None]
    assert any(problem.startswith("postgresql ") for problem in report["problems"])
    assert any(problem.startswith("kafka ") for problem in report["problems"])
