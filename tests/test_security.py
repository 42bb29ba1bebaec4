"""The production path on this machine (issue 9): TLS and a password on every connection, one principal per
service, and least privilege enforced by the servers themselves, not by our code (docs/security.md).

The secure stack is its own: started once for this module (`stack up --secure` in a temporary folder, on free
ports), so the plaintext tests never depend on it. The test process acts as the administrator; each service,
the generator and the dashboard log in with their own settings, as `env.<principal>` of the stack gives them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis
from confluent_kafka import Consumer, KafkaException, Producer
from confluent_kafka.admin import AdminClient
from psycopg import sql

from streamvault import config
from streamvault.generator.publish import publish
from streamvault.stack import Stack
from streamvault.stack import security
from streamvault.stack.settings import StackSettings
from streamvault.testing.corpus import assert_dead_letters, scenario
from streamvault.testing.expected import assert_warehouse_matches
from streamvault.testing.pipeline import CONNECTION_PREFIXES, SERVICES, Pipeline, Replica
from streamvault.testing.support import cli, free_port, kafka_config, pg_admin, pg_connect, redis_client, wait_for


@pytest.fixture(scope="module")
def secure_stack() -> Iterator[Stack]:
    # Not pytest's tmp_path: its folders are private to root, and PostgreSQL runs as its own account.
    home = Path(tempfile.mkdtemp(prefix="streamvault-secure-"))
    home.chmod(0o755)
    local = Stack(StackSettings(home=home, kafka_port=free_port(), kafka_controller_port=free_port(),
                                pg_port=free_port(), redis_port=free_port(), secure=True))
    try:
        with pytest.MonkeyPatch.context() as patch:
            local.up()
            for key in [key for key in os.environ if key.startswith(CONNECTION_PREFIXES)]:
                patch.delenv(key)
            for key, value in local.env().items():
                patch.setenv(key, value)
            yield local
    finally:
        local.down()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def secure_pipeline(secure_stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    """A migrated database and topics, shared by the module's tests (the end-to-end test runs first and stops
    its services); each service runs with its principal's settings only."""
    database = f"t_{uuid.uuid4().hex[:12]}"
    with pg_admin() as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    running = Pipeline(database=database, log_dir=tmp_path_factory.mktemp("secure-pipeline"),
                       logins={service: secure_stack.principal_env(service) for service in SERVICES})
    running.prepare()
    _grant_topics(running)
    yield running
    running.stop_all()
    with pg_admin() as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))


@pytest.fixture
def stg_alone(secure_pipeline: Pipeline, tmp_path: Path) -> Iterator[Pipeline]:
    """The shared pipeline's topics and database, for an STG replica of the test's own (logs in `tmp_path`)."""
    view = Pipeline(database=secure_pipeline.database, log_dir=tmp_path, name=secure_pipeline.name,
                    logins={"stg": dict(secure_pipeline.logins["stg"])})
    yield view
    view.stop_all()


def _grant_topics(pipeline: Pipeline) -> None:
    """What `stack up --secure` grants on the default topics, for this pipeline's topics."""
    bindings = security.producer_acls(security.kafka_user(security.GENERATOR), pipeline.source_topic)
    for service in SERVICES:
        writes = [topic for topic in (pipeline.destination(service), pipeline.dlq(service)) if topic]
        bindings += security.service_acls(security.kafka_user(service), pipeline.topic(service), writes,
                                          pipeline.group(service))
    security.grant(AdminClient(kafka_config()), bindings)


def _login(stack: Stack, principal: str, **changes: str) -> dict[str, str]:
    return {**stack.principal_env(principal), **changes}


# --- the pipeline -----------------------------------------------------------------------------------

def test_end_to_end_over_tls_with_a_login_per_service_gives_exact_marts(secure_pipeline, secure_stack):
    """The same corpus and independent expectation as the plaintext test; the generator writes as itself."""
    timeline, expected = scenario(seed=101)
    secure_pipeline.start_all()
    generator = _login(secure_stack, security.GENERATOR)
    publish(timeline, config.from_variables(config.KafkaSettings, generator),
            config.from_variables(config.RedisSettings, generator), secure_pipeline.source_topic, progress=False)
    secure_pipeline.wait_drained(expected.parked)

    assert_dead_letters(secure_pipeline, expected)
    with secure_pipeline.connect() as conn:
        assert_warehouse_matches(conn, expected)
    secure_pipeline.stop_all()
    for replica in secure_pipeline.running.values():
        log = replica.log.read_text()
        assert not [password for password in _passwords(secure_stack) if password in log], replica.service


def test_the_commands_work_over_tls_each_with_its_own_login(secure_pipeline, secure_stack):
    """Only the environment changes: `generate` as the generator, `reprocess-parked` as STG, `status` as the
    administrator, the dashboard as its read-only login."""
    def as_principal(principal: str, **extra: str) -> dict[str, str]:
        inherited = {key: value for key, value in os.environ.items() if not key.startswith(CONNECTION_PREFIXES)}
        return {**inherited, **_login(secure_stack, principal, PG_WAREHOUSE_DBNAME=secure_pipeline.database),
                **extra}

    generated = subprocess.run([sys.executable, "-m", "streamvault", "generate", "--orders", "20", "--seed", "7",
                                "--topic", secure_pipeline.source_topic], env=as_principal(security.GENERATOR),
                               capture_output=True, text=True, timeout=120)
    assert generated.returncode == 0, generated.stderr
    reprocessed = subprocess.run([sys.executable, "-m", "streamvault", "reprocess-parked"], capture_output=True,
                                 text=True, timeout=120, env=as_principal(
                                     "stg", KAFKA_SOURCE_TOPIC=secure_pipeline.source_topic,
                                     KAFKA_DESTINATION_TOPIC=secure_pipeline.destination("stg"),
                                     KAFKA_DLQ_TOPIC=secure_pipeline.dlq("stg"),
                                     KAFKA_CONSUMER_GROUP=secure_pipeline.group("stg")))
    assert reprocessed.returncode == 0 and "still wait for reference data" in reprocessed.stdout, reprocessed.stderr
    status = cli("status", "--json", env={"PG_WAREHOUSE_DBNAME": secure_pipeline.database})
    assert json.loads(status.stdout)["layers"], status.stderr

    port = free_port()
    dashboard = subprocess.Popen([sys.executable, "-m", "streamvault", "dashboard", "--port", str(port)],
                                 env=as_principal(security.DASHBOARD), stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: _http_status(f"http://127.0.0.1:{port}/ready") == 200, "the dashboard ready", timeout=60)
    finally:
        dashboard.terminate()
        dashboard.wait(timeout=30)


def _http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def _passwords(stack: Stack) -> list[str]:
    return [value for key, value in stack.principal_env("stg").items() if key.endswith("PASSWORD")]


# --- plaintext is refused ---------------------------------------------------------------------------

def test_a_plaintext_kafka_client_is_refused(secure_stack):
    plaintext = {**secure_stack.env(), "KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"}
    with pytest.raises(KafkaException):
        AdminClient(kafka_config(plaintext, log_level=0)).list_topics(timeout=5)


def test_a_postgresql_connection_without_tls_is_refused(secure_stack):
    with pytest.raises(psycopg.OperationalError, match="no encryption"):
        pg_connect({**secure_stack.env(), "PG_WAREHOUSE_SSLMODE": "disable"}, connect_timeout=5)


def test_a_redis_connection_without_tls_is_refused(secure_stack):
    with pytest.raises(redis.ConnectionError):
        redis_client({**secure_stack.env(), "REDIS_SSL": "false"}).ping()


# --- least privilege, enforced by the servers -------------------------------------------------------

def test_the_stg_kafka_principal_can_neither_write_nor_read_the_dds_topic(secure_pipeline, secure_stack):
    stg = _login(secure_stack, "stg")
    topic = secure_pipeline.destination("dds")
    failures: list[str] = []
    producer = Producer(kafka_config(stg))
    producer.produce(topic, b"forged", on_delivery=lambda error, _: failures.append(error and error.name()))
    producer.flush(30)
    assert failures == ["TOPIC_AUTHORIZATION_FAILED"]

    consumer = Consumer(kafka_config(stg, **{"group.id": secure_pipeline.group("stg")}))
    try:
        consumer.subscribe([topic])
        assert _first_error(consumer) == "TOPIC_AUTHORIZATION_FAILED"
    finally:
        consumer.close()


def _first_error(consumer: Consumer, polls: int = 20) -> str | None:
    for _ in range(polls):
        message = consumer.poll(1)
        if message is not None and message.error():
            return message.error().name()
    return None


def test_the_stg_database_role_cannot_write_the_dds_or_cdm_layer(secure_pipeline, secure_stack):
    with pg_connect(_login(secure_stack, "stg", PG_WAREHOUSE_DBNAME=secure_pipeline.database),
                    autocommit=True) as conn:
        conn.execute("UPDATE stg.order_events SET payload = payload WHERE false")  # its own layer: yes
        for table in ("dds.h_user", "cdm.user_product_counters"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"DELETE FROM {table}")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO dds.h_category (h_category_pk, category_name, load_dt, load_src) "
                         "VALUES (gen_random_uuid(), 'forged', now(), 'forged')")


def test_the_stg_redis_user_can_read_but_not_set(secure_stack):
    redis_client(_login(secure_stack, security.GENERATOR)).set("least-privilege", "1")
    stg = redis_client(_login(secure_stack, "stg"))
    assert stg.get("least-privilege") == b"1"
    with pytest.raises(redis.exceptions.NoPermissionError):
        stg.set("least-privilege", "2")


def test_the_dashboard_login_reads_the_views_and_cannot_write(secure_pipeline, secure_stack):
    dashboard = _login(secure_stack, security.DASHBOARD, PG_WAREHOUSE_DBNAME=secure_pipeline.database)
    login = {**dashboard, "PG_WAREHOUSE_USER": dashboard["DASHBOARD_PG_USER"],
             "PG_WAREHOUSE_PASSWORD": dashboard["DASHBOARD_PG_PASSWORD"]}
    with pg_connect(login, autocommit=True) as conn:
        conn.execute("SELECT count(*) FROM cdm.v_dishes_by_orders").fetchone()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM cdm.user_product_counters")


# --- bad credentials and certificates: a setting to fix, not a crash loop ---------------------------

def _start_stg(pipeline: Pipeline, **changes: str) -> Replica:
    pipeline.logins["stg"] = {**pipeline.logins["stg"], **changes}
    return pipeline.start("stg")


def _lines(replica: Replica, *words: str) -> list[str]:
    return [line for line in replica.log.read_text().splitlines() if all(word in line for word in words)]


def _assert_unready_but_alive(pipeline: Pipeline) -> None:
    assert pipeline.probe("stg", "/ready") == 503
    assert pipeline.probe("stg", "/health") == 200


def test_a_wrong_password_is_one_line_naming_the_server_and_recovers_once_the_server_accepts_it(
        stg_alone, secure_stack):
    """The operator fixes it server-side (the role's password): the process recovers without a restart."""
    wrong = f"wrong-{uuid.uuid4().hex}"
    replica = _start_stg(stg_alone, PG_WAREHOUSE_PASSWORD=wrong)
    wait_for(lambda: _lines(replica, "PostgreSQL", "password authentication failed"), "the line", timeout=60)
    _assert_unready_but_alive(stg_alone)
    _set_pg_password(security.pg_login("stg"), wrong)
    try:
        wait_for(lambda: stg_alone.probe("stg", "/ready") == 200, "ready after the fix", timeout=60)
    finally:
        _set_pg_password(security.pg_login("stg"), secure_stack.security.password("pg", "stg"))
    assert len(_lines(replica, "password authentication failed")) == 1
    assert wrong not in replica.log.read_text()


def _set_pg_password(login: str, password: str) -> None:
    with pg_admin() as admin:
        admin.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(login), sql.Literal(password)))


def test_an_unknown_ca_is_one_line_naming_the_server_and_recovers_once_the_setting_names_the_right_one(
        stg_alone, secure_stack, tmp_path):
    """A CA file mounted from a secret is fixed in place: the service reads it again when it reconnects."""
    other = security.Certificate(tmp_path / "other-ca.crt", tmp_path / "other-ca.key")
    security.make_ca(other, "another CA")
    ca_file = tmp_path / "kafka-ca.crt"
    shutil.copyfile(other.cert, ca_file)
    replica = _start_stg(stg_alone, KAFKA_SSL_CA_LOCATION=str(ca_file))
    wait_for(lambda: _lines(replica, "Kafka", "certificate verify failed"), "the line", timeout=60)
    _assert_unready_but_alive(stg_alone)
    shutil.copyfile(secure_stack.security.ca.cert, ca_file)
    wait_for(lambda: stg_alone.probe("stg", "/ready") == 200, "ready after the fix", timeout=60)
    assert len(_lines(replica, "certificate verify failed")) == 1


def test_a_certificate_for_another_host_is_one_line_naming_the_server_and_recovers_once_the_server_has_its_own(
        stg_alone, secure_stack, tmp_path):
    """Redis presents a certificate of our CA, but for another name: the service must not talk to it."""
    elsewhere = security.Certificate(tmp_path / "elsewhere.crt", tmp_path / "elsewhere.key")
    security.issue(secure_stack.security.ca, elsewhere, ("elsewhere.example",))
    _present_redis_certificate(elsewhere)
    try:
        replica = _start_stg(stg_alone)
        wait_for(lambda: _lines(replica, "Redis", "match"), "the line", timeout=60)
        _assert_unready_but_alive(stg_alone)
    finally:
        _present_redis_certificate(secure_stack.security.server)
    wait_for(lambda: stg_alone.probe("stg", "/ready") == 200, "ready after the fix", timeout=60)
    assert len(_lines(replica, "Redis", "match")) == 1


def _present_redis_certificate(certificate: security.Certificate) -> None:
    """CONFIG SET of a tls-* setting makes Redis load its certificate again (new connections get it)."""
    env = dict(os.environ)
    admin = redis.Redis(host=env["REDIS_HOST"], port=int(env["REDIS_PORT"]), username=env["REDIS_USERNAME"],
                        password=env["REDIS_PASSWORD"], ssl=True, ssl_ca_certs=env["REDIS_SSL_CA_CERTS"],
                        ssl_check_hostname=False)
    admin.execute_command("CONFIG", "SET", "tls-cert-file", str(certificate.cert), "tls-key-file", str(certificate.key))
    admin.close()
