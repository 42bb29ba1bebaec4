"""Apache Kafka in KRaft mode: one combined broker + controller, or a cluster of them, from jars fetched by Maven."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from dataclasses import dataclass
from importlib import resources

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from streamvault.stack.server import Server
from streamvault.stack.settings import Secrets, StackSettings

# Every internal topic gets the cluster's replication factor and min ISR: with one broker they must be 1,
# otherwise transactions (and consumer offsets) never become available.
SERVER_PROPERTIES = """
process.roles=broker,controller
node.id={node_id}
controller.quorum.voters={voters}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs={data_dir}
num.partitions=3
auto.create.topics.enable=true
offsets.topic.replication.factor={replication}
offsets.topic.num.partitions=3
transaction.state.log.replication.factor={replication}
transaction.state.log.min.isr={min_isr}
transaction.state.log.num.partitions=3
share.coordinator.state.topic.replication.factor={replication}
share.coordinator.state.topic.min.isr={min_isr}
min.insync.replicas={min_isr}
default.replication.factor={replication}
group.initial.rebalance.delay.ms=0
log.retention.hours=168
num.network.threads=2
num.io.threads=2
background.threads=2
"""


@dataclass(frozen=True)
class Broker:
    """One combined broker + controller: its node id, its ports and the folder name under the stack's home."""

    node_id: int
    port: int
    controller_port: int
    name: str


def brokers(settings: StackSettings) -> list[Broker]:
    """A single broker keeps the folder `kafka`; broker n of a cluster has `kafka-n` and ports 2(n-1) higher."""
    count = settings.kafka_brokers or 1
    if count == 1:
        return [Broker(1, settings.kafka_port, settings.kafka_controller_port, "kafka")]
    return [Broker(n, settings.kafka_port + 2 * (n - 1), settings.kafka_controller_port + 2 * (n - 1), f"kafka-{n}")
            for n in range(1, count + 1)]


def replication(cluster: list[Broker]) -> tuple[int, int]:
    """Replication factor and min.insync.replicas: 3 and 2 as on a managed cluster, fewer with fewer brokers
    (a single broker must accept 1 and 1; two keep accepting writes with one of them down)."""
    factor = min(3, len(cluster))
    return factor, max(1, factor - 1)


LOG4J2 = """
Configuration:
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: WARN
      AppenderRef:
        - ref: STDOUT
    Logger:
      - name: kafka.server
        level: INFO
"""


class Kafka(Server):
    """One broker of the stack's cluster (by default: the single broker of `settings`)."""

    name = "kafka"
    start_timeout = 120.0

    def __init__(self, settings: StackSettings, secrets: Secrets, broker: Broker | None = None):
        self.cluster = brokers(settings)
        self.broker = broker or self.cluster[0]
        self.name = self.broker.name
        super().__init__(settings, secrets)
        # One copy of the jars: a single broker's in its folder, a cluster's beside its brokers' folders.
        self.libs_dir = settings.home / "kafka" / "libs" if len(self.cluster) == 1 else settings.home / "kafka-libs"
        self.data_dir = self.dir / "data"
        self.properties = self.dir / "server.properties"

    @property
    def port(self) -> int:
        return self.broker.port

    def ports(self) -> dict[str, int]:
        """With several brokers, the variables name the first broker's ports, from which the others follow."""
        return {"STREAMVAULT_KAFKA_PORT": self.port, "STREAMVAULT_KAFKA_CONTROLLER_PORT": self.broker.controller_port}

    def _java(self, main: str, *args: str, heap: str = "256m") -> list[str]:
        java = shutil.which("java") or "java"
        return [java, f"-Xmx{heap}", f"-Xms{heap}", "-XX:+UseG1GC", "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile={self.dir / 'log4j2.yaml'}",
                "-cp", f"{self.libs_dir}/*", main, *args]

    def install_jars(self) -> None:
        """Copy the broker's jars from Maven (cached in ~/.m2) unless the pom is unchanged."""
        pom = resources.files("streamvault.stack").joinpath("pom.xml")
        digest = hashlib.sha256(pom.read_bytes()).hexdigest()
        stamp = self.libs_dir / ".pom-sha256"
        if stamp.is_file() and stamp.read_text() == digest:
            return
        shutil.rmtree(self.libs_dir, ignore_errors=True)
        with resources.as_file(pom) as pom_path:
            result = subprocess.run(
                ["mvn", "-B", "-q", "-f", str(pom_path), "dependency:copy-dependencies",
                 "-DincludeScope=runtime", f"-DoutputDirectory={self.libs_dir}"],
                capture_output=True, text=True,
            )
        if result.returncode != 0:
            raise RuntimeError(f"Maven could not fetch the Kafka broker:\n{result.stdout}{result.stderr}")
        stamp.write_text(digest)

    def prepare(self) -> None:
        self.install_jars()
        (self.dir / "log4j2.yaml").write_text(LOG4J2)
        factor, min_isr = replication(self.cluster)
        voters = ",".join(f"{b.node_id}@127.0.0.1:{b.controller_port}" for b in self.cluster)
        self.properties.write_text(SERVER_PROPERTIES.format(
            node_id=self.broker.node_id, voters=voters, port=self.port, controller_port=self.broker.controller_port,
            data_dir=self.data_dir, replication=factor, min_isr=min_isr))
        if (self.data_dir / "meta.properties").exists():
            return
        result = subprocess.run(
            # `--option=value`: a value is never parsed as an option, even one that starts with `-`.
            self._java("kafka.tools.StorageTool", "format", "--ignore-formatted",
                       f"--cluster-id={self.secrets.kafka_cluster_id}", f"--config={self.properties}"),
            capture_output=True, text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"formatting Kafka storage failed:\n{result.stdout}{result.stderr}")

    def command(self) -> list[str]:
        heap = self.settings.kafka_heap or ("512m" if len(self.cluster) == 1 else "384m")
        return self._java("kafka.Kafka", str(self.properties), heap=heap)

    def healthy(self) -> bool:
        # log_level 0: connection-refused noise while the broker starts is expected, not news.
        admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{self.port}", "socket.timeout.ms": 2000,
                             "log_level": 0})
        try:
            metadata = admin.list_topics(timeout=2)
        except KafkaException:
            return False
        # Our cluster, not another broker that holds the port while ours failed to bind it; and this broker
        # registered in it.
        return self.broker.node_id in metadata.brokers and metadata.cluster_id == self.secrets.kafka_cluster_id

    def env(self) -> dict[str, str]:
        """The same for every broker of the cluster: the first one's address, and all of them to bootstrap
        from, so that a client starting while one broker is down still finds the cluster."""
        first = self.cluster[0].port
        env = {"KAFKA_HOST": "127.0.0.1", "KAFKA_PORT": str(first), "KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"}
        if len(self.cluster) > 1:
            env["KAFKA_BOOTSTRAP_SERVERS"] = ",".join(f"127.0.0.1:{b.port}" for b in self.cluster)
        return env


def cluster(settings: StackSettings, secrets: Secrets) -> list[Kafka]:
    """Every broker of the stack's Kafka, as servers to start, stop and check one by one."""
    return [Kafka(settings, secrets, broker) for broker in brokers(settings)]
