"""docs/legal-rules.md and the code agree: every ``# legal-rule: <id>`` marker has exactly one
row, every row's marker is in the files it names, and every row's test exists and is named
after the row's article (the way docs/security.md is kept to the gateway's route table)."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "docs" / "legal-rules.md"
SCANNED = ("cp247", "services", "events")
MARKER = re.compile(r"#\s*legal-rule:\s*(?P<id>\S*)")
RULE_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# An article of the Convention or a Protocol ("Art 29(7)", "P2 Art 9"), or "none (<source>)"
# for a rule no article states (national practice, the seed paper).
ARTICLE = re.compile(r"(?:P\d+ )?Arts? \d+\S*")
NO_ARTICLE = re.compile(r"none \(.+\)")
COLUMNS = ["Rule id", "Rule", "Article", "Code", "Test"]


@dataclass(frozen=True)
class Row:
    line: int
    rule_id: str
    rule: str
    article: str
    code: tuple[str, ...]
    test: str

    def __str__(self) -> str:
        return f"docs/legal-rules.md line {self.line} ({self.rule_id})"


def normalise_article(article: str) -> str:
    """'Art 29(7)' -> 'art29_7', 'Art 29(2)(c)' -> 'art29_2_c', 'P2 Art 9' -> 'p2_art9'."""
    text = re.sub(r"[^a-z0-9]+", "_", article.lower())
    return re.sub(r"(?<![a-z0-9])art_(?=\d)", "art", text).strip("_")


def name_must_contain(row: Row) -> str:
    """What the row's test name must carry: the normalised article; for a rule that no
    article states, the rule id's first two words (several-parties-own-request: several_parties)."""
    if NO_ARTICLE.fullmatch(row.article):
        return "_".join(row.rule_id.split("-")[:2])
    assert ARTICLE.fullmatch(row.article), (
        f"{row}: Article {row.article!r} must read like 'Art 29(7)', 'Art 29(2)(c)', "
        "'P2 Art 9', or 'none (<source>)' for a rule no article states"
    )
    return normalise_article(row.article)


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _unquote(cell: str) -> str:
    return cell.strip().strip("`").strip()


@cache
def rows() -> tuple[Row, ...]:
    """The rows of the one table whose header is COLUMNS."""
    lines = TABLE.read_text(encoding="utf-8").splitlines()
    headers = [i for i, line in enumerate(lines) if line.startswith("|") and "Rule id" in line]
    assert len(headers) == 1, f"docs/legal-rules.md needs exactly one table headed {COLUMNS}"
    start = headers[0]
    assert _cells(lines[start]) == COLUMNS, f"the table's columns must be {COLUMNS}"
    found = []
    for number, line in enumerate(lines[start + 2 :], start=start + 3):
        if not line.startswith("|"):
            break
        cells = _cells(line)
        assert len(cells) == len(COLUMNS), f"docs/legal-rules.md line {number}: {cells}"
        rule_id, rule, article, code, test = cells
        found.append(
            Row(
                line=number,
                rule_id=_unquote(rule_id),
                rule=rule,
                article=article,
                code=tuple(_unquote(path) for path in code.split(",") if path.strip()),
                test=_unquote(test),
            )
        )
    return tuple(found)


@cache
def markers() -> dict[str, set[str]]:
    """Rule id -> the files (relative to the repository) whose comments carry its marker."""
    found: dict[str, set[str]] = {}
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            source = path.read_text(encoding="utf-8")
            name = path.relative_to(ROOT).as_posix()
            for token in tokenize.generate_tokens(io.StringIO(source).readline):
                if token.type != tokenize.COMMENT:
                    continue
                match = MARKER.search(token.string)
                if match is not None:
                    rule_id = match["id"]
                    assert RULE_ID.fullmatch(rule_id), (
                        f"{name}:{token.start[0]}: {rule_id!r} is not a rule id "
                        "(lower case and dashes, e.g. art29-7-minimum-period)"
                    )
                    found.setdefault(rule_id, set()).add(name)
    return found


@cache
def functions(path: str) -> frozenset[str]:
    """Names of the functions at module level or in a class of a test file."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef)
    names = {node.name for node in tree.body if isinstance(node, kinds)}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            names |= {child.name for child in node.body if isinstance(child, kinds)}
    return frozenset(names)


def test_article_normalisation_follows_the_documented_rule():
    assert normalise_article("Art 29(7)") == "art29_7"
    assert normalise_article("Art 29(2)(c)") == "art29_2_c"
    assert normalise_article("Art 16(2)") == "art16_2"
    assert normalise_article("P2 Art 9") == "p2_art9"
    assert normalise_article("Art 30") == "art30"
    assert normalise_article("Art 30(2)") == "art30_2"


def test_the_table_has_rows_with_every_column_filled():
    assert len(rows()) >= 10, "docs/legal-rules.md lists too few rules; is the table intact?"
    for row in rows():
        assert RULE_ID.fullmatch(row.rule_id), f"{row}: the rule id must be lower-case-dashed"
        assert row.rule and row.article and row.code and row.test, f"{row}: a column is empty"


def test_every_marker_in_the_code_has_exactly_one_row():
    ids = [row.rule_id for row in rows()]
    for rule_id, files in sorted(markers().items()):
        count = ids.count(rule_id)
        assert count == 1, (
            f"marker `# legal-rule: {rule_id}` in {', '.join(sorted(files))} has {count} rows "
            "in docs/legal-rules.md; it needs exactly one"
        )


def test_every_row_has_its_marker_in_exactly_the_files_it_names():
    for row in rows():
        for path in row.code:
            assert (ROOT / path).is_file(), f"{row}: Code names {path}, which does not exist"
        marked = markers().get(row.rule_id, set())
        assert marked, f"{row}: no `# legal-rule: {row.rule_id}` marker anywhere in {SCANNED}"
        assert set(row.code) == marked, (
            f"{row}: Code names {', '.join(row.code)}, but the marker "
            f"`# legal-rule: {row.rule_id}` is in {', '.join(sorted(marked))}"
        )


def test_every_row_names_a_test_that_exists():
    for row in rows():
        path, separator, name = row.test.partition("::")
        assert separator and path.startswith("tests/") and path.endswith(".py") and name, (
            f"{row}: Test must be tests/<path>.py::<test name>, not {row.test!r}"
        )
        assert (ROOT / path).is_file(), f"{row}: the test file {path} does not exist"
        assert name in functions(path), f"{row}: {path} defines no test named {name}"


def test_every_test_is_named_after_its_article():
    for row in rows():
        wanted = name_must_contain(row)
        name = row.test.partition("::")[2]
        assert wanted in name, (
            f"{row}: the test {name} must carry the article {row.article!r} "
            f"in its name as {wanted!r}"
        )
