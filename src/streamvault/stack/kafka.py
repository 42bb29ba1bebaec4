"""Apache Kafka in KRaft mode (one combined broker + controller), jars fetched by Maven."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from importlib import resources

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from streamvault.stack.server import Server

# One broker: every internal topic must accept a replication factor and min ISR of 1,
# otherwise transactions (and consumer offsets) never become available.
SERVER_PROPERTIES = """
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{controller_port}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs={data_dir}
num.partitions=3
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=3
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
min.insync.replicas=1
default.replication.factor=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
num.network.threads=2
num.io.threads=2
background.threads=2
"""

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
    name = "kafka"
    start_timeout = 120.0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.libs_dir = self.dir / "libs"
        self.data_dir = self.dir / "data"
        self.properties = self.dir / "server.properties"

    @property
    def port(self) -> int:
        return self.settings.kafka_port

    def ports(self) -> dict[str, int]:
        return {"STREAMVAULT_KAFKA_PORT": self.port,
                "STREAMVAULT_KAFKA_CONTROLLER_PORT": self.settings.kafka_controller_port}

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
        self.properties.write_text(SERVER_PROPERTIES.format(
            port=self.port, controller_port=self.settings.kafka_controller_port, data_dir=self.data_dir))
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
        return self._java("kafka.Kafka", str(self.properties), heap=self.settings.kafka_heap)

    def healthy(self) -> bool:
        # log_level 0: connection-refused noise while the broker starts is expected, not news.
        admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{self.port}", "socket.timeout.ms": 2000,
                             "log_level": 0})
        try:
            metadata = admin.list_topics(timeout=2)
        except KafkaException:
            return False
        # Our cluster, not another broker that holds the port while ours failed to bind it.
        return bool(metadata.brokers) and metadata.cluster_id == self.secrets.kafka_cluster_id

    def env(self) -> dict[str, str]:
        return {"KAFKA_HOST": "127.0.0.1", "KAFKA_PORT": str(self.port), "KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"}
