"""The deployment files, checked offline: no server, no container engine, no cluster.

- Dockerfile: hadolint, and the shape of the runtime image.
- docker-compose.yml: validated against the Compose Specification's schema (this machine's Docker CLI
  has no compose plugin, so `docker compose config` cannot run here), then read as a stack.
- deploy/helm/streamvault: `helm lint`, and `helm template` whose every object is validated
  against Kubernetes' own schemas (kubernetes-validate, strict), then read as a deployment.

The tools belong to the project: helm from scripts/install-deploy-tools.sh, hadolint, check-jsonschema
and kubernetes-validate from the [test] extra. A missing tool fails these tests; it never skips them.
"""

from __future__ import annotations

import functools
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from streamvault import config
from streamvault.runtime.settings import RuntimeSettings
from streamvault.services import SERVICES, StgSettings
from streamvault.stack import Stack
from streamvault.stack.postgres import WRITE_LOAD
from streamvault.stack.settings import StackSettings
from streamvault.testing.pipeline import CONNECTION_PREFIXES

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "deploy" / "helm" / "streamvault"
CLOUD_VALUES = CHART / "values-cloud.yaml"
COMPOSE = ROOT / "docker-compose.yml"

# Validated against the oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest
# whose schemas kubernetes-validate ships.
KUBERNETES_VERSIONS = ("1.30", kubernetes_validate.utils.major_minor(kubernetes_validate.utils.latest_version()))

# docs/spec.md §4: the course template's names, which existing Helm values rely on.
KAFKA_ADDRESS = ["KAFKA_HOST", "KAFKA_PORT"]
KAFKA_LOGIN = ["KAFKA_CONSUMER_USERNAME", "KAFKA_CONSUMER_PASSWORD"]
KAFKA_ROUTE = ["KAFKA_CONSUMER_GROUP", "KAFKA_SOURCE_TOPIC", "KAFKA_DESTINATION_TOPIC"]
KAFKA = KAFKA_ADDRESS + KAFKA_LOGIN + KAFKA_ROUTE
REDIS = ["REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD"]
PG = ["PG_WAREHOUSE_HOST", "PG_WAREHOUSE_PORT", "PG_WAREHOUSE_DBNAME", "PG_WAREHOUSE_USER",
      "PG_WAREHOUSE_PASSWORD"]
SPEC_SETTINGS = KAFKA + REDIS + PG
PASSWORDS = {"KAFKA_CONSUMER_PASSWORD", "REDIS_PASSWORD", "PG_WAREHOUSE_PASSWORD", "DASHBOARD_PG_PASSWORD"}
CA_SETTINGS = ["KAFKA_SSL_CA_LOCATION", "REDIS_SSL_CA_CERTS", "PG_WAREHOUSE_SSLROOTCERT"]


# --- tools ---------------------------------------------------------------------------------------

def tool(name: str) -> str:
    """A tool of the project's; fails the test (never skips it) when it is not installed."""
    path = ROOT / ".tools" / "bin" / name if name == "helm" else Path(sys.executable).parent / name
    assert path.is_file(), (f"{name} is missing: run scripts/install-deploy-tools.sh" if name == "helm"
                            else f"{name} is missing: pip install -e '.[test]'")
    return str(path)


def run(*command: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, f"{shlex.join(command)} exited {result.returncode}:\n{result.stdout}{result.stderr}"
    return result


def settings_streamvault_reads() -> set[str]:
    """Every environment variable the code reads, from its settings classes."""
    names = set()
    for group in (config.KafkaSettings, config.RedisSettings, config.PgSettings, config.DashboardSettings,
                  RuntimeSettings, StgSettings):
        prefix = group.model_config.get("env_prefix", "")
        for name, field in group.model_fields.items():
            names.add(str(field.validation_alias or prefix + name).upper())
    return names


# --- Dockerfile ----------------------------------------------------------------------------------

def runtime_stage() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile's last stage, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    instructions = [tuple(line.split(None, 1)) for line in text.splitlines()
                    if line.strip() and not line.lstrip().startswith("#")]
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword.upper() == "FROM")
    return [(keyword.upper(), args.strip()) for keyword, args in instructions[last_from:]]


def test_dockerfile_passes_hadolint():
    run(tool("hadolint"), "Dockerfile")


def test_one_image_runs_any_streamvault_command_as_a_non_root_user():
    stage = dict(runtime_stage())
    assert stage["ENTRYPOINT"] == '["streamvault"]'
    assert "run" not in stage.get("CMD", ""), "no default service: each container names its command"
    user = stage["USER"].split(":")[0]
    assert user.isdigit() and int(user) > 0, "a numeric non-root user, so runAsNonRoot can verify it"
    assert set(stage["EXPOSE"].split()) == {"8001", "8002", "8003", "8050"}
    assert stage["STOPSIGNAL"] == "SIGTERM"


def test_wheels_are_built_in_one_stage_and_installed_in_a_slim_python_3_11_one():
    text = (ROOT / "Dockerfile").read_text()
    stages = [line.split()[1:] for line in text.splitlines() if line.startswith("FROM ")]
    assert stages == [["${PYTHON_IMAGE}", "AS", "build"], ["${PYTHON_IMAGE}", "AS", "runtime"]]
    assert "ARG PYTHON_IMAGE=python:3.11-slim\n" in text
    assert "pip wheel" in text and "from=build" in text


# --- docker-compose.yml --------------------------------------------------------------------------

SERVERS = {"kafka", "postgres", "redis"}
STREAMVAULT = {"migrate", "stg", "dds", "cdm", "dashboard", "generator"}
# What each streamvault process uses (services.py, cli.py, generator/cli.py, dashboard/cli.py): the
# servers it connects to, and the docs/spec.md §4 settings it needs there (the local Kafka has no login).
USES = {
    "migrate": ({"postgres"}, PG),
    "stg": ({"kafka", "redis", "postgres"}, KAFKA_ADDRESS + KAFKA_ROUTE + REDIS + PG),
    "dds": ({"kafka", "postgres"}, KAFKA_ADDRESS + KAFKA_ROUTE + PG),
    "cdm": ({"kafka", "postgres"}, KAFKA_ADDRESS + KAFKA_ROUTE[:2] + PG),  # cdm writes to no topic
    "dashboard": ({"postgres"}, PG),
    "generator": ({"kafka", "redis"}, KAFKA_ADDRESS + ["KAFKA_SOURCE_TOPIC"] + REDIS),
}


@functools.cache
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_file_follows_the_compose_specification():
    run(tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE))


def test_compose_runs_the_servers_the_migration_the_services_the_dashboard_and_a_demo_generator():
    services = compose()["services"]
    assert set(services) == SERVERS | STREAMVAULT
    assert services["generator"]["profiles"] == ["demo"]
    assert all("profiles" not in services[name] for name in set(services) - {"generator"})
    assert "16" in services["postgres"]["image"] and services["redis"]["image"].startswith("redis:7")
    assert "--requirepass" in services["redis"]["command"]


def test_compose_streamvault_containers_all_run_the_image_built_from_the_dockerfile():
    services = compose()["services"]
    images = {services[name]["image"] for name in STREAMVAULT}
    assert len(images) == 1
    assert all(services[name]["build"] == "." for name in STREAMVAULT)
    commands = {name: services[name]["command"] for name in STREAMVAULT}
    assert commands["migrate"] == ["migrate"]
    assert all(commands[key] == ["run", key] for key in SERVICES)
    assert commands["dashboard"][:3] == ["dashboard", "--host", "0.0.0.0"]
    assert commands["generator"][0] == "generate"


def test_compose_servers_have_healthchecks_and_streamvault_waits_for_the_ones_it_uses():
    services = compose()["services"]
    assert all(services[name]["healthcheck"]["test"] for name in SERVERS)
    for name, (servers, _) in USES.items():
        depends_on = services[name]["depends_on"]
        assert {server for server in depends_on if server in SERVERS} == servers, name
        assert {depends_on[server]["condition"] for server in servers} == {"service_healthy"}, name
        if name in {"stg", "dds", "cdm", "dashboard"}:
            assert depends_on["migrate"]["condition"] == "service_completed_successfully", name


def test_compose_streamvault_containers_get_the_spec_settings_they_need():
    services = compose()["services"]
    known = settings_streamvault_reads()
    for name, (_, needed) in USES.items():
        environment = services[name]["environment"]
        assert set(needed) <= set(environment), f"{name} lacks {set(needed) - set(environment)}"
        assert set(environment) <= known, f"{name} sets variables streamvault never reads: {set(environment) - known}"


def test_compose_postgres_runs_with_the_local_stacks_write_load_settings():
    """One set of settings for a write-heavy load on random keys (docs/deploy.md), wherever the stack runs."""
    command = compose()["services"]["postgres"]["command"]
    settings = dict(value.split("=", 1) for flag, value in zip(command[1::2], command[2::2], strict=True))
    assert command[0] == "postgres" and set(command[1::2]) == {"-c"}
    # A quarter of the memory Docker has, as the local stack takes of the machine's (stack/postgres.py).
    assert settings.pop("shared_buffers") == "${PG_SHARED_BUFFERS:-2GB}"
    assert settings == WRITE_LOAD


def test_compose_loaders_have_their_own_topics_group_port_and_stable_instance_id():
    services = compose()["services"]
    for key, spec in SERVICES.items():
        environment = services[key]["environment"]
        assert environment["KAFKA_CONSUMER_GROUP"] == spec.name
        assert environment["KAFKA_SOURCE_TOPIC"] == spec.source
        assert environment.get("KAFKA_DESTINATION_TOPIC") == spec.destination
        assert environment["HTTP_PORT"] == str(spec.http_port)
        assert services[key]["ports"] == [f"127.0.0.1:{spec.http_port}:{spec.http_port}"]
        assert "/ready" in " ".join(services[key]["healthcheck"]["test"])
        assert services[key]["stop_grace_period"] == "60s", "time to finish the batch in flight"
    instance_ids = [services[key]["environment"]["STREAMVAULT_INSTANCE_ID"] for key in SERVICES]
    assert len(set(instance_ids)) == len(SERVICES), "a stable instance id each, the Kafka transactional.id"
    assert services["generator"]["environment"]["KAFKA_SOURCE_TOPIC"] == SERVICES["stg"].source


# --- Helm chart ----------------------------------------------------------------------------------

VALUES = {"default values": [], "cloud values": ["-f", str(CLOUD_VALUES)]}


@functools.cache
def render(*options: str) -> list[dict[str, Any]]:
    """The objects `helm template` renders (hooks included)."""
    output = run(tool("helm"), "template", "sv", str(CHART), "--namespace", "streamvault", *options).stdout
    return [document for document in yaml.safe_load_all(output) if document]


def objects(kind: str, *options: str) -> list[dict[str, Any]]:
    return [document for document in render(*options) if document["kind"] == kind]


def loaders(*options: str) -> dict[str, dict[str, Any]]:
    """service key (stg, dds, cdm) -> its StatefulSet."""
    return {sts["metadata"]["labels"]["app.kubernetes.io/component"]: sts for sts in objects("StatefulSet", *options)}


def workloads(*options: str) -> list[dict[str, Any]]:
    """Everything that runs pods: the StatefulSets, the migrate Job, the dashboard's Deployment."""
    return [document for document in render(*options) if document["kind"] in {"StatefulSet", "Job", "Deployment"}]


def container(workload: dict[str, Any]) -> dict[str, Any]:
    (only,) = workload["spec"]["template"]["spec"]["containers"]
    return only


def env(workload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {variable["name"]: variable for variable in container(workload)["env"]}


@pytest.mark.parametrize("values", VALUES.values(), ids=VALUES.keys())
def test_chart_passes_helm_lint(values):
    run(tool("helm"), "lint", "--strict", str(CHART), *values)


@pytest.mark.parametrize("kubernetes", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("values", VALUES.values(), ids=VALUES.keys())
def test_every_rendered_object_is_valid_kubernetes(values, kubernetes):
    documents = render("--kube-version", f"{kubernetes}.0", *values)
    assert documents
    for document in documents:
        try:
            kubernetes_validate.validate(document, kubernetes, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{document['kind']} {document['metadata']['name']}: "
                        f"{'.'.join(map(str, error.path))}: {error.message}")


@pytest.mark.parametrize("values", VALUES.values(), ids=VALUES.keys())
def test_three_loader_statefulsets_each_run_their_service(values):
    statefulsets = loaders(*values)
    assert set(statefulsets) == set(SERVICES)
    for key, sts in statefulsets.items():
        assert container(sts)["args"] == ["run", key]
        assert sts["spec"]["replicas"] >= 1


def test_chart_defaults_are_the_services_own_ports_groups_and_topics():
    for key, sts in loaders().items():
        spec, variables = SERVICES[key], env(sts)
        assert variables["HTTP_PORT"]["value"] == str(spec.http_port)
        assert variables["KAFKA_CONSUMER_GROUP"]["value"] == spec.name
        assert variables["KAFKA_SOURCE_TOPIC"]["value"] == spec.source
        # An empty KAFKA_DESTINATION_TOPIC means the service's default: none for cdm.
        assert (variables["KAFKA_DESTINATION_TOPIC"]["value"] or None) == spec.destination


@pytest.mark.parametrize("values", VALUES.values(), ids=VALUES.keys())
def test_every_loader_gets_a_stable_instance_id_from_its_pod_name(values):
    for key, sts in loaders(*values).items():
        instance_id = env(sts)["STREAMVAULT_INSTANCE_ID"]
        assert instance_id["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}, key


@pytest.mark.parametrize("values", VALUES.values(), ids=VALUES.keys())
def test_every_loader_logs_one_json_object_per_line_for_the_log_collector(values):
    for key, sts in loaders(*values).items():
        assert env(sts)["STREAMVAULT_LOG_FORMAT"]["value"] == "json", key


@pytest.mark.parametrize("values", VALUES.values(), ids=VALUES.keys())
def test_probes_ask_health_for_liveness_and_ready_for_readiness_on_the_service_http_port(values):
    for key, sts in loaders(*values).items():
        main = container(sts)
        ports = {port["name"]: port["containerPort"] for port in main["ports"]}
        http_port = int(env(sts)["HTTP_PORT"]["value"])
        for probe, path in (("livenessProbe", "/health"), ("readinessProbe", "/ready")):
            get = main[probe]["httpGet"]
            assert get["path"] == path, (key, probe)
            assert ports.get(get["port"], get["port"]) == http_port, (key, probe)


@pytest.mark.parametrize("values", VALUES.values(), ids=VALUES.keys())
def test_every_loader_has_every_spec_setting_with_passwords_from_a_secret(values):
    known = settings_streamvault_reads()
    for key, sts in loaders(*values).items():
        variables = env(sts)
        assert set(SPEC_SETTINGS) <= set(variables), f"{key} lacks {set(SPEC_SETTINGS) - set(variables)}"
        assert {"KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_MECHANISM", "REDIS_SSL", "PG_WAREHOUSE_SSLMODE"} <= set(variables)
        assert set(variables) <= known, f"{key} sets variables streamvault never reads: {set(variables) - known}"
        for name in PASSWORDS & set(variables):
            assert "value" not in variables[name], name
            assert variables[name]["valueFrom"]["secretKeyRef"]["key"] == name


def test_cloud_values_speak_sasl_ssl_and_tls_to_managed_servers():
    for sts in loaders("-f", str(CLOUD_VALUES)).values():
        variables = {name: variable.get("value") for name, variable in env(sts).items()}
        assert variables["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
        assert variables["KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
        assert variables["REDIS_SSL"] == "true"
        assert variables["PG_WAREHOUSE_SSLMODE"] == "verify-full"


CA = {"existing secret": ("streamvault-ca", ["-f", str(CLOUD_VALUES)]),
      "certificate in values": ("sv-streamvault-ca", ["--set", "tls.ca.certificate=PEM"])}


@pytest.mark.parametrize("secret, values", CA.values(), ids=CA.keys())
def test_the_ca_certificate_is_mounted_where_the_tls_settings_point(secret, values):
    for workload in workloads(*values):
        name = workload["metadata"]["name"]
        (volume,) = [volume for volume in workload["spec"]["template"]["spec"]["volumes"] if "secret" in volume]
        assert volume["secret"]["secretName"] == secret
        (mount,) = [mount for mount in container(workload)["volumeMounts"] if mount["name"] == volume["name"]]
        (item,) = volume["secret"]["items"]
        ca_file = f"{mount['mountPath']}/{item['path']}"
        variables = env(workload)
        expected = CA_SETTINGS if workload["kind"] == "StatefulSet" else ["PG_WAREHOUSE_SSLROOTCERT"]
        assert {variable: variables[variable]["value"] for variable in CA_SETTINGS if variable in variables} == {
            variable: ca_file for variable in expected}, name
    made = [made["metadata"]["name"] for made in objects("Secret", *values) if "ca.crt" in made["stringData"]]
    assert made == ([] if secret == "streamvault-ca" else [secret]), "the chart makes the Secret only from a certificate"


def test_without_a_ca_certificate_nothing_points_at_one():
    for sts in loaders().values():
        assert not set(CA_SETTINGS) & set(env(sts))


def test_the_chart_creates_the_password_secret_unless_an_existing_one_is_named():
    (created,) = objects("Secret")
    assert set(created["stringData"]) == {"KAFKA_CONSUMER_PASSWORD", "REDIS_PASSWORD", "PG_WAREHOUSE_PASSWORD"}
    assert all(env(sts)["PG_WAREHOUSE_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == created["metadata"]["name"]
               for sts in loaders().values())
    (with_dashboard_login,) = objects("Secret", "--set", "dashboard.pgUser=dashboard_web")
    assert "DASHBOARD_PG_PASSWORD" in with_dashboard_login["stringData"]
    assert objects("Secret", "-f", str(CLOUD_VALUES)) == []
    for key, sts in loaders("-f", str(CLOUD_VALUES)).items():  # one login, and Secret, per service
        assert env(sts)["PG_WAREHOUSE_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == f"streamvault-{key}-credentials"


@pytest.mark.parametrize("values", VALUES.values(), ids=VALUES.keys())
def test_loaders_have_at_least_a_minute_to_finish_their_batch_on_sigterm(values):
    for sts in loaders(*values).values():
        assert sts["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= 60


def test_each_statefulset_is_governed_by_a_headless_service_of_its_own_pods():
    services = {service["metadata"]["name"]: service for service in objects("Service")}
    for key, sts in loaders().items():
        service = services[sts["spec"]["serviceName"]]
        assert service["spec"]["clusterIP"] == "None"
        assert service["spec"]["selector"] == sts["spec"]["selector"]["matchLabels"]
        assert service["spec"]["selector"].items() <= sts["spec"]["template"]["metadata"]["labels"].items()
        assert [port["port"] for port in service["spec"]["ports"]] == [SERVICES[key].http_port]


def test_loader_pods_are_annotated_for_prometheus_and_a_service_monitor_is_optional():
    for key, sts in loaders().items():
        annotations = sts["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/port"] == str(SERVICES[key].http_port)
        assert annotations["prometheus.io/path"] == "/metrics"
    assert objects("ServiceMonitor") == []
    (monitor,) = objects("ServiceMonitor", "--set", "metrics.serviceMonitor.enabled=true")
    assert monitor["spec"]["endpoints"] == [{"port": "http", "path": "/metrics", "interval": "30s"}]
    (components,) = monitor["spec"]["selector"]["matchExpressions"]
    assert sorted(components["values"]) == sorted(SERVICES)


@pytest.mark.parametrize("values", VALUES.values(), ids=VALUES.keys())
def test_the_migration_runs_as_a_job_before_install_and_upgrade(values):
    (job,) = objects("Job", *values)
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert container(job)["args"] == ["migrate"]
    assert set(PG) <= set(env(job))
    # The Secrets it reads are hooks too, created before it.
    for secret in objects("Secret", *values):
        assert secret["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
        assert int(secret["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(
            job["metadata"]["annotations"]["helm.sh/hook-weight"])


def test_a_migration_that_cannot_apply_fails_the_job_at_once_with_its_line_as_the_pods_message():
    """`streamvault migrate` exits 2 with one line when retrying cannot help (a foreign `stg` schema, a missing
    privilege): the Job stops instead of retrying, and `kubectl describe` shows that line."""
    (job,) = objects("Job")
    assert container(job)["terminationMessagePolicy"] == "FallbackToLogsOnError"
    assert job["spec"]["podFailurePolicy"]["rules"] == [
        {"action": "FailJob", "onExitCodes": {"containerName": "migrate", "operator": "In", "values": [2]}}]


@pytest.mark.parametrize("values", VALUES.values(), ids=VALUES.keys())
def test_every_pod_runs_as_non_root_with_a_read_only_root_file_system(values):
    for workload in workloads(*values):
        pod = workload["spec"]["template"]["spec"]
        security = container(workload)["securityContext"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"]["drop"] == ["ALL"]
        assert pod["automountServiceAccountToken"] is False


def test_the_dashboard_is_optional_and_listens_beyond_localhost():
    (deployment,) = objects("Deployment")
    assert container(deployment)["args"][:3] == ["dashboard", "--host", "0.0.0.0"]
    assert [service["metadata"]["name"] for service in objects("Service")].count(deployment["metadata"]["name"]) == 1
    assert objects("Deployment", "--set", "dashboard.enabled=false") == []
    names = {service["metadata"]["name"] for service in objects("Service", "--set", "dashboard.enabled=false")}
    assert names == {sts["spec"]["serviceName"] for sts in objects("StatefulSet")}


def test_the_dashboard_is_ready_only_when_its_queries_can_run_and_alive_while_the_page_renders():
    """`/` never queries the warehouse: as the readiness probe it stayed 200 while every /api/* answered 503."""
    (deployment,) = objects("Deployment")
    probes = container(deployment)
    assert probes["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert probes["livenessProbe"]["httpGet"] == {"path": "/", "port": "http"}


def test_a_dashboard_with_its_own_login_never_holds_the_loaders_password():
    (deployment,) = objects("Deployment", "-f", str(CLOUD_VALUES))
    variables = env(deployment)
    assert variables["DASHBOARD_PG_USER"]["value"] == "streamvault_dashboard"
    assert variables["DASHBOARD_PG_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"] == "DASHBOARD_PG_PASSWORD"
    assert "PG_WAREHOUSE_PASSWORD" not in variables


def test_cloud_values_give_each_process_the_variables_the_secure_stack_test_logged_in_with(tmp_path):
    """tests/test_security.py runs every service and the dashboard against the secure stack with its own login
    (`Stack.principal_env`): the chart must set those very variables, each loader with a login of its own.
    dds and cdm also get REDIS_* (every loader has every SPEC setting, above); they never connect to Redis."""
    secure = Stack(StackSettings(home=tmp_path, secure=True))
    secure.security.create()
    logins = {}
    for key, sts in loaders("-f", str(CLOUD_VALUES)).items():
        used, rendered = set(secure.principal_env(key)) - {"STREAMVAULT_HOME"}, env(sts)
        assert used <= set(rendered), f"{key} lacks {used - set(rendered)}"
        unused = {name for name in rendered if name.startswith(CONNECTION_PREFIXES)} - used - set(KAFKA_ROUTE)
        assert unused == (set() if key == "stg" else {name for name in rendered if name.startswith("REDIS_")}), key
        logins[key] = (rendered["KAFKA_CONSUMER_USERNAME"]["value"], rendered["PG_WAREHOUSE_USER"]["value"],
                       rendered["KAFKA_CONSUMER_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"])
    for position in range(3):
        assert len({login[position] for login in logins.values()}) == len(SERVICES), "one login per service"
    (dashboard,) = objects("Deployment", "-f", str(CLOUD_VALUES))
    assert set(secure.principal_env("dashboard")) - {"STREAMVAULT_HOME"} == {
        name for name in env(dashboard) if name.startswith(CONNECTION_PREFIXES)}
