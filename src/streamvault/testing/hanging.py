"""A transaction no coordinator knows, written on purpose: what issue 12's rare failure left in a partition.

A transactional batch goes straight to the partition's leader, from a producer id no transaction coordinator
ever saw in a transaction and without AddPartitionsToTxn, so that nothing but an abort marker written to
the partition ends it. Brokers since Kafka 3.6 check such a write with the coordinator (transaction
verification, KIP-890) and refuse it, so verification is switched off for the moment of the write: the hole a
broker that skipped the check, or an older broker, leaves open.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, ResourceType

from streamvault.config import KafkaSettings
from streamvault.kafka.transactions import admin_config

VERIFICATION = "transaction.partition.verification.enable"


def write_hanging_transaction(settings: KafkaSettings, topic: str, partition: int, value: bytes) -> int:
    """Writes `value` to `topic[partition]` in a transaction no coordinator knows; returns its offset."""
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(**admin_config(settings))
    try:
        with verification_off(settings):
            return admin._manager.run(_write, admin, topic, partition, value)
    finally:
        admin.close()


async def _write(admin, topic: str, partition: int, value: bytes) -> int:
    from kafka import TopicPartition
    from kafka.protocol.producer.produce import ProduceRequest
    from kafka.protocol.producer.transaction import InitProducerIdRequest
    from kafka.record.default_records import DefaultRecordBatchBuilder

    # An idempotent producer id: InitProducerId without a transactional id.
    init = await admin._manager.send(InitProducerIdRequest(transactional_id=None, transaction_timeout_ms=60000,
                                                           producer_id=-1, producer_epoch=-1))
    assert init.error_code == 0, init
    batch = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=True,
                                      producer_id=init.producer_id, producer_epoch=init.producer_epoch,
                                      base_sequence=0, batch_size=1 << 20)
    batch.append(0, timestamp=None, key=None, value=value, headers=[])
    data = ProduceRequest.TopicProduceData
    # Version 11: from 12 on it is a transactions-v2 client's request, whose partitions the leader adds itself.
    request = ProduceRequest(transactional_id="streamvault-test-unknown-to-any-coordinator", acks=-1,
                             timeout_ms=10000, topic_data=[data(name=topic, partition_data=[
                                 data.PartitionProduceData(index=partition, records=bytes(batch.build()))])],
                             version=11)
    leaders = await admin._async_get_leader_for_partitions([TopicPartition(topic, partition)])
    # Refused (the write is not verified) until the leader has applied the setting: the same write again.
    deadline = time.monotonic() + 30
    while True:
        response = await admin._manager.send(request, node_id=next(iter(leaders)))
        written = response.responses[0].partition_responses[0]
        if written.error_code == 0 or time.monotonic() > deadline:
            break
        await admin._net.sleep(0.2)  # kafka-python's own event loop: asyncio's sleep has none to run in
    assert written.error_code == 0, written
    return written.base_offset


@contextmanager
def verification_off(settings: KafkaSettings) -> Iterator[None]:
    """Every broker's transaction verification off (a dynamic setting, per broker), then back to its default."""
    admin = AdminClient(settings.client_config())
    brokers = [str(node) for node in admin.list_topics(timeout=30).brokers]

    def alter(operation: AlterConfigOpType, value: str | None) -> None:
        entry = ConfigEntry(VERIFICATION, value, incremental_operation=operation)
        resources = [ConfigResource(ResourceType.BROKER, broker, incremental_configs=[entry]) for broker in brokers]
        for future in admin.incremental_alter_configs(resources).values():
            future.result(30)

    alter(AlterConfigOpType.SET, "false")
    try:
        yield
    finally:
        alter(AlterConfigOpType.DELETE, None)
