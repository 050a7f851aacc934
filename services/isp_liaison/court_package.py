"""A production exported for a court: the files as produced, a manifest with their SHA-256 and
the case's timeline extract, the manifest signed with the documents key.

One ZIP file, self-contained so that it can travel on a stick to a court registry:

- ``files/<name>``: each file's bytes as the provider produced them;
- ``manifest.json``: the production (provider, order, time, note), each file with its size
  and SHA-256, and the case's timeline (every entry with its hash, chained to the head);
- ``manifest.json.sig``: the detached Ed25519 signature of ``manifest.json`` (the form
  ``cp247 documents verify`` checks for orders);
- ``README.txt``: how to check it.

``verify_package`` checks all of it: the signature (against trusted keys when given), every
file against the manifest, and the timeline chain entry by entry.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from cp247.clock import parse_iso
from cp247.documents import Signer, VerificationResult, verify_document
from cp247.documents.signing import sha256_hex
from services.timeline.domain import GENESIS, entry_hash

FORMAT = "cp247-production-package/1"
MANIFEST = "manifest.json"
SIGNATURE = MANIFEST + ".sig"
# The fields an entry's hash covers (services/timeline/domain.py CaseTimeline.entries).
HASHED = ("seq", "at", "actor", "service", "event", "summary", "prev_hash")
README = """cp247 production package ({format})

files/              the files as the provider produced them
manifest.json       the production, each file's SHA-256 and size, the case's timeline
manifest.json.sig   the Ed25519 signature of manifest.json (the documents key)

Check it with:  cp247 documents verify {name} --trusted-keys authority-keys.pem
(the public key of the issuing authority: cp247 documents public-key). By hand: the
SHA-256 of each file must be the one in manifest.json, and each timeline entry's hash
the SHA-256 of the previous hash and the entry's canonical JSON.
"""


def package_name(production_id: str) -> str:
    return f"production-{production_id[:8]}.zip"


def build_package(
    production: dict[str, Any],
    contents: dict[str, bytes],
    timeline: dict[str, Any],
    signer: Signer,
    exported_at: str,
    exported_by: dict[str, str],
) -> bytes:
    """The package's bytes; ``production`` as isp_liaison describes it (its files with name,
    media_type, size, sha256), ``contents`` the bytes by file name."""
    files = [
        {
            **{k: f[k] for k in ("name", "media_type", "size", "sha256")},
            "path": f"files/{f['name']}",
        }
        for f in production["files"]
    ]
    manifest = {
        "format": FORMAT,
        "production_id": production["production_id"],
        "order_id": production["order_id"],
        "case_id": production["case_id"],
        "provider_id": production["provider_id"],
        "produced_at": production["produced_at"],
        "note": production["note"],
        "files": files,
        "timeline": {
            "case_id": timeline["case_id"],
            "head_hash": timeline["head_hash"],
            "entries": [{k: e[k] for k in (*HASHED, "hash")} for e in timeline["entries"]],
        },
        "exported_at": exported_at,
        "exported_by": exported_by,
    }
    manifest_bytes = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    moment = parse_iso(exported_at)
    signature = signer.sign(manifest_bytes, signed_at=moment)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        stamp = _zip_time(moment)
        for member, data in (
            (
                "README.txt",
                README.format(format=FORMAT, name=package_name(manifest["production_id"])).encode(),
            ),
            (MANIFEST, manifest_bytes),
            (SIGNATURE, signature.to_json().encode()),
            *((f["path"], contents[f["name"]]) for f in files),
        ):
            archive.writestr(zipfile.ZipInfo(member, stamp), data, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def _zip_time(moment: datetime) -> tuple[int, int, int, int, int, int]:
    return (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)


def is_package(data: bytes) -> bool:
    return zipfile.is_zipfile(io.BytesIO(data))


def verify_package(
    data: bytes, trusted_public_keys_pem: Sequence[str] | None = None
) -> VerificationResult:
    """Signature, files and timeline chain; never raises for a bad package (the result
    says what is wrong), as ``verify_document`` does for an order."""
    digest = sha256_hex(data)

    def fail(reason: str, key_id: str | None = None) -> VerificationResult:
        return VerificationResult(ok=False, reason=reason, sha256=digest, key_id=key_id)

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        manifest_bytes, signature = archive.read(MANIFEST), archive.read(SIGNATURE)
    except (zipfile.BadZipFile, KeyError) as exc:
        return fail(f"not a cp247 production package: {exc}")
    signed = verify_document(manifest_bytes, signature, trusted_public_keys_pem)
    if not signed.ok:
        return fail(f"manifest: {signed.reason}", signed.key_id)
    try:
        manifest = json.loads(manifest_bytes)
        files, timeline = manifest["files"], manifest["timeline"]
    except (ValueError, KeyError, TypeError) as exc:
        return fail(f"the manifest is not a package manifest: {exc}", signed.key_id)
    for described in files:
        try:
            content = archive.read(described["path"])
        except KeyError:
            return fail(f"{described['path']} is missing from the package", signed.key_id)
        if sha256_hex(content) != described["sha256"]:
            return fail(f"{described['path']} does not match its SHA-256", signed.key_id)
    problem = _chain_problem(timeline)
    if problem:
        return fail(f"timeline: {problem}", signed.key_id)
    listed = {f["path"] for f in files} | {MANIFEST, SIGNATURE, "README.txt"}
    if extra := sorted(set(archive.namelist()) - listed):
        return fail(f"files not in the manifest: {', '.join(extra)}", signed.key_id)
    return VerificationResult(
        ok=True,
        reason=f"{len(files)} file(s) match the signed manifest, timeline of "
        f"{len(timeline['entries'])} entries chained to {timeline['head_hash'][:12]}; "
        f"{signed.reason}",
        sha256=digest,
        key_id=signed.key_id,
    )


def _chain_problem(timeline: dict[str, Any]) -> str | None:
    prev = GENESIS
    for entry in timeline["entries"]:
        if (
            entry["prev_hash"] != prev
            or entry_hash(prev, {k: entry[k] for k in HASHED}) != entry["hash"]
        ):
            return f"entry {entry['seq']} does not chain to the one before"
        prev = entry["hash"]
    if prev != timeline["head_hash"]:
        return "the head hash is not the last entry's"
    return None
