"""Formal documents: the preservation order as a signed PDF, and the signed-letter form of an
outgoing preservation request (seed appendix checklist), for providers and 24/7 points of contact
that want a document on letterhead rather than an API record.

A package of five modules: ``letterhead`` (the issuing authority's), ``signing`` (detached
Ed25519 signatures and their verification), ``pdf`` (the primitives: Latin-1 text, times, page
layout), and the two documents, ``preservation_order`` and ``outgoing_request``. This module
names what the rest of cp247 uses.

Framework-free: no nameko, no HTTP. The services call these functions; the CLI verifies files.

Configuration (read by the caller, not here):

| variable            | meaning                                                           |
|---------------------|-------------------------------------------------------------------|
| CP247_LETTERHEAD    | YAML file with the issuing authority's letterhead (see            |
|                     | ``infra/letterhead.example.yaml``); unset -> a visibly generic one |

Design decisions worth knowing before changing anything here:

* **Detached signature.** Nothing is embedded in the PDF. ``Signer.sign`` signs the exact PDF
  bytes with Ed25519 and returns a ``Signature`` whose JSON form is the ``.sig`` file. The
  signature covers the document bytes only; ``signed_at``, ``key_id`` and ``public_key_pem`` in
  the JSON are descriptive (the key id is recomputed from the key on verification). A
  signature checked without a list of trusted keys proves integrity, not authorship.
* **Deterministic bytes.** The PDF creation date is taken from the order's ``issued_at`` (the
  request's registration date for letters), and the document shows nothing that changes later
  (no status, no "printed at"), so the same order renders the same bytes and the SHA-256
  recorded on the timeline can be checked again. This holds for one fpdf2 version: a different
  fpdf2 release may lay out or compress differently, so store the signed bytes at issue time
  rather than rely on re-rendering after an upgrade.
* **Latin-1 only.** fpdf2's core fonts (Helvetica) cover Latin-1 only and we bundle no font.
  Prose (names, addresses, facts) is transliterated (typographic punctuation to ASCII,
  diacritics stripped, e.g. Romanian s-comma to s) and anything left becomes ``?``.
  Identifiers are never transliterated - ``jose`` and ``josé`` can be different accounts - so
  a character outside Latin-1 in an identifier is written as ``<U+hhhh>``.
"""

from __future__ import annotations

from cp247.documents.letterhead import (
    LETTERHEAD_ENV,
    Letterhead,
)
from cp247.documents.outgoing_request import (
    CHECKLIST_HEADINGS,
    render_outgoing_request,
)
from cp247.documents.pdf import (
    format_local,
    format_utc,
    order_number,
    pdf_exact,
    pdf_text,
)
from cp247.documents.preservation_order import (
    SignedDocument,
    render_preservation_order,
    render_signed_order,
)
from cp247.documents.signing import (
    ALGORITHM,
    SIGNATURE_SUFFIX,
    Signature,
    Signer,
    VerificationResult,
    key_id_for,
    sha256_hex,
    signature_path_for,
    split_public_keys_pem,
    verify_document,
    verify_files,
)

__all__ = [
    "ALGORITHM",
    "CHECKLIST_HEADINGS",
    "LETTERHEAD_ENV",
    "Letterhead",
    "SIGNATURE_SUFFIX",
    "Signature",
    "SignedDocument",
    "Signer",
    "VerificationResult",
    "format_local",
    "format_utc",
    "key_id_for",
    "order_number",
    "pdf_exact",
    "pdf_text",
    "render_outgoing_request",
    "render_preservation_order",
    "render_signed_order",
    "sha256_hex",
    "signature_path_for",
    "split_public_keys_pem",
    "verify_document",
    "verify_files",
]
