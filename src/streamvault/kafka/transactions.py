"""Ending a transaction that no producer will end: KIP-664's abort, as `kafka-transactions.sh abort
--start-offset` does it.

The partition's leader names the producers with a transaction open on it (DescribeProducers); the one whose
transaction begins at the held offset is aborted by an abort marker the leader writes (WriteTxnMarkers).
Only if no transaction coordinator still has a transaction of that producer open on the partition: that one
its coordinator will end (it may even be committed already, its markers not yet written), and an abort from
here would drop what it committed. A coordinator that cannot answer (a partition of the transaction log
without a leader, one still loading it, a broker that does not reply) is taken as one that may have it open.
librdkafka has no call for any of these yet (confluentinc/librdkafka#5497), so these requests go through
kafka-python's admin client, with the same servers, login and TLS as every other client of the service.
The brokers must let that login do it (the ClusterAction permission): a managed cluster usually will not,
and then the operator runs the command the service names (docs/deploy.md).
"""

from __future__ import annotations

import logging

from streamvault.config import KafkaSettings

# kafka-python logs every connection it opens at INFO: the service logs the outcome once instead.
logging.getLogger("kafka").setLevel(logging.WARNING)

TRANSACTION_LOG = "__transaction_state"
_OPEN = ("Ongoing", "PrepareCommit", "PrepareAbort", "PrepareEpochFence")  # a coordinator's states of a live one


def abort_open_transaction(settings: KafkaSettings, topic: str, partition: int, start_offset: int) -> str:
    """Aborts the transaction that begins at `start_offset` of `topic[partition]`; says whose it was."""
    from kafka import KafkaAdminClient, TopicPartition
    from kafka.admin import AbortTransactionSpec

    admin = KafkaAdminClient(**admin_config(settings))
    try:
        where = TopicPartition(topic, partition)
        producers = admin.describe_producers([where])[where].active_producers
        owner = next((p for p in producers if p.current_transaction_start_offset == start_offset), None)
        if owner is None:
            raise LookupError(f"no producer has a transaction open at {topic}[{partition}] offset {start_offset}")
        all_coordinators_answer(settings)
        still_open = coordinators_open(admin, owner.producer_id, where)
        if still_open:
            raise StillOpen(f"its coordinator has the transaction of producer id {owner.producer_id} on "
                            f"{topic}[{partition}] open ({still_open}) and will end it")
        admin.abort_transaction(AbortTransactionSpec(where, owner.producer_id, owner.producer_epoch,
                                                     max(owner.coordinator_epoch, 0)))
        return f"producer id {owner.producer_id}, epoch {owner.producer_epoch}"
    finally:
        admin.close()


class StillOpen(Exception):
    """A coordinator still has the transaction open, or may have: not one to abort."""


def all_coordinators_answer(settings: KafkaSettings) -> None:
    """Every partition of the transaction log has a leader, so every coordinator can be asked."""
    from confluent_kafka.admin import AdminClient

    log = AdminClient(settings.client_config()).list_topics(TRANSACTION_LOG, timeout=15).topics.get(TRANSACTION_LOG)
    if log is None or log.error is not None or not log.partitions:
        raise StillOpen(f"the transaction log {TRANSACTION_LOG} is not described ({log and log.error})")
    leaderless = sorted(number for number, partition in log.partitions.items() if partition.leader < 0)
    if leaderless:
        raise StillOpen(f"{len(leaderless)} partitions of the transaction log have no leader: their coordinators "
                        "cannot say what they have open")


def coordinators_open(admin, producer_id: int, where) -> str:
    """The states of the open transactions of `producer_id` that include the partition `where`, by their
    coordinators (every broker is asked: one that does not answer fails the call, and nothing is aborted)."""
    listed = admin.list_transactions(producer_id_filters=[producer_id], state_filters=list(_OPEN))
    ids = sorted({listing.transactional_id for listings in listed.values() for listing in listings})
    described = admin.describe_transactions(ids).values() if ids else ()
    return ", ".join(f"{d.state.value} (epoch {d.producer_epoch})" for d in described
                     if d.state.value in _OPEN and where in d.topic_partitions)


def admin_config(settings: KafkaSettings) -> dict[str, object]:
    """kafka-python's names for what `KafkaSettings.client_config` gives librdkafka."""
    config: dict[str, object] = {"bootstrap_servers": settings.bootstrap_servers.split(","),
                                 "security_protocol": settings.security_protocol,
                                 "client_id": "streamvault-transaction-abort", "request_timeout_ms": 15000}
    if settings.security_protocol.startswith("SASL"):
        config |= {"sasl_mechanism": settings.sasl_mechanism, "sasl_plain_username": settings.consumer_username,
                   "sasl_plain_password": settings.consumer_password}
    if settings.ssl_ca_location:
        config |= {"ssl_cafile": settings.ssl_ca_location, "ssl_check_hostname": True}
    return config
