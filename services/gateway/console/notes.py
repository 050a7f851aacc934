"""The status lines a page shows after an action (post/redirect/get), in the product's words.

The address carries only a note's key (``?note=case-closed``), and a page shows the sentence
this table gives for it. A key that is not here shows nothing: a link cannot make the
console say, in its own green status line, words of somebody else's choosing.
"""

from __future__ import annotations

from services.intake.domain import LEADS
from services.mla.domain import MLA_TRANSITIONS

PROVIDER_ANSWERS = ("acknowledge", "preserved", "unavailable", "foreign-provider")

NOTES: dict[str, str] = {
    "logged-out": "You are logged out.",
    "alert-taken": "Alert taken: it will not be escalated.",
    "registered": "Registered as a new case.",
    "registered-check-warnings": "Registered as a new case. Check the warnings on the request.",
    "joined": "This request was already registered: it joins the existing case.",
    "joined-check-warnings": "This request was already registered: it joins the existing "
    "case. Check the warnings on the request.",
    "order-created": "Preservation order created.",
    "order-approved": "Order approved and issued to the provider.",
    "order-extended": "Preservation extended.",
    "order-released": "Order released.",
    "case-closed": "Case closed.",
    "request-refused": "Request refused; the requesting CP will be told.",
    "art29-6-notice": "Art 29(6) notice recorded.",
    "request-withdrawn": "Request withdrawn; any order running for it is released.",
    "art29-6-decision": "The requesting Party's Art 29(6) decision is recorded.",
    "no-order": "Recorded why no order is made.",
    "request-sent": "Recorded: the request was sent.",
    "foreign-receipt": "Foreign CP's receipt recorded.",
    "foreign-answer": "Foreign CP's answer recorded.",
    "mla-recorded": "MLA request recorded.",
    "mla-authorised": "The MLA request's judicial authorisation is recorded.",
    "disclosure-order-created": "Disclosure order created.",
    "disclosure-order-approved": "Disclosure order approved and issued to the provider.",
    "disclosure-sent": "Sent to the requesting Party under the conditions stated.",
    "art30-approved": "Art 30 disclosure sent to the requesting Party as approved.",
    "art30-withheld": "Art 30 disclosure withheld (Art 30(2)).",
    "provider-produce": "Received: each file checked against the SHA-256 your browser computed.",
    "provider-produce-hashed-here": "Received. Your browser did not compute the files' "
    "SHA-256 (script off?): it was computed on receipt; compare it with your own.",
    **{f"lead-{lead}": f"The {lead} CP now leads this case." for lead in LEADS},
    **{f"near-duplicate-{r}": f"Near-duplicate {r}." for r in ("confirmed", "split")},
    **{f"mla-{status}": f"MLA request now {status}." for status in MLA_TRANSITIONS},
    "provider-acknowledge": "Receipt of the order acknowledged.",
    "provider-preserved": "Recorded: the data are preserved.",
    "provider-unavailable": "Recorded: the data are not available.",
    "provider-foreign-provider": "Recorded: another country's provider was involved (Art 30).",
    "account-disable": "Account disabled: it cannot sign in, and its sessions and tokens ended.",
    "account-enable": "Account enabled again (its earlier sessions and tokens stay ended).",
    "account-revoke-tokens": "Every session and token of the account ended.",
}


def note_text(key: object) -> str | None:
    """The sentence of a note key from the address, or None for anything else."""
    return NOTES.get(key) if isinstance(key, str) else None
