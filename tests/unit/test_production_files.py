"""What a provider produces (issue 20): every file checked against its SHA-256 on receipt,
the same files the same production, and their bytes sealed under the case key between the
gateway and isp_liaison, refused when sealed for another case."""

from __future__ import annotations

import base64
import hashlib
import os

import pytest
from slice_driver import produced_file

from cp247.casekeys import case_keys_from_env
from cp247.errors import Invalid
from cp247.runtime.sealing import SealedArguments
from services.isp_liaison.production import (
    MAX_FILES,
    PRODUCED_CONTENT,
    checked_files,
    production_id_for,
)


def a_file(content: bytes = b"subscriber 4711\n", name: str = "a.csv", **overrides) -> dict:
    return produced_file(content, name, **overrides)


def problems(body: dict) -> dict[str, list[str]]:
    with pytest.raises(Invalid) as refused:
        checked_files(body)
    return refused.value.fields


def test_each_file_is_checked_against_its_sha256():
    files, note = checked_files({"files": [a_file()], "note": "from the logs"})
    assert files[0].sha256 == hashlib.sha256(b"subscriber 4711\n").hexdigest()
    assert files[0].size == 16 and note == "from the logs"
    wrong = a_file(sha256=hashlib.sha256(b"other").hexdigest())
    assert "does not match" in problems({"files": [wrong]})["files.0.sha256"][0]


@pytest.mark.parametrize(
    ("file", "field"),
    [
        (a_file(name="../passwd"), "files.0.name"),
        (a_file(name="a/b.csv"), "files.0.name"),
        (a_file(media_type="csv"), "files.0.media_type"),
        (a_file(content_base64="not base64!"), "files.0.content_base64"),
        (a_file(sha256="abc"), "files.0.sha256"),
        ({**a_file(), "path": "/tmp"}, "files.0.unknown"),
    ],
)
def test_a_file_that_is_not_plain_is_refused_by_field(file: dict, field: str):
    assert field in problems({"files": [file]})


def test_names_are_unique_and_the_count_is_bounded():
    assert "files" in problems({"files": [a_file(), a_file(b"other")]})
    assert "files" in problems({"files": [a_file(name=f"{n}.csv") for n in range(MAX_FILES + 1)]})
    assert "files" in problems({"files": []})


def test_the_same_files_are_the_same_production_in_any_order():
    one, two = a_file(name="one.csv"), a_file(b"two", name="two.csv")
    first, _ = checked_files({"files": [one, two]})
    again, _ = checked_files({"files": [two, one]})
    assert production_id_for("o-1", first) == production_id_for("o-1", again)
    assert production_id_for("o-1", first) != production_id_for("o-2", first)
    fewer, _ = checked_files({"files": [one]})
    assert production_id_for("o-1", fewer) != production_id_for("o-1", first)


def test_bytes_sealed_for_one_case_open_only_for_it(tmp_path):
    vault = case_keys_from_env(
        {
            "CP247_CASE_KEYS_MASTER": base64.b64encode(os.urandom(32)).decode(),
            "CP247_CASE_KEYS": f"sqlite:{tmp_path / 'case-keys.sqlite'}",
        }
    )
    seal = SealedArguments(vault)
    content = a_file()["content_base64"]
    sealed = seal.seal("case-1", PRODUCED_CONTENT, content)
    assert content not in str(sealed)
    assert seal.open("case-1", PRODUCED_CONTENT, sealed) == content
    assert seal.open("case-1", PRODUCED_CONTENT, content) == content  # never sealed: as it is
    vault.key_for("case-2")  # another case with a key of its own
    with pytest.raises(ValueError, match="does not open"):
        seal.open("case-2", PRODUCED_CONTENT, sealed)
    assert seal.open("case-3", PRODUCED_CONTENT, sealed) != content  # no key: reads as erased
