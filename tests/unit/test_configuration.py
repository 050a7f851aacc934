"""Configuration is read in one place (issue 19, item 2): ``cp247.config.setting`` is the
only reader of the process environment, and every variable it is asked for is documented
for the operator."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from cp247 import config

ROOT = Path(__file__).resolve().parents[2]
CODE = [p for d in ("cp247", "services", "events") for p in (ROOT / d).rglob("*.py")]
HANDBOOK = (ROOT / "docs" / "operations.md").read_text() + (ROOT / "README.md").read_text()


def environment_reads(tree: ast.AST) -> list[int]:
    """Lines that touch ``os.environ`` or call ``os.getenv``."""
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
        and node.attr in ("environ", "getenv", "environb")
    ]


def test_only_the_configuration_module_reads_the_environment():
    assert len(CODE) > 50
    found = {
        str(path.relative_to(ROOT)): lines
        for path in CODE
        if path != ROOT / "cp247" / "config.py"
        and (lines := environment_reads(ast.parse(path.read_text())))
    }
    assert found == {}


def test_every_setting_asked_for_is_documented_for_the_operator():
    asked = {
        match
        for path in CODE
        for match in re.findall(r"setting\(\s*\"([A-Z0-9_]+)\"", path.read_text())
    }
    assert {"CP247_TRUSTED_PROXY_HOPS", "CP247_RETENTION_DAYS"} <= asked
    assert sorted(name for name in asked if f"`{name}`" not in HANDBOOK) == []


def test_an_unset_or_empty_setting_is_its_default(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CP247_TRUSTED_PROXY_HOPS", "")
    assert config.setting("CP247_TRUSTED_PROXY_HOPS", "0") == "0"
    monkeypatch.setenv("CP247_TRUSTED_PROXY_HOPS", "2")
    assert config.setting("CP247_TRUSTED_PROXY_HOPS", "0") == "2"
    monkeypatch.delenv("CP247_TRUSTED_PROXY_HOPS")
    assert config.setting("CP247_TRUSTED_PROXY_HOPS") is None
