"""Apache Kafka in KRaft mode: one combined broker + controller, or a cluster of them, from jars fetched by Maven."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from dataclasses import dataclass
from importlib import resources

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from streamvault import config
from streamvault.stack import security
from streamvault.stack.files import write_private
from streamvault.stack.security import Security
from streamvault.stack.server import Server
from streamvault.stack.settings import Secrets, StackSettings

# Every internal topic gets the cluster's replication factor and min ISR: with one broker they must be 1,
# otherwise transactions (and consumer offsets) never become available.
PLAINTEXT_LISTENERS = """
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
"""

# The secure stack: clients and the broker itself speak SASL_SSL with SCRAM users (created when the storage
# is formatted); the controller listener is TLS too, with a fixed PLAIN login (KRaft's controller cannot
# read SCRAM users, which live in the metadata it serves). ACLs decide the rest; the admin is super user.
SECURE_LISTENERS = """
listeners=SASL_SSL://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=SASL_SSL://127.0.0.1:{port}
listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:SASL_SSL
inter.broker.listener.name=SASL_SSL
sasl.enabled.mechanisms={scram}
sasl.mechanism.inter.broker.protocol={scram}
listener.name.sasl_ssl.{scram_lower}.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule \
  required username="{admin}" password="{admin_password}";
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule \
  required username="{admin}" password="{admin_password}" user_{admin}="{admin_password}";
ssl.keystore.type=PEM
ssl.keystore.location={keystore}
ssl.key.password={key_password}
ssl.truststore.type=PEM
ssl.truststore.location={truststore}
ssl.client.auth=none
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:{admin}
allow.everyone.if.no.acl.found=false
"""

# log.cleaner.dedupe.buffer.size: the log cleaner compacts the internal topics (offsets, transactions) with a
# map of keys held on the heap, 128 MB by default: a quarter of a 512 MB broker's heap (a third of 384 MB), for
# topics with a few hundred keys. With 32 MB (1.2 million keys a pass) the broker's live old generation after a
# full GC fell from 197 to 96 MB (docs/performance.md, stop 20).
CLEANER_KEY_MAP_BYTES = 32 * 2**20

SERVER_PROPERTIES = """
process.roles=broker,controller
node.id={node_id}
controller.quorum.voters={voters}
controller.listener.names=CONTROLLER
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
log.cleaner.dedupe.buffer.size={cleaner_key_map}
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

    def __init__(self, settings: StackSettings, secrets: Secrets, security: Security | None = None,
                 broker: Broker | None = None):
        self.cluster = brokers(settings)
        self.broker = broker or self.cluster[0]
        self.name = self.broker.name
        super().__init__(settings, secrets, security)
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

    def tool(self, main: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """One of Kafka's own tools on the stack's jars, e.g. `org.apache.kafka.tools.TransactionsCommand`
        (what kafka-transactions.sh runs) or `kafka.tools.DumpLogSegments`; its output, never raising."""
        return subprocess.run(self._java(main, *args), capture_output=True, text=True, timeout=timeout)

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
        listeners = PLAINTEXT_LISTENERS if self.security is None else SECURE_LISTENERS
        factor, min_isr = replication(self.cluster)
        voters = ",".join(f"{b.node_id}@127.0.0.1:{b.controller_port}" for b in self.cluster)
        write_private(self.properties, (listeners + SERVER_PROPERTIES).format(
            node_id=self.broker.node_id, voters=voters, port=self.port, controller_port=self.broker.controller_port,
            data_dir=self.data_dir, replication=factor, min_isr=min_isr, cleaner_key_map=CLEANER_KEY_MAP_BYTES,
            **self._secure_properties()))
        if (self.data_dir / "meta.properties").exists():
            return
        result = subprocess.run(
            # `--option=value`: a value is never parsed as an option, even one that starts with `-`.
            self._java("kafka.tools.StorageTool", "format", "--ignore-formatted",
                       f"--cluster-id={self.secrets.kafka_cluster_id}", f"--config={self.properties}",
                       *self._scram_users()),
            capture_output=True, text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"formatting Kafka storage failed:\n{result.stdout}{result.stderr}")

    def _secure_properties(self) -> dict[str, str]:
        if self.security is None:
            return {}
        keystore, key_password = self.dir / "server.pem", self.security.password("kafka", "keystore")
        security.encrypted_pem(self.security.server, key_password, keystore)
        return {"scram": security.SCRAM, "scram_lower": security.SCRAM.lower(), "admin": security.ADMIN,
                "admin_password": self.security.password("kafka", security.ADMIN), "keystore": str(keystore),
                "key_password": key_password, "truststore": str(self.security.ca.cert)}

    def _scram_users(self) -> list[str]:
        """SCRAM users are written into the storage when it is formatted: the broker needs its own at once."""
        if self.security is None:
            return []
        return [f"--add-scram={security.SCRAM}=[name={security.kafka_user(principal)},"
                f"password={self.security.password('kafka', principal)}]" for principal in security.KAFKA_PRINCIPALS]

    def command(self) -> list[str]:
        heap = self.settings.kafka_heap or ("512m" if len(self.cluster) == 1 else "384m")
        return self._java("kafka.Kafka", str(self.properties), heap=heap)

    def _admin_config(self) -> dict[str, object]:
        return config.from_variables(config.KafkaSettings, self.env()).client_config()

    def healthy(self) -> bool:
        # log_level 0: connection-refused noise while the broker starts is expected, not news.
        admin = AdminClient({**self._admin_config(), "socket.timeout.ms": 2000, "log_level": 0})
        try:
            metadata = admin.list_topics(timeout=2)
        except KafkaException:
            return False
        # Our cluster, not another broker that holds the port while ours failed to bind it; and this broker
        # registered in it.
        return self.broker.node_id in metadata.brokers and metadata.cluster_id == self.secrets.kafka_cluster_id

    def after_start(self) -> None:
        """On the secure stack, the pipeline's topics and each principal's rights: the services may not create
        topics, and their principals get only what `security.service_acls` lists."""
        if self.security is None:
            return
        from streamvault.services import SERVICES

        admin = AdminClient(self._admin_config())
        topics = {spec.source for spec in SERVICES.values()} | {
            topic for spec in SERVICES.values() for topic in (spec.destination, f"{spec.name}-dlq") if topic}
        existing = admin.list_topics(timeout=30).topics
        missing = [NewTopic(topic, num_partitions=3) for topic in sorted(topics - set(existing))]
        for future in (admin.create_topics(missing, operation_timeout=30).values() if missing else ()):
            future.result()
        bindings = security.producer_acls(security.kafka_user(security.GENERATOR), SERVICES["stg"].source)
        for key, spec in SERVICES.items():
            writes = [topic for topic in (spec.destination, f"{spec.name}-dlq") if topic]
            bindings += security.service_acls(security.kafka_user(key), spec.source, writes, spec.name)
        security.grant(admin, bindings)

    def env(self) -> dict[str, str]:
        if self.security is None:
            return self._address_env("PLAINTEXT")
        return self.login_env(security.ADMIN)

    def login_env(self, principal: str) -> dict[str, str]:
        if self.security is None or principal not in security.KAFKA_PRINCIPALS:
            return {}
        return {**self._address_env("SASL_SSL"), "KAFKA_SASL_MECHANISM": security.SCRAM,
                "KAFKA_CONSUMER_USERNAME": security.kafka_user(principal),
                "KAFKA_CONSUMER_PASSWORD": self.security.password("kafka", principal),
                "KAFKA_SSL_CA_LOCATION": str(self.security.ca.cert)}

    def _address_env(self, protocol: str) -> dict[str, str]:
        """The same for every broker of the cluster: the first one's address, and all of them to bootstrap
        from, so that a client starting while one broker is down still finds the cluster."""
        env = {"KAFKA_HOST": "127.0.0.1", "KAFKA_PORT": str(self.cluster[0].port), "KAFKA_SECURITY_PROTOCOL": protocol}
        if len(self.cluster) > 1:
            env["KAFKA_BOOTSTRAP_SERVERS"] = ",".join(f"127.0.0.1:{b.port}" for b in self.cluster)
        return env


def cluster(settings: StackSettings, secrets: Secrets, security: Security | None = None) -> list[Kafka]:
    """Every broker of the stack's Kafka, as servers to start, stop and check one by one."""
    return [Kafka(settings, secrets, security, broker) for broker in brokers(settings)]
