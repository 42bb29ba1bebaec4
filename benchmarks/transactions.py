"""Back-to-back Kafka transactions: what a busy service's next batch waits for at the coordinator.

A service that is never idle begins its next transaction right after committing the last. The coordinator
may still be writing the last one's commit markers and answers the new transaction's first request
(AddPartitionsToTxn, AddOffsetsToTxn) with CONCURRENT_TRANSACTIONS; the client retries after
`retry.backoff.ms`. This runs the same loop of transactions (produce to three partitions, send the
offsets, commit) with the services' producer settings (kafka/clients.py) and, alternating round by
round, with librdkafka's default backoff of 100 ms as the baseline. Prints one JSON object: per
producer the transaction time p50/p95/p99/max in ms and the coordinator requests retried (from
librdkafka's statistics: AddPartitionsToTxn and AddOffsetsToTxn requests beyond one per transaction).
Usage: `make bench` (or `streamvault stack up` then this script).
"""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from streamvault import config
from streamvault.kafka.clients import transactional_config
from streamvault.testing.probes import percentiles
from streamvault.testing.support import kafka_config, load_stack_env

LIBRDKAFKA_DEFAULT_BACKOFF_MS = 100
FIRST_REQUESTS = ("AddPartitionsToTxn", "AddOffsetsToTxn")


def run_round(producer_config: dict, topic: str, source: str, group: Consumer, transactions: int,
              messages: int, gap_s: float) -> tuple[list[float], int]:
    """Transaction times in ms, and the coordinator requests beyond one of each kind per transaction."""
    latest: dict[str, str] = {}  # librdkafka's newest statistics (cumulative counts)
    producer = Producer({**producer_config, "statistics.interval.ms": 1000,
                         "stats_cb": lambda raw: latest.update(json=raw)})
    producer.init_transactions(30)
    times = []
    for offset in range(transactions):
        started = time.perf_counter()
        producer.begin_transaction()
        for key in range(messages):
            producer.produce(topic, key=str(key).encode(), value=b"x" * 200)
        producer.send_offsets_to_transaction([TopicPartition(source, 0, offset)], group.consumer_group_metadata(), 30)
        producer.commit_transaction(30)
        times.append((time.perf_counter() - started) * 1000)
        time.sleep(gap_s)
    time.sleep(1.2)
    producer.poll(0.5)  # serves the last statistics
    requests = json.loads(latest["json"])["brokers"]
    sent = sum(broker.get("req", {}).get(name, 0) for broker in requests.values() for name in FIRST_REQUESTS)
    return times, sent - len(FIRST_REQUESTS) * transactions


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--transactions", type=int, default=300, help="per producer and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--messages", type=int, default=30, help="per transaction")
    parser.add_argument("--gap-ms", type=float, default=0, help="pause between a commit and the next begin")
    args = parser.parse_args()

    load_stack_env()
    admin = AdminClient(kafka_config())
    name = f"bench-txn-{uuid.uuid4().hex[:8]}"
    topic, source = name, f"{name}-source"
    for future in admin.create_topics([NewTopic(topic, 3), NewTopic(source, 1)]).values():
        future.result()
    group = Consumer(kafka_config(**{"group.id": name}))
    services = transactional_config(config.from_variables(config.KafkaSettings, dict(os.environ)), name, 1_000_000)
    producers = {"services": services,
                 "librdkafka_default_backoff": {**services, "retry.backoff.ms": LIBRDKAFKA_DEFAULT_BACKOFF_MS}}
    times: dict[str, list[float]] = {label: [] for label in producers}
    retried = dict.fromkeys(producers, 0)
    try:
        for _ in range(args.rounds):
            for label, producer_config in producers.items():
                round_times, round_retried = run_round(producer_config, topic, source, group, args.transactions,
                                                       args.messages, args.gap_ms / 1000)
                times[label] += round_times
                retried[label] += round_retried
    finally:
        group.close()
        admin.delete_topics([topic, source])
    print(json.dumps({
        "benchmark": "transactions",
        "transactions": len(times["services"]),
        "messages_per_transaction": args.messages,
        "gap_ms": args.gap_ms,
        "backoff_ms": {label: producer_config["retry.backoff.ms"] for label, producer_config in producers.items()},
        "ms": {label: percentiles(values) for label, values in times.items()},
        "coordinator_requests_retried": retried,
    }))


if __name__ == "__main__":
    main()
