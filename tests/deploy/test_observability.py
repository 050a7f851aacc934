"""Static checks of the observability assets: infra/prometheus, infra/grafana and their
services in docker-compose.yml.

Every PromQL expression (dashboard panels, dashboard variables, alerting rules) may name only
series that cp247 really exports. That set is derived from the metric objects in
cp247/metrics.py through prometheus_client itself (a counter ``x`` is exposed as ``x_total``,
a histogram as ``x_bucket``/``x_sum``/``x_count``, ...), never written down here.

The checks are pure Python. When ``promtool`` is on PATH (Debian package ``prometheus``), the
config, the rules and every dashboard expression are also checked by it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Enum,
    Gauge,
    Histogram,
    Info,
    Summary,
    generate_latest,
)
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from cp247 import metrics
from cp247.distributed import SERVICES
from events import registry as event_registry
from services.timeline.app import SOURCES as TIMELINE_SOURCES

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
PROMETHEUS_DIR = ROOT / "infra" / "prometheus"
PROMETHEUS_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
ALERTS = PROMETHEUS_DIR / "alerts.yml"
GRAFANA_DIR = ROOT / "infra" / "grafana"
DASHBOARD_DIR = GRAFANA_DIR / "dashboards"
DATASOURCES = GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml"
DASHBOARD_PROVIDERS = GRAFANA_DIR / "provisioning" / "dashboards" / "cp247.yml"
DASHBOARDS = sorted(DASHBOARD_DIR.glob("*.json"))

PROMTOOL = shutil.which("promtool")
# Series Prometheus makes itself for every target; anything else must come from cp247.
PROMETHEUS_SYNTHETIC = {"up"}
# Grafana's built-in variables, and what to put in their place for promtool.
GRAFANA_VARIABLES = {"__rate_interval": "1m", "__interval": "1m", "__range": "1h"}

# Note: the classes, not the metric names, are what is listed here.
METRIC_CLASSES = {
    "counter": Counter,
    "gauge": Gauge,
    "histogram": Histogram,
    "summary": Summary,
    "info": Info,
    "stateset": Enum,
}


# --- what cp247 exports ---------------------------------------------------------------------


def cp247_collectors() -> list[Collector]:
    """The collectors cp247/metrics.py defines (``Collector`` is a protocol: duck-typed)."""
    return [
        obj
        for obj in vars(metrics).values()
        if not isinstance(obj, type | ModuleType)
        and callable(getattr(obj, "describe", None))
        and callable(getattr(obj, "collect", None))
    ]


def exposition_of(family_type: str, name: str, documentation: str) -> str:
    """The text exposition of a fresh, unlabelled metric of this type and name."""
    cls = METRIC_CLASSES.get(family_type)
    assert cls is not None, f"{name}: no check for metric type {family_type!r} yet"
    registry = CollectorRegistry()
    extra = {"states": ["a", "b"]} if cls is Enum else {}
    cls(name, documentation or "-", registry=registry, **extra)
    return generate_latest(registry).decode()


def exported_families() -> dict[str, tuple[str, set[str]]]:
    """family name -> (type, names of the series it exposes), for every cp247 metric."""
    families: dict[str, tuple[str, set[str]]] = {}
    for collector in cp247_collectors():
        for described in collector.describe():
            text = exposition_of(described.type, described.name, described.documentation)
            # The text format puts x_created beside a counter x as a family of its own.
            parsed = list(text_string_to_metric_families(text))
            assert described.name in {family.name for family in parsed}
            assert described.name not in families, f"{described.name} is defined twice"
            series = {sample.name for family in parsed for sample in family.samples}
            families[described.name] = (described.type, series)
    return families


@pytest.fixture(scope="module")
def families() -> dict[str, tuple[str, set[str]]]:
    return exported_families()


@pytest.fixture(scope="module")
def exported(families) -> set[str]:
    return {name for _, names in families.values() for name in names}


def test_exported_names_are_derived_from_the_metric_types(families, exported):
    types = {name: typ for name, (typ, _) in families.items()}
    assert types["cp247_requests_registered"] == "counter"
    assert "cp247_requests_registered_total" in exported
    assert "cp247_requests_registered" not in exported
    assert types["cp247_event_handler_seconds"] == "histogram"
    assert {
        "cp247_event_handler_seconds_bucket",
        "cp247_event_handler_seconds_sum",
        "cp247_event_handler_seconds_count",
    } <= exported
    assert "cp247_event_handler_seconds" not in exported


# --- naming conventions ---------------------------------------------------------------------

SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
# Prometheus wants base units: seconds, bytes, ratios (not percent, milliseconds, ...).
NON_BASE_UNITS = re.compile(
    r"_(milli|micro|nano)?(ms|us|ns|milliseconds|microseconds|nanoseconds|minutes|hours|days"
    r"|kilobytes|megabytes|gigabytes|kb|mb|gb|percent|pct)(_|$)"
)
BASE_UNIT_SUFFIXES = ("_seconds", "_bytes", "_ratio")


def test_metric_names_follow_prometheus_conventions(families):
    problems = []
    for name, (typ, series) in families.items():
        if not (name.startswith("cp247_") and SNAKE.match(name)):
            problems.append(f"{name}: not snake_case with the cp247_ prefix")
        if NON_BASE_UNITS.search(name):
            problems.append(f"{name}: use base units (seconds, bytes, ratio)")
        if typ == "counter":
            if {s for s in series if not s.endswith("_created")} != {f"{name}_total"}:
                problems.append(f"{name}: a counter must be exposed as {name}_total")
        elif name.endswith("_total"):
            problems.append(f"{name}: only counters end in _total ({typ})")
        if typ in ("histogram", "summary") and not name.endswith(BASE_UNIT_SUFFIXES):
            problems.append(f"{name}: a {typ} needs a base unit suffix {BASE_UNIT_SUFFIXES}")
    assert not problems, problems


def test_metric_labels_are_snake_case_and_not_reserved():
    for collector in cp247_collectors():
        # prometheus_client keeps the declared label names here (there is no public getter).
        for label in getattr(collector, "_labelnames", ()):
            assert SNAKE.match(label), (collector, label)
            assert label not in ("le", "quantile", "job", "instance"), (collector, label)


def require_promtool() -> None:
    """promtool is part of what `make test` checks (README): .ci/run installs it."""
    if PROMTOOL is None:
        pytest.fail("promtool not on PATH: apt-get install prometheus (as .ci/run does)")


def test_metrics_pass_promtool_lint(families):
    require_promtool()
    text = "".join(exposition_of(typ, name, f"{name} help") for name, (typ, _) in families.items())
    result = subprocess.run(
        [PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- PromQL: which series does an expression name ---------------------------------------------

STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
GRAFANA_VARIABLE = re.compile(r"\$\{[^}]*\}|\$\w+")
MATCHERS = re.compile(r"\{[^{}]*\}")
RANGE = re.compile(r"\[[^\]]*\]")
GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
IDENTIFIER = re.compile(r"(?<![\w.:])([A-Za-z_:][\w:]*)(\s*\()?")
KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
    "and", "or", "unless", "offset", "inf", "nan",
}  # fmt: skip


def series_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (not functions, labels or keywords)."""
    text = STRING.sub('""', expr)
    text = GRAFANA_VARIABLE.sub("1", text)
    text = MATCHERS.sub("", text)
    text = RANGE.sub("", text)
    text = GROUPING.sub("", text)
    names = set()
    for match in IDENTIFIER.finditer(text):
        word, call = match.group(1), match.group(2)
        if call or word.lower() in KEYWORDS:
            continue
        names.add(word)
    return names


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ('rate(a_total{x="b_total", y=~"$v"}[5m])', {"a_total"}),
        (
            "sum by (le, service) (rate(h_bucket[$__rate_interval])) "
            "/ on (service) group_left (z) max without (instance) (g)",
            {"h_bucket", "g"},
        ),
        ('label_replace(p, "upstream", "$1", "service", "(.+)") - on (upstream) q', {"p", "q"}),
        ("(c unless c offset 15m) or increase(c[1h]) > 0 and up == bool 1", {"c", "up"}),
        ("histogram_quantile(0.95, sum(rate(x_bucket[1m])) by (le))", {"x_bucket"}),
        ('topk(10, count_values("v", y)) * 1e3', {"y"}),
    ],
)
def test_series_names(expr, expected):
    assert series_names(expr) == expected


def label_values(expr: str, label: str) -> set[str]:
    """Values an expression's matchers give ``label`` (``=`` and ``=~`` with alternatives)."""
    values = set()
    for op, value in re.findall(rf'\b{label}\s*(=~|=)\s*"([^"]*)"', expr):
        values.update(value.split("|") if op == "=~" else [value])
    return values


def check_expr(expr: str, exported: set[str], where: str) -> list[str]:
    problems = []
    names = series_names(expr)
    if not names:
        problems.append(f"{where}: selects no series: {expr}")
    for name in sorted(names - exported - PROMETHEUS_SYNTHETIC):
        problems.append(f"{where}: {name} is not exported by cp247/metrics.py")
    for service in label_values(expr, "service"):
        if service not in SERVICES and not service.startswith("$"):  # $var: Grafana's
            problems.append(f"{where}: no service {service!r}")
    for event in label_values(expr, "event"):
        if event not in event_registry:
            problems.append(f"{where}: no contract event {event!r}")
        elif (
            'service="timeline"' in expr
            and event_registry.get(event).source not in TIMELINE_SOURCES
        ):
            problems.append(f"{where}: timeline does not consume {event}")
    for job in label_values(expr, "job"):
        if job not in scrape_jobs():
            problems.append(f"{where}: no scrape job {job!r}")
    return problems


# --- infra/prometheus -------------------------------------------------------------------------


def load_yaml(path: Path):
    with path.open() as fh:
        return yaml.safe_load(fh)


@pytest.fixture(scope="module")
def compose() -> dict:
    return load_yaml(COMPOSE_FILE)


@pytest.fixture(scope="module")
def prometheus_config() -> dict:
    return load_yaml(PROMETHEUS_CONFIG)


def scrape_jobs() -> dict[str, dict]:
    return {job["job_name"]: job for job in load_yaml(PROMETHEUS_CONFIG)["scrape_configs"]}


def targets_of(job: dict) -> list[str]:
    return [t for static in job.get("static_configs", []) for t in static["targets"]]


def metrics_services(compose: dict) -> dict[str, int]:
    """Compose services that serve /metrics (every nameko service process) -> their port."""
    served = {}
    for name, svc in compose["services"].items():
        command = svc.get("command") or []
        if command[:2] == ["nameko", "run"]:
            env = svc.get("environment", {})
            served[name] = int(str(env["WEB_SERVER_ADDRESS"]).rsplit(":", 1)[1])
    return served


def test_every_metrics_service_is_scraped(compose, prometheus_config):
    served = metrics_services(compose)
    assert set(served) == set(SERVICES)
    jobs = scrape_jobs()
    for service, port in served.items():
        job = jobs.get(service)
        assert job is not None, f"no scrape job named {service}"
        assert targets_of(job) == [f"{service}:{port}"], service
        assert job.get("metrics_path", "/metrics") == "/metrics"
        assert job.get("scheme", "http") == "http"
        # /metrics needs the scrape token: compose hands Prometheus the secret as this file.
        assert job["authorization"] == {"credentials_file": "/run/secrets/metrics_token"}
    assert len(jobs) == len(prometheus_config["scrape_configs"]), "job names must be unique"
    assert "metrics_token" in compose["services"]["prometheus"]["secrets"]
    assert compose["secrets"]["metrics_token"] == {"environment": "CP247_METRICS_TOKEN"}


def test_scrape_targets_are_compose_services(compose):
    for name, job in scrape_jobs().items():
        for target in targets_of(job):
            host, _, port = target.rpartition(":")
            assert port.isdigit(), target
            assert host in compose["services"] or host == "localhost", f"{name}: {target}"


def test_prometheus_config_globals(prometheus_config):
    interval = prometheus_config["global"]["scrape_interval"]
    assert re.fullmatch(r"\d+[smh]", interval)
    for rule_file in prometheus_config["rule_files"]:
        assert (PROMETHEUS_DIR / rule_file).is_file(), rule_file


@pytest.fixture(scope="module")
def alert_rules() -> list[dict]:
    data = load_yaml(ALERTS)
    return [rule for group in data["groups"] for rule in group["rules"]]


def test_alert_rules(alert_rules, exported):
    assert alert_rules
    names = [rule["alert"] for rule in alert_rules]
    assert len(names) == len(set(names)), names
    problems = []
    for rule in alert_rules:
        assert set(rule) <= {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
        assert rule["labels"]["severity"] in ("critical", "warning", "info"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        if "for" in rule:
            assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["alert"]
        problems += check_expr(rule["expr"], exported, rule["alert"])
    assert not problems, problems


def test_alerts_cover_the_essentials(alert_rules):
    exprs = " ".join(rule["expr"] for rule in alert_rules)
    for needle in (
        "up{",
        "cp247_dead_letters_total",
        "NotificationFailed",
        "FollowUpOverdue",
        "EscalationRaised",
        "cp247_webhook_attempts_total",
        "cp247_inbox_position",
    ):
        assert needle in exprs, needle


def test_promtool_checks_config_and_rules(tmp_path):
    require_promtool()
    # `check config` also checks the rule files it names, and that the scrape token's file
    # exists: the compose secret's path is pointed at a stand-in, next to copies of the rules.
    token = tmp_path / "metrics_token"
    token.write_text("stand-in")
    config = PROMETHEUS_CONFIG.read_text()
    assert "/run/secrets/metrics_token" in config
    (tmp_path / "prometheus.yml").write_text(
        config.replace("/run/secrets/metrics_token", str(token))
    )
    for rule_file in yaml.safe_load(config)["rule_files"]:
        shutil.copy(PROMETHEUS_DIR / rule_file, tmp_path / rule_file)
    result = subprocess.run(
        [PROMTOOL, "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- infra/grafana ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def datasource() -> dict:
    (source,) = load_yaml(DATASOURCES)["datasources"]
    return source


@pytest.fixture(scope="module")
def dashboards() -> dict[str, dict]:
    return {path.name: json.loads(path.read_text()) for path in DASHBOARDS}


def all_panels(panels: list[dict]) -> Iterator[dict]:
    for panel in panels:
        yield panel
        yield from all_panels(panel.get("panels", []))  # collapsed rows hold their panels


def dashboard_exprs(dashboard: dict) -> Iterator[tuple[str, str]]:
    for panel in all_panels(dashboard["panels"]):
        for target in panel.get("targets", []):
            yield f"{dashboard['uid']}/{panel['title']}/{target['refId']}", target["expr"]


def variable_exprs(dashboard: dict) -> Iterator[tuple[str, str]]:
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable["type"] != "query":
            continue
        query = variable["query"]
        query = query["query"] if isinstance(query, dict) else query
        match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", query)
        yield f"{dashboard['uid']}/${variable['name']}", match.group(1) if match else query


def test_datasource_provisioning(datasource, compose):
    assert datasource["type"] == "prometheus"
    assert datasource["uid"] and datasource["isDefault"] is True
    url = re.fullmatch(r"http://([\w.-]+):(\d+)/?", datasource["url"])
    assert url, datasource["url"]
    assert url.group(1) == "prometheus" and "prometheus" in compose["services"]
    assert url.group(2) == "9090"  # Prometheus's listen port (no --web.listen-address given)
    assert "--web.listen-address" not in " ".join(compose["services"]["prometheus"]["command"])


def test_at_least_two_dashboards(dashboards):
    assert len(dashboards) >= 2, sorted(dashboards)
    uids = [d["uid"] for d in dashboards.values()]
    titles = [d["title"] for d in dashboards.values()]
    assert len(set(uids)) == len(uids) and len(set(titles)) == len(titles)


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_is_valid(path, datasource):
    dashboard = json.loads(path.read_text())
    assert isinstance(dashboard["schemaVersion"], int) and dashboard["schemaVersion"] >= 36
    assert re.fullmatch(r"[a-zA-Z0-9_-]{1,40}", dashboard["uid"]), dashboard["uid"]
    assert dashboard["title"] and dashboard.get("id") is None  # Grafana assigns ids
    panels = list(all_panels(dashboard["panels"]))
    assert any(p["type"] != "row" for p in panels), "no panels"
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    occupied: dict[tuple[int, int], str] = {}
    for panel in panels:
        title = panel["title"]
        grid = panel["gridPos"]
        assert all(isinstance(grid[k], int) for k in ("h", "w", "x", "y")), title
        assert grid["w"] > 0 and grid["h"] > 0 and grid["x"] >= 0 and grid["x"] + grid["w"] <= 24
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in occupied, f"{title!r} overlaps {occupied[(x, y)]!r}"
                occupied[(x, y)] = title
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": datasource["uid"]}, title
        targets = panel["targets"]
        assert targets, title
        assert len({t["refId"] for t in targets}) == len(targets), title
        for target in targets:
            assert target["expr"].strip(), title
            assert target.get("datasource", panel["datasource"]) == panel["datasource"], title
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable["type"] == "query":
            assert variable["datasource"]["uid"] == datasource["uid"], variable["name"]


def test_dashboards_use_only_exported_metrics(dashboards, exported):
    problems = []
    for dashboard in dashboards.values():
        for where, expr in [*dashboard_exprs(dashboard), *variable_exprs(dashboard)]:
            problems += check_expr(expr, exported, where)
    assert not problems, problems


def test_dashboards_show_what_the_issue_asks_for(dashboards):
    exprs = " ".join(expr for d in dashboards.values() for _, expr in dashboard_exprs(d))
    for needle in (
        "cp247_requests_registered_total",  # traffic by type and direction
        "cp247_event_handler_seconds_bucket",  # handler latency from the histogram
        "cp247_inbox_position",  # queue lag
        "cp247_dead_letters_total",
        "cp247_http_requests_total",
        "FollowUpOverdue",  # clock breaches
        "EscalationRaised",
        "NotificationFailed",  # notification failures
        "MessageAttemptFailed",  # and retries
        "cp247_webhook_attempts_total",
    ):
        assert needle in exprs, needle
    assert "histogram_quantile(0.5," in exprs and "histogram_quantile(0.95," in exprs


def test_promtool_parses_dashboard_exprs(dashboards, tmp_path):
    require_promtool()

    def substitute(match: re.Match) -> str:
        name = match.group(0).strip("${}")
        return GRAFANA_VARIABLES.get(name, ".*")

    rules = [
        {"record": f"cp247:dashboard_check:{i}", "expr": GRAFANA_VARIABLE.sub(substitute, expr)}
        for i, (_, expr) in enumerate(e for d in dashboards.values() for e in dashboard_exprs(d))
    ]
    path = tmp_path / "dashboard-exprs.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = subprocess.run(
        [PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- docker-compose.yml: prometheus and grafana -----------------------------------------------


def mounts(svc: dict) -> dict[str, tuple[str, bool]]:
    """container path -> (source, read-only) for short-form volume entries."""
    result = {}
    for entry in svc.get("volumes", []):
        parts = str(entry).split(":")
        source, target = parts[0], parts[1]
        result[target] = (source, len(parts) > 2 and "ro" in parts[2].split(","))
    return result


def test_compose_prometheus(compose, prometheus_config):
    prom = compose["services"]["prometheus"]
    image, _, tag = prom["image"].partition(":")
    assert image == "prom/prometheus" and tag and tag != "latest"
    args = dict(arg.split("=", 1) for arg in prom["command"])
    config_path = args["--config.file"]
    volume = mounts(prom)
    assert volume[config_path] == ("./infra/prometheus/prometheus.yml", True)
    config_dir = config_path.rsplit("/", 1)[0]
    for rule_file in prometheus_config["rule_files"]:  # relative to the config file
        assert volume[f"{config_dir}/{rule_file}"] == (f"./infra/prometheus/{rule_file}", True)
    storage = args["--storage.tsdb.path"]
    assert volume[storage][0] in compose["volumes"], "TSDB on a named volume"
    assert prom["ports"] == ["127.0.0.1:9090:9090"]
    assert prom["healthcheck"]["test"][0] == "CMD"


def test_compose_grafana(compose, datasource):
    grafana = compose["services"]["grafana"]
    image, _, tag = grafana["image"].partition(":")
    assert image == "grafana/grafana" and tag and tag != "latest"
    volume = mounts(grafana)
    for kind in ("datasources", "dashboards"):
        target = f"/etc/grafana/provisioning/{kind}"
        assert volume[target] == (f"./infra/grafana/provisioning/{kind}", True)
    (provider,) = load_yaml(DASHBOARD_PROVIDERS)["providers"]
    assert provider["type"] == "file"
    assert volume[provider["options"]["path"]] == ("./infra/grafana/dashboards", True)
    assert volume["/var/lib/grafana"][0] in compose["volumes"]
    env = {k: str(v) for k, v in grafana["environment"].items()}
    assert env["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD:?")
    assert env["GF_USERS_ALLOW_SIGN_UP"] == "false"
    home = env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home.startswith(provider["options"]["path"] + "/")
    assert (DASHBOARD_DIR / home.rsplit("/", 1)[1]).is_file()
    assert grafana["depends_on"]["prometheus"]["condition"] == "service_healthy"
    assert grafana["ports"] == ["127.0.0.1:3000:3000"]


def test_compose_mounts_of_infra_exist(compose):
    for name in ("prometheus", "grafana"):
        for source, _ in mounts(compose["services"][name]).values():
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name}: {source}"
