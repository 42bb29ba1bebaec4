"""Runs the three services as real child processes against the session's stack, and reads back the result.

Each Pipeline has its own topics, consumer groups and database, so tests never see each other's data.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from streamvault import config
from streamvault.kafka import lag
from streamvault.runtime.settings import RuntimeSettings
from streamvault.services import StgSettings
from streamvault.testing.support import cli, free_port, kafka_config, pg_connect

SERVICES = ("stg", "dds", "cdm")
CONNECTION_PREFIXES = ("KAFKA_", "REDIS_", "PG_WAREHOUSE_", "DASHBOARD_PG_")


def service_defaults() -> dict[str, str]:
    """The services' own defaults for what a test Pipeline shortens: benchmarks measure the real thing."""
    fields = {**RuntimeSettings.model_fields, **StgSettings.model_fields}
    return {str(fields[name].validation_alias): str(fields[name].default)
            for name in ("idle_interval_s", "reference_max_age_s", "parked_retry_max_s")}


def read_topic(topic: str, timeout: float = 20) -> list:
    """Every committed message of a topic (read_committed, from the beginning). A reading that does not
    reach the end in time fails: what it found so far (often nothing) must not pass for the topic."""
    consumer = Consumer(kafka_config(**{"group.id": f"reader-{uuid.uuid4().hex}", "enable.auto.commit": False,
                                        "isolation.level": "read_committed"}))
    try:
        deadline = time.monotonic() + timeout
        ends = _ends(topic, deadline)
        partitions = [TopicPartition(topic, p, 0) for p in ends]
        consumer.assign(partitions)
        messages = []

        def at_the_end() -> bool:
            positions = {tp.partition: tp.offset for tp in consumer.position(partitions)}
            return all(positions[p] >= end for p, end in ends.items() if end > 0)

        while not at_the_end():
            assert time.monotonic() < deadline, (f"reading {topic} did not reach its end {ends} in {timeout:g} s "
                                                 f"(an open transaction holds it back?)")
            for message in consumer.consume(1000, 0.5):
                if not message.error():
                    messages.append(message)
        return messages
    finally:
        consumer.close()


@dataclass
class Replica:
    service: str
    index: int
    http_port: int
    log: Path
    process: subprocess.Popen | None = None


@dataclass
class Pipeline:
    database: str
    log_dir: Path
    replicas: int = 1
    partitions: int = 3
    batch_size: int = 2000  # below the services default: more batch boundaries under test
    # Environment on top of the test settings, for the services and `migrate` (e.g. a benchmark's
    # defaults, or PYTHONPATH to run another checkout's code).
    overrides: dict[str, str] = field(default_factory=dict)
    # service -> its own connection settings (the secure stack's principals); the test process's are not passed on.
    logins: dict[str, dict[str, str]] = field(default_factory=dict)
    name: str = field(default_factory=lambda: f"p{uuid.uuid4().hex[:8]}")
    running: dict[tuple[str, int], Replica] = field(default_factory=dict)

    @property
    def source_topic(self) -> str:
        return f"{self.name}.orders"

    def topic(self, service: str) -> str:
        return {"stg": self.source_topic, "dds": f"{self.name}.stg", "cdm": f"{self.name}.dds"}[service]

    def destination(self, service: str) -> str | None:
        return {"stg": f"{self.name}.stg", "dds": f"{self.name}.dds", "cdm": None}[service]

    def dlq(self, service: str) -> str:
        return f"{self.name}.{service}-dlq"

    def group(self, service: str) -> str:
        return f"{self.name}-{service}"

    @staticmethod
    def instance_id(index: int) -> str:
        return f"r{index}"

    def transactional_id(self, service: str, index: int) -> str:
        """The replica's producer's, as the service loop makes it: group and instance id."""
        return f"{self.group(service)}-{self.instance_id(index)}"

    def env(self, service: str, index: int, http_port: int) -> dict[str, str]:
        inherited = {key: value for key, value in os.environ.items()
                     if not (service in self.logins and key.startswith(CONNECTION_PREFIXES))}
        env = {**inherited, **self.logins.get(service, {}), "PG_WAREHOUSE_DBNAME": self.database, "HTTP_PORT": str(http_port),
               "HTTP_HOST": "127.0.0.1", "KAFKA_SOURCE_TOPIC": self.topic(service),
               "KAFKA_CONSUMER_GROUP": self.group(service), "KAFKA_DLQ_TOPIC": self.dlq(service),
               "STREAMVAULT_INSTANCE_ID": self.instance_id(index), "STREAMVAULT_BATCH_SIZE": str(self.batch_size),
               "STREAMVAULT_TOPIC_PARTITIONS": str(self.partitions), "STREAMVAULT_IDLE_INTERVAL_SECONDS": "1",
               "STREAMVAULT_MAX_BACKOFF_SECONDS": "2", "STREAMVAULT_REFERENCE_MAX_AGE_SECONDS": "1",
               "STREAMVAULT_PARKED_RETRY_MAX_SECONDS": "4"}
        destination = self.destination(service)
        if destination:
            env["KAFKA_DESTINATION_TOPIC"] = destination
        return {**env, **self.overrides}

    def verify_env(self) -> dict[str, str]:
        """What `streamvault verify` needs to find this pipeline: its database, and each service's topic and group."""
        env = {"PG_WAREHOUSE_DBNAME": self.database}
        for service in SERVICES:
            env[f"STREAMVAULT_{service.upper()}_TOPIC"] = self.topic(service)
            env[f"STREAMVAULT_{service.upper()}_GROUP"] = self.group(service)
        return env

    # --- processes -------------------------------------------------------------------------

    def prepare(self) -> None:
        """Migrate the database and create every topic with the wanted partition count."""
        result = cli("migrate", env={"PG_WAREHOUSE_DBNAME": self.database, **self.overrides})
        assert result.returncode == 0, result.stderr
        topics = {self.source_topic, *(self.destination(s) for s in SERVICES), *(self.dlq(s) for s in SERVICES)}
        admin = AdminClient(kafka_config())
        futures = admin.create_topics([NewTopic(t, num_partitions=self.partitions) for t in topics if t])
        for future in futures.values():
            future.result()

    def delete_topics(self, extra: tuple[str, ...] = ()) -> None:
        topics = [self.source_topic, *(self.destination(s) for s in SERVICES), *(self.dlq(s) for s in SERVICES),
                  *extra]
        admin = AdminClient(kafka_config())  # must outlive its futures
        for future in admin.delete_topics([t for t in topics if t]).values():
            future.result()

    def start_all(self) -> None:
        for service in SERVICES:
            for index in range(self.replicas):
                self.start(service, index)

    def start(self, service: str, index: int = 0) -> Replica:
        replica = self.running.get((service, index)) or Replica(
            service, index, free_port(), self.log_dir / f"{self.name}-{service}-{index}.log")
        with open(replica.log, "ab") as log:
            replica.process = subprocess.Popen(
                [sys.executable, "-m", "streamvault", "run", service], stdout=log, stderr=subprocess.STDOUT,
                env=self.env(service, index, replica.http_port))
        self.running[(service, index)] = replica
        return replica

    def kill(self, service: str, index: int = 0, sig: int = signal.SIGKILL) -> None:
        replica = self.running[(service, index)]
        replica.process.send_signal(sig)
        replica.process.wait(timeout=60)

    def stop_all(self) -> None:
        for replica in self.running.values():
            if replica.process and replica.process.poll() is None:
                replica.process.send_signal(signal.SIGTERM)
        for replica in self.running.values():
            if replica.process:
                try:
                    replica.process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    replica.process.kill()
                    replica.process.wait()

    def exit_codes(self) -> dict[str, int | None]:
        return {f"{r.service}-{r.index}": r.process.poll() for r in self.running.values() if r.process}

    def url(self, service: str, path: str, index: int = 0) -> str:
        return f"http://127.0.0.1:{self.running[(service, index)].http_port}{path}"

    def probe(self, service: str, path: str, index: int = 0) -> int:
        """HTTP status of a replica's endpoint (0 when it does not answer)."""
        try:
            with urllib.request.urlopen(self.url(service, path, index), timeout=2) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return 0

    def readiness(self, service: str, index: int = 0) -> tuple[int, str | None]:
        """A replica's /ready: its status (0 when it does not answer) and, when not ready, why."""
        try:
            with urllib.request.urlopen(self.url(service, "/ready", index), timeout=2) as response:
                return response.status, None
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read()).get("reason")
        except OSError as exc:
            return 0, f"no answer: {exc}"

    # --- progress --------------------------------------------------------------------------

    def drained(self, parked: int = 0) -> bool:
        """Every service has committed past all committed data of its source, and only what can never
        be completed is parked."""
        if self.parked() != parked:
            return False
        return self.caught_up() and self.parked() == parked

    def caught_up(self) -> bool:
        """Every service has committed past all committed data of its source."""
        return all(_caught_up(self.group(s), self.topic(s)) for s in SERVICES)

    def wait_drained(self, parked: int = 0, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            exited = {name: code for name, code in self.exit_codes().items() if code is not None}
            assert not exited, f"services exited: {exited}; logs: {self.log_dir}"
            try:
                if self.drained(parked):
                    return
            except KafkaException:  # Kafka not answering (yet): not known to be drained, so ask again
                pass
            time.sleep(1)
        caught_up = {s: _caught_up(self.group(s), self.topic(s)) for s in SERVICES}
        raise AssertionError(f"pipeline not drained after {timeout:.0f}s: parked {self.parked()} (expected {parked}), "
                             f"caught up {caught_up}; logs: {self.log_dir}")

    def outlive_reference_cache(self) -> None:
        """STG reuses a Redis record it read for up to STREAMVAULT_REFERENCE_MAX_AGE_SECONDS: after this, a
        record changed in Redis is what the next order sees."""
        time.sleep(float(self.env("stg", 0, 0)["STREAMVAULT_REFERENCE_MAX_AGE_SECONDS"]) + 0.1)

    def parked(self) -> int:
        with pg_connect({**os.environ, "PG_WAREHOUSE_DBNAME": self.database}) as conn:
            return conn.execute("SELECT count(*) FROM stg.parked_orders").fetchone()[0]

    def connect(self):
        return pg_connect({**os.environ, "PG_WAREHOUSE_DBNAME": self.database})

    read_topic = staticmethod(read_topic)


def _ends(topic: str, deadline: float) -> dict[int, int]:
    """Each partition's end (high watermark: not the last stable offset a read_committed client would be told,
    which a transaction left open holds back), once the topic's leaders answer (a topic a moment old: its
    leader is not yet known to every client)."""
    while True:
        try:
            return lag.end_offsets(config.load(config.KafkaSettings), topic)
        except KafkaException as exc:
            if exc.args[0].code() not in lag.LEADER_MOVING or time.monotonic() >= deadline:
                raise
            time.sleep(0.1)


def _caught_up(group: str, topic: str) -> bool:
    """Reading from the group's committed offsets finds no committed data (aborted data and markers skip)."""
    return lag.caught_up(config.load(config.KafkaSettings), group, topic)
