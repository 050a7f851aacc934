"""The deployment files validated as `make deploy-check` does (infra/deploy_check.py), and what
the chart's default and production values must render to.

The chart is rendered with `helm template`; without helm these tests are skipped on a
developer's machine and FAIL in CI (CI=true), which must render the chart.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import ipaddress
import os
import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from services.catalogue import NAMES
from services.notification.roster import Roster
from services.preservation.national_law import PROFILES, parse_policy

ROOT = Path(__file__).resolve().parents[2]
SERVICES = list(NAMES)
SIGNERS = {"intake", "isp_liaison", "timeline"}  # services that load CP247_SIGNING_KEY
DASHBOARD_DIR = ROOT / "infra" / "grafana" / "dashboards"
RABBITMQ_DIR = ROOT / "infra" / "rabbitmq"


def _load_deploy_check() -> ModuleType:
    path = ROOT / "infra" / "deploy_check.py"
    spec = importlib.util.spec_from_file_location("deploy_check", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


dc = _load_deploy_check()


def require_helm() -> None:
    try:
        dc.helm_binary()
    except dc.ToolMissing as missing:
        # Part of what `make test` checks (README): install helm as .ci/run does.
        pytest.fail(f"{missing} (.ci/run installs it)")


@cache
def rendered(value_set: str) -> str:
    return dc.render_chart(dc.VALUE_SETS[value_set])


def docs_of(value_set: str) -> list[dict]:
    require_helm()
    return copy.deepcopy(dc.manifests(rendered(value_set)))


def values_of(value_set: str) -> dict:
    values = yaml.safe_load((dc.CHART_DIR / "values.yaml").read_text())
    for path in dc.VALUE_SETS[value_set]:
        override = yaml.safe_load(Path(path).read_text())
        values = merge(values, override)
    return values


def merge(base: dict, override: dict) -> dict:
    """Helm's coalescing of values files: maps merge, anything else is replaced."""
    result = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = value
    return result


def of_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {
        d["metadata"]["labels"].get("app.kubernetes.io/component", d["metadata"]["name"]): d
        for d in docs
        if d["kind"] == kind
    }


def containers(deployment: dict) -> list[dict]:
    return deployment["spec"]["template"]["spec"]["containers"]


VALUE_SETS = sorted(dc.VALUE_SETS)


# --- the checks of make deploy-check, one by one ----------------------------------------------


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_chart_manifests_match_kubernetes_schemas(value_set):
    docs = docs_of(value_set)
    assert docs
    assert dc.kubernetes_problems(docs) == []
    assert dc.reference_problems(docs) == []


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_rendered_chart_passes_yamllint(value_set):
    docs_of(value_set)
    assert dc.lint_rendered(rendered(value_set), value_set) == []


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_helm_lint_strict_with_each_value_set(value_set):
    require_helm()
    assert dc.lint_chart(dc.VALUE_SETS[value_set]) == []


def test_compose_matches_the_compose_specification():
    assert dc.check_compose() == []


def test_repository_yaml_passes_yamllint():
    files = {p.relative_to(ROOT).as_posix() for p in dc.yaml_files()}
    for expected in (
        "docker-compose.yml",
        "helm/cp247/values.yaml",
        "helm/cp247/values-production.yaml",
        "helm/cp247/Chart.yaml",
        "infra/prometheus/alerts.yml",
    ):
        assert expected in files, expected
    assert not any(f.startswith(("helm/cp247/templates/", ".venv/")) for f in files)
    assert dc.check_yaml() == []


def test_kubernetes_version_is_the_charts_minimum():
    chart = yaml.safe_load((dc.CHART_DIR / "Chart.yaml").read_text())
    minimum = re.fullmatch(r">=\s*(\d+\.\d+\.\d+)(-0)?", chart["kubeVersion"])
    assert minimum and minimum.group(1) == dc.KUBERNETES_VERSION


def test_the_command_line_runs_every_check():
    """What `make deploy-check` runs; helm is needed for the chart, so compose and yaml here."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "infra" / "deploy_check.py"), "compose", "yaml"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("ok ") == 2


def test_make_targets_run_the_check():
    makefile = (ROOT / "Makefile").read_text()
    for target, checks in {
        "deploy-check": "chart compose yaml",
        "chart-check": "chart",
        "compose-check": "compose",
        "yaml-lint": "yaml",
    }.items():
        rule = re.search(rf"^{target}: \$\(STAMP\)\n\t(.+)$", makefile, re.MULTILINE)
        assert rule, f"no rule {target}: $(STAMP)"
        assert rule.group(1) == f"$(BIN)/python infra/deploy_check.py {checks}"
    assert "make deploy-check" in (ROOT / ".ci" / "run").read_text()


# --- the checks find what they are for -----------------------------------------------------


def test_kubernetes_validation_finds_mistakes():
    docs = docs_of("default")
    deployments = of_kind(docs, "Deployment")
    # (kubernetes-validate reports the first problem of each manifest)
    pod = deployments["intake"]["spec"]["template"]["spec"]
    pod["securityContext"]["runAsNonRot"] = True  # a typo kubectl --validate=strict refuses
    pod = deployments["mla"]["spec"]["template"]["spec"]
    pod["containers"][0]["ports"][0]["containerPort"] = "8000"  # a string
    gone = {"apiVersion": "policy/v1beta1", "kind": "PodDisruptionBudget"}  # removed in 1.25
    docs.append({**gone, "metadata": {"name": "old"}, "spec": {}})
    problems = "\n".join(dc.kubernetes_problems(docs))
    assert "'runAsNonRot' was unexpected" in problems
    assert "containers/0/ports/0/containerPort" in problems
    assert "has no policy/v1beta1 PodDisruptionBudget" in problems


def test_reference_checks_find_mistakes():
    docs = docs_of("production")
    deployments = of_kind(docs, "Deployment")
    container = containers(deployments["mla"])[0]
    container["readinessProbe"]["httpGet"]["port"] = "metrics"
    container["resources"]["limits"]["memory"] = "1GB"
    container["envFrom"][0]["configMapRef"]["name"] = "nowhere"
    deployments["timeline"]["spec"]["replicas"] = 2  # fights its HorizontalPodAutoscaler
    of_kind(docs, "Ingress")["gateway"]["spec"]["rules"][0]["http"]["paths"][0]["backend"][
        "service"
    ]["port"] = {"name": "https"}
    of_kind(docs, "PodDisruptionBudget")["notification"]["spec"]["selector"]["matchLabels"][
        "app.kubernetes.io/component"
    ] = "notifications"
    problems = "\n".join(dc.reference_problems(docs))
    for needle in (
        "readinessProbe names no port 'metrics'",
        "limits.memory '1GB' is not a quantity",
        "envFrom names no ConfigMap 'nowhere'",
        "Deployment/cp247-timeline: sets replicas under a HorizontalPodAutoscaler",
        "Ingress/cp247-gateway: Service cp247-gateway has no port",
        "PodDisruptionBudget/cp247-notification: does not select one Deployment",
    ):
        assert needle in problems, needle


def test_compose_checks_find_mistakes(tmp_path):
    compose = yaml.safe_load(dc.COMPOSE_FILE.read_text())
    compose["services"]["mla"]["healtcheck"] = {"test": ["CMD", "true"]}
    compose["services"]["timeline"]["restart"] = 3
    compose["services"]["gateway"]["depends_on"]["ldap"] = {"condition": "service_healthy"}
    compose["services"]["notification"]["volumes"] = ["outbox:/var/spool", "./no-such:/x:ro"]
    bad = tmp_path / "docker-compose.yml"
    bad.write_text(yaml.safe_dump(compose))
    env = tmp_path / ".env"
    env.write_text("POSTGRES_PASSWORD=x\n")  # RABBITMQ_PASSWORD and the keys missing
    problems = "\n".join(dc.check_compose(bad, env))
    for needle in (
        "'healtcheck' was unexpected",
        "services/timeline/restart: 3 is not of type 'string'",
        "depends_on: no service 'ldap'",
        "named volume 'outbox' undeclared",
        "./no-such does not exist",
        "${RABBITMQ_PASSWORD} is required",
        "${CP247_EVENTS_KEY} is required",
    ):
        assert needle in problems, needle


def test_interpolation_follows_compose():
    env = {"SET": "value", "EMPTY": ""}
    cases = {
        "$$HOME ${SET}": "$HOME value",
        "${UNSET:-fallback}/${EMPTY:-fallback}/${EMPTY-fallback}": "fallback/fallback/",
        "${SET:+alt}${UNSET:+alt}${EMPTY+alt}": "altalt",
        "$SET-$UNSET.": "value-.",
    }
    for text, expected in cases.items():
        problems: list[str] = []
        assert dc.interpolate(text, env, problems) == expected, text
        assert problems == []
    problems = []
    dc.interpolate({"a": "${EMPTY:?say why}", "b": "${EMPTY?fine}"}, env, problems)
    assert problems == ["a: ${EMPTY} is required (say why)"]


def test_yaml_lint_finds_mistakes():
    problems = "\n".join(dc.lint_rendered("a: 1\na: 2\nb:  [1,2]\nc: yes\n", "x.yaml"))
    for rule in ("key-duplicates", "colons", "commas", "truthy"):
        assert f"({rule})" in problems, rule


def test_vendored_compose_schema_is_the_recorded_one():
    readme = (dc.COMPOSE_SCHEMA.parent / "README.md").read_text()
    digest = hashlib.sha256(dc.COMPOSE_SCHEMA.read_bytes()).hexdigest()
    assert f"sha256 `{digest}`" in readme, "update infra/schemas/README.md with the new sha256"
    assert "Apache License" in (dc.COMPOSE_SCHEMA.parent / "LICENSE.compose-spec").read_text()
    schema = dc.compose_schema()
    assert schema["title"] == "Compose Specification"
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


# --- what the chart renders ---------------------------------------------------------------


def test_default_values_render_the_base_set():
    docs = docs_of("default")
    kinds = sorted(d["kind"] for d in docs)
    dashboards = sorted(DASHBOARD_DIR.glob("*.json"))
    assert kinds == sorted(
        ["Deployment", "PodDisruptionBudget", "NetworkPolicy"] * len(SERVICES)
        + ["ConfigMap"] * (1 + len(dashboards))
        + ["Service"]
    )
    for name, dep in of_kind(docs, "Deployment").items():
        assert dep["spec"]["replicas"] == 1, name


def test_production_values_scale_out():
    docs = docs_of("production")
    values = values_of("production")
    deployments = of_kind(docs, "Deployment")
    autoscalers = of_kind(docs, "HorizontalPodAutoscaler")
    budgets = of_kind(docs, "PodDisruptionBudget")
    assert (
        set(deployments)
        == set(autoscalers)
        == set(budgets)
        == {s.replace("_", "-") for s in SERVICES}
    )
    for name, dep in deployments.items():
        hpa = autoscalers[name]["spec"]
        assert "replicas" not in dep["spec"], f"{name}: left to its autoscaler"
        assert hpa["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": dep["metadata"]["name"],
        }
        assert 2 <= hpa["minReplicas"] < hpa["maxReplicas"], name
        assert hpa["metrics"][0]["resource"]["name"] == "cpu"
        assert budgets[name]["spec"]["maxUnavailable"] == 1
        pod = dep["spec"]["template"]["spec"]
        assert pod["topologySpreadConstraints"][0]["topologyKey"] == "topology.kubernetes.io/zone"
        for container in pod["containers"]:
            resources = container["resources"]
            assert resources["requests"]["cpu"] and resources["requests"]["memory"], name
            assert resources["limits"]["memory"], name
        strategy = dep["spec"]["strategy"]["rollingUpdate"]
        assert strategy["maxUnavailable"] == 0, "a rolling update keeps every replica ready"
    assert autoscalers["gateway"]["spec"]["minReplicas"] == 3

    # external RabbitMQ and PostgreSQL: addresses outside the cluster, no chart-made servers
    for backend in ("rabbitmq", "postgres"):
        peers = values[backend]["peers"]
        assert peers and all(ipaddress.ip_network(p["ipBlock"]["cidr"]) for p in peers)
    images = {c["image"] for d in deployments.values() for c in containers(d)}
    assert images == {"registry.example.org/cp247/cp247:0.1.0"}


def test_production_ingress_has_tls():
    docs = docs_of("production")
    (ingress,) = [d for d in docs if d["kind"] == "Ingress"]
    (rule,) = ingress["spec"]["rules"]
    host = rule["host"]
    assert host == "cp247.police.example.org"
    assert ingress["spec"]["tls"] == [{"secretName": "cp247-gateway-tls", "hosts": [host]}]
    assert ingress["spec"]["ingressClassName"] == "nginx"
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "cp247-gateway", "port": {"name": "http"}}
    (config,) = [d for d in docs if d["metadata"]["name"] == "cp247-config"]
    assert config["data"]["CP247_PUBLIC_URL"] == f"https://{host}"


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_only_the_gateway_is_reachable(value_set):
    docs = docs_of(value_set)
    values = values_of(value_set)
    net = values["networkPolicy"]
    policies = of_kind(docs, "NetworkPolicy")
    deployments = of_kind(docs, "Deployment")
    assert set(policies) == set(deployments)
    backend_ports = {53, *values["rabbitmq"]["ports"], *values["postgres"]["ports"]}
    for name, policy in policies.items():
        spec = policy["spec"]
        pod_labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert spec["podSelector"]["matchLabels"].items() <= pod_labels.items()
        assert spec["policyTypes"] == ["Ingress", "Egress"]
        sources = [rule.get("from") for rule in spec.get("ingress", [])]
        if name == "gateway":
            assert (net["gatewayFrom"] or None) in sources
        else:  # Prometheus only
            assert sources == ([net["metricsFrom"]] if net["metricsFrom"] else [])
        for rule in spec.get("ingress", []):
            assert rule["ports"] == [{"port": "http", "protocol": "TCP"}]
        service = name.replace("-", "_")
        extra = net["extraEgress"].get(service, [])
        egress = spec["egress"]
        assert egress[len(egress) - len(extra) :] == extra
        for rule in egress[: len(egress) - len(extra)]:
            assert {p["port"] for p in rule["ports"]} <= backend_ports, name
    services = [d for d in docs if d["kind"] == "Service"]
    assert [s["metadata"]["name"] for s in services] == ["cp247-gateway"]


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_grafana_dashboards_as_config_maps(value_set):
    docs = docs_of(value_set)
    values = values_of(value_set)["grafana"]["dashboards"]
    assert os.readlink(dc.CHART_DIR / "dashboards") == "../../infra/grafana/dashboards"
    maps = {
        key: d
        for d in docs
        if d["kind"] == "ConfigMap"
        for key in d["data"]
        if key.endswith(".json")
    }
    assert set(maps) == {p.name for p in DASHBOARD_DIR.glob("*.json")}
    for name, config_map in maps.items():
        assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
        expected = (DASHBOARD_DIR / name).read_text().rstrip("\n")
        expected = expected.replace(
            '"uid": "cp247-prometheus"', f'"uid": "{values["datasourceUid"]}"'
        )
        assert config_map["data"][name] == expected


def test_national_policy_config_map():
    default = {d["metadata"]["name"]: d for d in docs_of("default")}
    assert default["cp247-config"]["data"]["CP247_POLICY"] in PROFILES
    assert "cp247-policy" not in default

    docs = docs_of("production")
    by_name = {d["metadata"]["name"]: d for d in docs}
    policy_file = by_name["cp247-config"]["data"]["CP247_POLICY"]
    mount_dir, file_name = policy_file.rsplit("/", 1)
    text = by_name["cp247-policy"]["data"][file_name]
    policy = parse_policy(yaml.safe_load(text), "cp247-policy")  # as the services will
    assert policy.name == "romania-like"
    romania = yaml.safe_load((ROOT / "infra" / "policy" / "romania-like.yaml").read_text())
    assert yaml.safe_load(text) == romania
    for dep in of_kind(docs, "Deployment").values():
        pod = dep["spec"]["template"]["spec"]
        (mount,) = [m for m in containers(dep)[0]["volumeMounts"] if m["name"] == "policy"]
        assert mount == {"name": "policy", "mountPath": mount_dir, "readOnly": True}
        (volume,) = [v for v in pod["volumes"] if v["name"] == "policy"]
        assert volume["configMap"]["name"] == "cp247-policy"


def test_duty_roster_config_map_reaches_only_notification_and_the_gateway():
    default = {d["metadata"]["name"]: d for d in docs_of("default")}
    assert "cp247-roster" not in default  # the built-in duty desks

    docs = docs_of("production")
    by_name = {d["metadata"]["name"]: d for d in docs}
    text = by_name["cp247-roster"]["data"]["roster.yaml"]
    assert text == (ROOT / "infra" / "roster.example.yaml").read_text()  # as written
    Roster.from_mapping(yaml.safe_load(text), "cp247-roster")  # as the services read it
    readers = set()
    for name, dep in of_kind(docs, "Deployment").items():
        (container,) = containers(dep)
        env = {e["name"]: e.get("value") for e in container["env"]}
        mounts = [m for m in container["volumeMounts"] if m["name"] == "roster"]
        if "CP247_ROSTER" in env:
            readers.add(name)
            (mount,) = mounts
            assert env["CP247_ROSTER"] == f"{mount['mountPath']}/roster.yaml" and mount["readOnly"]
        else:
            assert not mounts, name  # phones and addresses stay where they are needed
    assert readers == {"notification", "gateway"}


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_secrets_come_from_existing_secrets(value_set):
    docs = docs_of(value_set)
    assert not [d for d in docs if d["kind"] == "Secret"], "the chart never makes a Secret"
    keys = values_of(value_set)["keys"]["existingSecret"]
    for name, dep in of_kind(docs, "Deployment").items():
        (container,) = containers(dep)
        for env in container["env"]:
            if "value" in env and env["name"] != "CP247_SIGNING_KEY":  # that one is a path
                assert not re.search(r"PASS|SECRET|TOKEN|KEY|URI|URL", env["name"]), env
        pod = dep["spec"]["template"]["spec"]
        signs = name.replace("-", "_") in SIGNERS
        volumes = {v["name"]: v for v in pod["volumes"]}
        mounts = {m["name"]: m for m in container["volumeMounts"]}
        env = {e["name"]: e for e in container["env"]}
        assert ("signing-key" in volumes) == signs == ("CP247_SIGNING_KEY" in env), name
        if signs:
            secret = volumes["signing-key"]["secret"]
            assert secret["secretName"] == keys["name"]
            (item,) = secret["items"]
            assert item["key"] == keys["signingKey"]
            assert mounts["signing-key"]["readOnly"] is True
            path = f"{mounts['signing-key']['mountPath']}/{item['path']}"
            assert env["CP247_SIGNING_KEY"]["value"] == path
    (config,) = [d for d in docs if d["metadata"]["name"] == "cp247-config"]
    assert not any(re.search(r"PASSWORD|SECRET|TOKEN|_KEY$", k) for k in config["data"])


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_pods_are_locked_down(value_set):
    for name, dep in of_kind(docs_of(value_set), "Deployment").items():
        pod = dep["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["automountServiceAccountToken"] is False, name
        (container,) = pod["containers"]
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False
        assert context["readOnlyRootFilesystem"] is True
        assert context["capabilities"]["drop"] == ["ALL"]
        writable = {m["mountPath"] for m in container["volumeMounts"] if not m.get("readOnly")}
        assert writable == {"/tmp", "/app/cp247-data"}, name


# --- docker-compose.yml and the infra files it mounts -----------------------------------------


def test_compose_mounts_rabbitmq_definitions_read_only():
    compose = yaml.safe_load(dc.COMPOSE_FILE.read_text())
    rabbit = compose["services"]["rabbitmq"]
    mounts = {v["source"]: v for v in dc.compose_volumes(rabbit) if v["type"] == "bind"}
    definitions = mounts.get("./infra/rabbitmq/definitions.json")
    assert definitions and definitions["read_only"], "definitions.json mounted read-only"
    conf = RABBITMQ_DIR / "rabbitmq.conf"
    if conf.exists():
        # A broker configuration file of cp247's own: loaded by the broker (conf.d), and its
        # load_definitions names the definitions where compose mounts them.
        mounted = mounts.get("./infra/rabbitmq/rabbitmq.conf")
        assert mounted and mounted["read_only"], "compose must mount infra/rabbitmq/rabbitmq.conf"
        assert mounted["target"].startswith("/etc/rabbitmq/conf.d/"), mounted["target"]
        assert mounted["target"].endswith(".conf")
        settings = dict(
            (part.strip() for part in line.split("=", 1))
            for line in conf.read_text().splitlines()
            if "=" in line and not line.lstrip().startswith("#")
        )
        if "load_definitions" in settings:
            assert settings["load_definitions"] == definitions["target"]


def test_compose_mounts_postgres_init_read_only():
    compose = yaml.safe_load(dc.COMPOSE_FILE.read_text())
    volumes = dc.compose_volumes(compose["services"]["postgres"])
    init = [v for v in volumes if v["target"] == "/docker-entrypoint-initdb.d"]
    assert init and init[0]["read_only"]
    source = ROOT / init[0]["source"]
    assert (source / "init.sql").is_file() if source.is_dir() else source.name == "init.sql"


def test_compose_signers_share_one_signing_key():
    compose = yaml.safe_load(dc.COMPOSE_FILE.read_text())
    for name in SERVICES:
        volumes = {v["target"]: v for v in dc.compose_volumes(compose["services"][name])}
        data = volumes.get("/app/cp247-data")  # CP247_DATA_DIR: keys/ holds the signing key
        if name in SIGNERS:
            assert data and data["type"] == "volume" and data["source"] == "signing-key", name
        else:
            assert data is None, name
    assert "signing-key" in compose["volumes"]
