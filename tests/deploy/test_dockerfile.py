"""The image can reach PostgreSQL: psycopg finds a libpq in the runtime stage.

The project gets psycopg from ``eventsourcing[postgres]`` (``psycopg[pool]``), the pure-Python
build, which loads the system's ``libpq.so.5`` at import; ``python:3.11-slim`` has none, so
without one every PostgreSQL service dies at start inside a container. No Docker engine here:
the recipe is read as text.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BINARY_EXTRA = re.compile(r"^psycopg\[[^\]]*\b(binary|c)\b[^\]]*\]", re.IGNORECASE)


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", "\n".join(
        line for line in text.splitlines() if not line.lstrip().startswith("#")
    ))  # fmt: skip
    result = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def final_stage(text: str) -> list[tuple[str, str]]:
    steps = instructions(text)
    last_from = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return steps[last_from:]


def apt_packages(run: str) -> set[str]:
    """The packages every ``apt-get install`` of one RUN installs."""
    packages: set[str] = set()
    for command in re.split(r"&&|;|\|\|", run):
        words = shlex.split(command)
        if words[:1] == ["apt-get"] and "install" in words:
            after = words[words.index("install") + 1 :]
            packages |= {w.split("=")[0] for w in after if not w.startswith("-")}
    return packages


def psycopg_binary_is_a_dependency() -> bool:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return any(BINARY_EXTRA.match(d.replace(" ", "")) for d in project["dependencies"])


def test_the_runtime_stage_has_libpq_for_psycopg() -> None:
    stage = final_stage((ROOT / "Dockerfile").read_text())
    runs_as_root = []
    for keyword, arguments in stage:
        if keyword == "USER":
            break
        if keyword == "RUN":
            runs_as_root.append(arguments)
    installed = set().union(*(apt_packages(run) for run in runs_as_root))
    assert "libpq5" in installed or psycopg_binary_is_a_dependency(), (
        "the image's runtime stage must install Debian's libpq5 (before USER) or the project "
        "must depend on psycopg[binary]: without a libpq, `import psycopg` fails in the image"
    )
    # The package lists are not left in the image.
    apt_runs = [run for run in runs_as_root if "apt-get" in run]
    assert all("rm -rf /var/lib/apt/lists" in run for run in apt_runs), apt_runs


def test_the_parsing_reads_what_docker_reads() -> None:
    text = (
        "FROM a AS build\nRUN apt-get install -y libpq-dev\n"
        "FROM b\n# RUN apt-get install -y libpq5\n"
        "RUN apt-get update \\\n && apt-get install -y --no-install-recommends libpq5=15.* \\\n"
        " && rm -rf /var/lib/apt/lists/*\nUSER app\n"
    )
    stage = final_stage(text)
    assert stage[0] == ("FROM", "b")
    [(_, run)] = [step for step in stage if step[0] == "RUN"]
    assert apt_packages(run) == {"libpq5"}
    assert apt_packages("apt-get update") == set()
