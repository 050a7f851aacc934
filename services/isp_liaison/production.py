"""What a provider hands over for a disclosure order: files checked by their SHA-256 on
receipt and kept sealed under the case key, so that retention erases them with the case.

A production is recorded twice: on the provider's order as ``DataProduced`` (public: the
digests, for the timeline's chain of custody, and the files' names and sizes, personal), and
as a :class:`Production` whose private ``ProductionStored`` keeps the bytes in this service's
store only; nothing of the bytes crosses the broker as an event.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import Any, NamedTuple
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from cp247.errors import Invalid

PRODUCTION_NAMESPACE = uuid5(NAMESPACE_URL, "https://cp247.example/productions")
MAX_FILES = 20
MAX_PRODUCTION_BYTES = 20_000_000  # of files, in one call (API.md)
MAX_NOTE = 4000
# A file name the officer can save as it is: no path, no control characters, no space at
# either end.
FILE_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._ -]{0,126}[A-Za-z0-9._-])?")
# The argument name a production's bytes are sealed under, from the gateway to isp_liaison.
PRODUCED_CONTENT = "files.content_base64"
MEDIA_TYPE = re.compile(r"[a-z]+/[A-Za-z0-9.+-]{1,100}")
SHA256 = re.compile(r"[0-9a-fA-F]{64}")


class ProducedFile(NamedTuple):
    name: str
    media_type: str
    sha256: str
    size: int
    content: bytes

    def described(self) -> dict[str, Any]:
        return {"name": self.name, "media_type": self.media_type, "sha256": self.sha256,
                "size": self.size}  # fmt: skip


def production_id_for(order_id: str, files: list[ProducedFile]) -> str:
    """The same files for the same order are the same production, however often sent."""
    digests = "|".join(f"{f.name}:{f.sha256}" for f in sorted(files))
    return str(uuid5(PRODUCTION_NAMESPACE, f"{order_id}|{digests}"))


def checked_files(body: dict[str, Any]) -> tuple[list[ProducedFile], str]:
    """The files of a production body, each checked against its SHA-256, and the note;
    ``Invalid`` names every problem by field."""
    files, note = body.get("files"), body.get("note")
    note = "" if note is None else note
    errors: dict[str, list[str]] = {}
    if not isinstance(note, str) or len(note) > MAX_NOTE:
        errors["note"] = [f"text of at most {MAX_NOTE} characters"]
    if not isinstance(files, list) or not 1 <= len(files) <= MAX_FILES:
        errors["files"] = [f"a list of 1 to {MAX_FILES} files"]
        raise Invalid("the production is not valid", errors)
    checked: list[ProducedFile] = []
    for index, item in enumerate(files):
        problems = _file_problems(item)
        if problems:
            errors.update({f"files.{index}.{k}": v for k, v in problems.items()})
            continue
        content = base64.b64decode(item["content_base64"], validate=True)
        digest = hashlib.sha256(content).hexdigest()
        if digest != item["sha256"].lower():
            errors[f"files.{index}.sha256"] = [
                f"does not match the content (its SHA-256 is {digest}): sent again, or corrupted"
            ]
            continue
        name, media_type = item["name"], item["media_type"]
        checked.append(ProducedFile(name, media_type, digest, len(content), content))
    names = [f.name for f in checked]
    if len(set(names)) != len(names):
        errors["files"] = ["each file needs a name of its own"]
    if sum(f.size for f in checked) > MAX_PRODUCTION_BYTES:
        errors["files"] = [f"at most {MAX_PRODUCTION_BYTES // 1_000_000} MB of files per call"]
    if errors:
        raise Invalid("the production is not valid", errors)
    return checked, note


def _file_problems(item: Any) -> dict[str, list[str]]:
    if not isinstance(item, dict):
        return {"": ["an object with name, media_type, content_base64 and sha256"]}
    problems: dict[str, list[str]] = {}
    unknown = set(item) - {"name", "media_type", "content_base64", "sha256"}
    if unknown:
        problems["unknown"] = [f"unknown fields {sorted(unknown)}"]
    name = item.get("name")
    if not isinstance(name, str) or not FILE_NAME.fullmatch(name) or ".." in name:
        problems["name"] = ["a plain file name (letters, digits, '.', '_', '-', space)"]
    if not isinstance(item.get("media_type"), str) or not MEDIA_TYPE.fullmatch(item["media_type"]):
        problems["media_type"] = ["a media type, e.g. text/csv"]
    digest = item.get("sha256")
    if not isinstance(digest, str) or not SHA256.fullmatch(digest):
        problems["sha256"] = ["the SHA-256 of the content, 64 hex digits"]
    content = item.get("content_base64")
    try:
        base64.b64decode(content, validate=True) if isinstance(content, str) else None
        if not isinstance(content, str):
            raise ValueError
    except (binascii.Error, ValueError):
        problems["content_base64"] = ["the file's bytes in base64"]
    return problems


class Production(Aggregate):
    """The bytes a provider produced, sealed in this service's store (never published)."""

    @staticmethod
    def create_id(production_id: str, **_: Any) -> UUID:
        return UUID(production_id)

    @event("ProductionStored")
    def __init__(
        self,
        production_id: str,
        order_id: str,
        case_id: str,
        provider_id: str,
        contents: dict[str, str],
    ):
        self.production_id = production_id
        self.order_id = order_id
        self.case_id = case_id
        self.provider_id = provider_id
        self.contents = contents  # file name -> base64; read as {} once the case is erased

    def record_read(self, name: str, sha256: str, actor: dict[str, str], now: str) -> None:
        """Chain of custody: which officer took which file, with its digest."""
        self._read(self.production_id, self.case_id, self.order_id, name, sha256, now, actor)

    @event("ProductionFileRead")
    def _read(
        self,
        production_id: str,
        case_id: str,
        order_id: str,
        name: str,
        sha256: str,
        read_at: str,
        actor: dict[str, str],
    ) -> None:
        """A fact for the timeline: the stored bytes do not change when they are read."""

    def record_export(self, package_sha256: str, actor: dict[str, str], now: str) -> None:
        """Chain of custody: a court package of it left the system, with its digest."""
        self._exported(self.production_id, self.case_id, self.order_id, package_sha256, now, actor)

    @event("ProductionExported")
    def _exported(
        self,
        production_id: str,
        case_id: str,
        order_id: str,
        package_sha256: str,
        exported_at: str,
        actor: dict[str, str],
    ) -> None:
        """A fact for the timeline: what left is described by its digest only."""
