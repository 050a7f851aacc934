"""Schemathesis hooks for ``tests/e2e/test_fuzz_api.py`` (loaded by the ``schemathesis`` CLI
through ``SCHEMATHESIS_HOOKS=fuzz_hooks``).

- Path parameters: a generated id almost never exists, so about half of the cases whose path
  parameters are meant to be valid get ids of records that do exist (``FUZZ_KNOWN_IDS``, a
  JSON object ``{"case_id": [...], ...}``), chosen from the generated values so that a
  deterministic run stays deterministic. Cases whose path parameters are the invalid part are
  left alone, so that ``negative_data_rejection`` still means what it says.
- A check that no response, of any status, shows a stack trace or an internal error.
- PDF documents are deserialized (to check that they are PDF at all).
"""

from __future__ import annotations

import json
import os
import zlib
from typing import Any

import schemathesis
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation import GenerationMode

KNOWN: dict[str, list[str]] = json.loads(os.environ.get("FUZZ_KNOWN_IDS") or "{}")
STACK_TRACE_MARKERS = ("Traceback (most recent call last)", 'File "/', "internal_error")


@schemathesis.hook
def map_case(context: schemathesis.HookContext, case: schemathesis.Case) -> schemathesis.Case:
    if not case.path_parameters or not KNOWN:
        return case
    meta = case.meta
    component = meta.components.get(ParameterLocation.PATH) if meta is not None else None
    if component is not None and component.mode != GenerationMode.POSITIVE:
        return case
    digest = zlib.crc32(json.dumps(case.path_parameters, sort_keys=True, default=str).encode())
    if digest % 2:
        return case  # this one keeps its generated ids: mostly 404, which must hold too
    case.path_parameters = {
        name: (choices[(digest >> 1) % len(choices)] if (choices := KNOWN.get(name)) else value)
        for name, value in case.path_parameters.items()
    }
    return case


@schemathesis.check
def no_stack_trace(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """Whatever the status, the body never carries a trace or an unhandled-error marker."""
    if response.headers.get("content-type", [""])[0].startswith("application/pdf"):
        return None
    text = response.text or ""
    for marker in STACK_TRACE_MARKERS:
        if marker in text:
            raise AssertionError(f"the response shows {marker!r}: {text[:300]}")
    return None


@schemathesis.deserializer("application/pdf")
def pdf(ctx: schemathesis.DeserializationContext, response: schemathesis.Response) -> Any:
    if not response.content.startswith(b"%PDF-"):
        raise ValueError("an application/pdf response that is not a PDF")
    return {"bytes": len(response.content)}
