"""The directory of foreign 24/7 contact points, owned by intake.

The paper behind cp247 found directory e-mails that bounce and personal web-mail in use, so
intake keeps its own directory: who the foreign CPs are, how to reach them, when they work,
which languages they read and what form they insist on. Intake uses it to tell whether a
request really comes from a listed CP and where to send the receipt.

An entry's id is derived from its country and kind, so there is at most one police, one
prosecution and one hybrid CP per country, the same entry is found from any replica, and a
country's entries are three cheap lookups rather than a scan.

Where we write to a CP, and whose mail we take for theirs, is what an insider would change to
redirect receipts and order notices: a change of an entry's addresses or phones is only
proposed by one officer, the entry's current address is told, and it takes effect when another
officer confirms it. Every step records who took it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5
from zoneinfo import ZoneInfo

from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError

from cp247.clock import iso, utcnow
from cp247.errors import Conflict, Forbidden, Invalid, NotFound
from cp247.runtime.application import command, load, query
from cp247.validation import COUNTRY_CODE, EMAIL_ADDRESS

CONTACT_POINT_NAMESPACE = uuid5(NAMESPACE_URL, "https://cp247.example/contact-points")

KINDS = ("police", "prosecution", "hybrid")
# Whom a receipt goes to when the sender's address is not in the directory: a hybrid CP
# covers both sides, and police CPs are the ones that usually send preservation requests.
ACKNOWLEDGEMENT_PREFERENCE = ("hybrid", "police", "prosecution")

FIELDS = (
    "country",
    "kind",
    "name",
    "institutional_email",
    "personal_emails",
    "phones",
    "office_hours",
    "time_zone",
    "languages",
    "required_format",
    "can_order_preservation",
)
# Country and kind are the entry's identity; everything else may change.
MUTABLE_FIELDS = FIELDS[2:]
LIST_FIELDS = frozenset({"personal_emails", "phones", "languages"})
# Where we write and whom we believe: changed only by a second officer's confirmation.
ROUTE_FIELDS = ("institutional_email", "personal_emails", "phones")
# Optional text and lists default to empty; the rest must be given.
DEFAULTS: dict[str, Any] = {
    "office_hours": "",
    "required_format": "",
    "personal_emails": [],
    "phones": [],
    "languages": [],
}

COUNTRY = re.compile(COUNTRY_CODE)
# Loose on purpose: one @, no spaces, a dot in the domain. Bounces are what really tell.
EMAIL = re.compile(EMAIL_ADDRESS)
E164 = re.compile(r"\+[0-9]{8,15}")
PHONE_PUNCTUATION = re.compile(r"[\s\-()]")
LANGUAGE = re.compile(r"[a-z]{2}")

CSV_TRUE = frozenset({"yes", "true", "1"})
CSV_FALSE = frozenset({"no", "false", "0"})


def contact_point_uuid(country: str, kind: str) -> UUID:
    """Deterministic id of an entry: one per country (upper-case) and kind."""
    return uuid5(CONTACT_POINT_NAMESPACE, f"{country}|{kind}")


class ForeignContactPoint(Aggregate):
    """A foreign 24/7 contact point as listed in our directory."""

    @staticmethod
    def create_id(country: str, kind: str, **_: Any) -> UUID:
        return contact_point_uuid(country, kind)

    @event("ContactPointListed")
    def __init__(
        self,
        country: str,
        kind: str,
        name: str,
        institutional_email: str,
        personal_emails: list[str],
        phones: list[str],
        office_hours: str,
        time_zone: str,
        languages: list[str],
        required_format: str,
        can_order_preservation: bool,
        actor: dict[str, str] | None = None,  # None only on entries listed before it was kept
    ):
        self.country = country
        self.kind = kind
        self.name = name
        self.institutional_email = institutional_email
        self.personal_emails = list(personal_emails)
        self.phones = list(phones)
        self.office_hours = office_hours
        self.time_zone = time_zone
        self.languages = list(languages)
        self.required_format = required_format
        self.can_order_preservation = can_order_preservation
        self.pending_change: dict[str, Any] | None = None
        self.decided_changes: dict[str, str] = {}  # change id -> confirmed | rejected

    def differences(self, entry: Mapping[str, Any]) -> dict[str, Any]:
        """The fields of ``entry`` whose values differ from the entry as it stands."""
        unknown = sorted(set(entry) - set(MUTABLE_FIELDS))
        if unknown:
            raise ValueError(f"not changeable on a contact point: {', '.join(unknown)}")
        return {key: _copy(value) for key, value in entry.items() if getattr(self, key) != value}

    def update(self, actor: Mapping[str, str] | None = None, **changes: Any) -> bool:
        """Record what differs from the entry as it stands; True if anything did.

        Only the differing fields go into the event, so re-importing the same data records
        nothing and the history shows exactly what changed. Addresses and phones are not
        changed here: they need :meth:`propose_change` and another officer's confirmation.
        """
        changed = self.differences(changes)
        routed = [key for key in ROUTE_FIELDS if key in changed]
        if routed:
            raise ValueError(f"changed only by a confirmed proposal: {', '.join(routed)}")
        if not changed:
            return False
        self._updated(country=self.country, kind=self.kind, changes=changed, actor=_actor(actor))
        return True

    @event("ContactPointUpdated")
    def _updated(
        self, country: str, kind: str, changes: dict[str, Any], actor: dict[str, str] | None = None
    ) -> None:
        for key, value in changes.items():
            setattr(self, key, _copy(value))  # a copy: never a list shared with the event

    def propose_change(
        self, change_id: str, changes: Mapping[str, Any], actor: Mapping[str, str]
    ) -> None:
        """Propose new addresses or phones; nothing changes until another officer confirms.

        The event carries the entry's current institutional address, which is told of the
        proposal. One proposal at a time: raises :class:`Conflict` while another waits.
        """
        unknown = sorted(set(changes) - set(ROUTE_FIELDS))
        if unknown or not changes:
            raise ValueError(f"not a change of addresses or phones: {', '.join(unknown)}")
        if self.pending_change is not None:
            raise Conflict(
                f"a change of the {self.country} {self.kind} contact point's addresses or "
                f"phones (change {self.pending_change['change_id']}) waits for confirmation: "
                "confirm or reject it first",
                extra={"change_id": self.pending_change["change_id"]},
            )
        self._change_proposed(
            country=self.country,
            kind=self.kind,
            change_id=change_id,
            name=self.name,
            changes={key: _copy(value) for key, value in changes.items()},
            previous={key: _copy(getattr(self, key)) for key in changes},
            notify=self.institutional_email,
            languages=list(self.languages),
            proposed_at=iso(utcnow()),
            actor=_actor(actor),
        )

    @event("ContactPointChangeProposed")
    def _change_proposed(
        self,
        country: str,
        kind: str,
        change_id: str,
        name: str,
        changes: dict[str, Any],
        previous: dict[str, Any],
        notify: str,
        languages: list[str],
        proposed_at: str,
        actor: dict[str, str],
    ) -> None:
        self.pending_change = {
            "change_id": change_id,
            "changes": {key: _copy(value) for key, value in changes.items()},
            "previous": {key: _copy(value) for key, value in previous.items()},
            "proposed_by": dict(actor),
            "proposed_at": proposed_at,
        }

    def confirm_change(self, change_id: str, actor: Mapping[str, str]) -> None:
        """Another officer confirms the proposal: the new addresses and phones apply now.

        Raises :class:`Forbidden` when ``actor`` proposed it: four eyes, not two.
        """
        pending = self._pending(change_id)
        if _same_person(pending["proposed_by"], actor):
            raise Forbidden(
                "you proposed this change of where we write: another officer must confirm it"
            )
        self._change_confirmed(
            country=self.country,
            kind=self.kind,
            change_id=change_id,
            changes=pending["changes"],
            proposed_by=pending["proposed_by"],
            actor=_actor(actor),
        )

    @event("ContactPointChangeConfirmed")
    def _change_confirmed(
        self,
        country: str,
        kind: str,
        change_id: str,
        changes: dict[str, Any],
        proposed_by: dict[str, str],
        actor: dict[str, str],
    ) -> None:
        for key, value in changes.items():
            setattr(self, key, _copy(value))
        self.pending_change = None
        self.decided_changes[change_id] = "confirmed"

    def reject_change(self, change_id: str, actor: Mapping[str, str]) -> None:
        """Reject the proposal (withdraw it, when ``actor`` proposed it): nothing changes."""
        pending = self._pending(change_id)
        self._change_rejected(
            country=self.country,
            kind=self.kind,
            change_id=change_id,
            withdrawn=_same_person(pending["proposed_by"], actor),
            proposed_by=pending["proposed_by"],
            actor=_actor(actor),
        )

    @event("ContactPointChangeRejected")
    def _change_rejected(
        self,
        country: str,
        kind: str,
        change_id: str,
        withdrawn: bool,
        proposed_by: dict[str, str],
        actor: dict[str, str],
    ) -> None:
        self.pending_change = None
        self.decided_changes[change_id] = "withdrawn" if withdrawn else "rejected"

    def _pending(self, change_id: str) -> dict[str, Any]:
        if self.pending_change is not None and self.pending_change["change_id"] == change_id:
            return self.pending_change
        if change_id in self.decided_changes:
            raise Conflict(f"the change was {self.decided_changes[change_id]} already")
        raise NotFound("no such change of the directory")

    def addresses(self) -> list[str]:
        """Every listed address of the entry, case-folded for comparison."""
        return [e.casefold() for e in (self.institutional_email, *self.personal_emails)]


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


def _actor(actor: Mapping[str, str] | None) -> dict[str, str] | None:
    return None if actor is None else {"username": actor["username"], "role": actor["role"]}


def _same_person(one: Mapping[str, str], other: Mapping[str, str]) -> bool:
    """Usernames are case-insensitive, as at login."""
    return str(one["username"]).casefold() == str(other["username"]).casefold()


# --- validation -----------------------------------------------------------------------------
def _text(value: Any, field: str, errors: dict[str, list[str]]) -> str:
    if not isinstance(value, str):
        errors.setdefault(field, []).append("a string")
        return ""
    return value.strip()


def _valid_time_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        # KeyError is ZoneInfoNotFoundError; ValueError a malformed key such as "a/../b".
        return False
    return True


def _clean_list(
    field: str, values: Any, clean: Callable[[str], str | None], errors: dict[str, list[str]]
) -> list[str]:
    """Each item cleaned by ``clean`` (None when bad); duplicates dropped, order kept."""
    if not isinstance(values, list):
        errors.setdefault(field, []).append("a list of strings")
        return []
    result: list[str] = []
    for index, item in enumerate(values):
        cleaned = clean(item.strip()) if isinstance(item, str) else None
        if cleaned is None:
            errors.setdefault(f"{field}.{index}", []).append(_LIST_HINTS[field])
        elif cleaned not in result:
            result.append(cleaned)
    return result


def _email(value: str) -> str | None:
    return value if EMAIL.fullmatch(value) else None


def _phone(value: str) -> str | None:
    compact = PHONE_PUNCTUATION.sub("", value)
    return compact if E164.fullmatch(compact) else None


def _language(value: str) -> str | None:
    lowered = value.lower() if value.isascii() else ""  # the Kelvin sign lowers to "k"
    return lowered if LANGUAGE.fullmatch(lowered) else None


def _country_code(text: str) -> str:
    """Upper-cased, ASCII only: ``"ß".upper()`` is ``"SS"``, which is no country code."""
    return text.upper() if text.isascii() else text


_LIST_HINTS = {
    "personal_emails": "an e-mail address, e.g. duty.officer@police.example.ro",
    "phones": "an E.164 number, e.g. +40 21 123 4567",
    "languages": "an ISO 639-1 code, e.g. en",
}
_LIST_CLEANERS = {"personal_emails": _email, "phones": _phone, "languages": _language}


def clean_contact_point(data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """A directory entry normalised, and every problem with it as ``{path: [reason]}``.

    The data is the whole entry: an optional field left out is set to empty, not kept.
    Country is upper-cased, kind and languages lower-cased, phones compacted to E.164.
    """
    errors: dict[str, list[str]] = {}
    if not isinstance(data, Mapping):
        return {}, {"_schema": ["an object with the entry's fields"]}
    for key in data:
        if key not in FIELDS:
            errors.setdefault(str(key), []).append("unknown field")
    values = {**DEFAULTS, **{k: v for k, v in data.items() if v is not None}}
    for key in FIELDS:
        if key not in values:
            errors.setdefault(key, []).append("required")
    entry: dict[str, Any] = {}

    if "country" in values:
        country = _country_code(_text(values["country"], "country", errors))
        if isinstance(values["country"], str) and not COUNTRY.fullmatch(country):
            errors.setdefault("country", []).append("an ISO 3166-1 alpha-2 code, e.g. RO")
        entry["country"] = country
    if "kind" in values:
        kind = _text(values["kind"], "kind", errors).lower()
        if isinstance(values["kind"], str) and kind not in KINDS:
            errors.setdefault("kind", []).append(f"one of {', '.join(KINDS)}")
        entry["kind"] = kind
    for key in ("name", "institutional_email", "time_zone"):
        if key not in values:
            continue
        text = _text(values[key], key, errors)
        if isinstance(values[key], str) and not text:
            errors.setdefault(key, []).append("required")
        elif key == "institutional_email" and text and not EMAIL.fullmatch(text):
            errors.setdefault(key, []).append("an e-mail address, e.g. cp247@police.example.ro")
        elif key == "time_zone" and text and not _valid_time_zone(text):
            errors.setdefault(key, []).append("an IANA time zone, e.g. Europe/Bucharest")
        entry[key] = text
    for key in ("office_hours", "required_format"):
        entry[key] = _text(values[key], key, errors)
    for key in sorted(LIST_FIELDS):
        entry[key] = _clean_list(key, values[key], _LIST_CLEANERS[key], errors)
    if "can_order_preservation" in values:
        flag = values["can_order_preservation"]
        # bool only: 0/1 or "no" from a JSON body are more likely a mistake than an answer.
        if not isinstance(flag, bool):
            errors.setdefault("can_order_preservation", []).append("true or false")
        entry["can_order_preservation"] = flag is True
    # The institutional address is matched anyway; listing it again as personal is noise.
    institutional = str(entry.get("institutional_email", "")).casefold()
    entry["personal_emails"] = [
        e for e in entry["personal_emails"] if e.casefold() != institutional
    ]
    return entry, errors


def _csv_flag(text: str) -> bool | None:
    lowered = text.strip().lower()
    if lowered in CSV_TRUE:
        return True
    if lowered in CSV_FALSE:
        return False
    return None


def parse_contact_points_csv(
    csv_text: str,
) -> tuple[list[tuple[int, dict[str, Any]]], dict[str, list[str]]]:
    """The CSV's entries as ``(row number, entry)``, and every problem as ``rows.N.field``.

    Row numbers are those a spreadsheet shows: the header is row 1. Blank rows are skipped.
    """
    errors: dict[str, list[str]] = {}
    entries: list[tuple[int, dict[str, Any]]] = []
    # Excel writes a byte-order mark before the header; it is not part of the first column.
    reader = csv.reader(io.StringIO(csv_text.removeprefix("\ufeff")))
    header: list[str] | None = None
    seen: dict[tuple[str, str], int] = {}
    row_number = 0
    try:
        for row_number, row in enumerate(reader, start=1):
            if not any(cell.strip() for cell in row):
                continue
            if header is None:
                header = [cell.strip().lower() for cell in row]
                for column in header:
                    if column not in FIELDS:
                        errors.setdefault(f"rows.{row_number}.{column}", []).append(
                            "unknown column"
                        )
                # An import replaces whole entries: a missing column would erase that field
                # on every entry, so the header must name them all.
                for column in FIELDS:
                    if column not in header:
                        errors.setdefault(f"rows.{row_number}.{column}", []).append(
                            "missing column"
                        )
                if errors:
                    break
                continue
            prefix = f"rows.{row_number}"
            if len(row) != len(header):
                errors[prefix] = [f"{len(row)} cells, the header has {len(header)}"]
                continue
            data: dict[str, Any] = {}
            for column, cell in zip(header, row, strict=True):
                if column in LIST_FIELDS:
                    data[column] = [item.strip() for item in cell.split(";") if item.strip()]
                elif column == "can_order_preservation":
                    flag = _csv_flag(cell)
                    if flag is None:
                        errors.setdefault(f"{prefix}.{column}", []).append(
                            "yes/no, true/false or 1/0"
                        )
                    data[column] = bool(flag)
                else:
                    data[column] = cell
            entry, row_errors = clean_contact_point(data)
            for path, reasons in row_errors.items():
                errors.setdefault(f"{prefix}.{path}", []).extend(reasons)
            if not row_errors:
                key = (entry["country"], entry["kind"])
                if key in seen:
                    errors.setdefault(f"{prefix}.kind", []).append(
                        f"{key[0]} {key[1]} is already on row {seen[key]}"
                    )
                else:
                    seen[key] = row_number
                    entries.append((row_number, entry))
    except csv.Error as exc:
        errors.setdefault(f"rows.{row_number + 1}", []).append(f"not readable as CSV: {exc}")
    if header is None and not errors:
        errors["rows.1"] = ["a header row naming the columns is required"]
    return entries, errors


# --- the application side -------------------------------------------------------------------
class ContactPointDirectory:
    """Commands and queries of the directory, mixed into the intake application.

    It relies on the eventsourcing application it is mixed into for ``repository`` and
    ``save`` and on :class:`~cp247.runtime.application.ServiceApplication` for ``created``.
    """

    # Retries of a write that lost a race with another replica writing the same entries.
    directory_retries = 5

    if TYPE_CHECKING:
        # Declared for type checkers only: defining them here would shadow the real ones.
        repository: Any

        def save(self, *objs: Any, **kwargs: Any) -> Any: ...

        def created(self, created_event: type, page: int = 500) -> Iterator[Any]: ...

    # --- commands --------------------------------------------------------------------------
    @command
    def list_contact_point(self, data: dict[str, Any], actor: dict[str, str]) -> dict[str, Any]:
        """Add an entry or bring it up to date; the same data again records nothing.

        A new entry is listed at once. On an existing one, new addresses or phones are only
        proposed (``awaiting_confirmation`` true, the entry's ``pending_change``): another
        officer confirms them. Raises :class:`Invalid` naming every field that is wrong.
        """
        entry, errors = clean_contact_point(data)
        if errors:
            raise Invalid("the contact point is not valid", errors)
        ((contact_point, proposed),), _ = self._apply_entries([entry], actor)
        return {**self.contact_point_view(contact_point), "awaiting_confirmation": proposed}

    @command
    def import_contact_points(self, csv_text: str, actor: dict[str, str]) -> dict[str, int]:
        """Import a CSV of entries, all or nothing; returns how many were created/updated.

        Every row is checked before anything is recorded, and the changes are saved in one
        atomic write, so a bad row or a crash never leaves the directory half-imported.
        New addresses or phones of listed entries are proposed, not applied: ``pending``
        counts the entries whose change waits for another officer's confirmation.
        """
        entries, errors = parse_contact_points_csv(csv_text)
        if errors:
            raise Invalid("the contact points are not valid; nothing was imported", errors)
        _, counts = self._apply_entries([entry for _, entry in entries], actor)
        return counts

    @command
    def confirm_contact_point_change(self, change_id: str, actor: dict[str, str]) -> dict:
        """Another officer than its proposer confirms a change: it applies now."""
        return self._decide_change(change_id, actor, ForeignContactPoint.confirm_change)

    @command
    def reject_contact_point_change(self, change_id: str, actor: dict[str, str]) -> dict:
        """Reject a proposed change (its proposer withdraws it): the entry stays as it is."""
        return self._decide_change(change_id, actor, ForeignContactPoint.reject_change)

    def _decide_change(
        self,
        change_id: str,
        actor: dict[str, str],
        decide: Callable[[ForeignContactPoint, str, Mapping[str, str]], None],
    ) -> dict[str, Any]:
        for _ in range(self.directory_retries):
            contact_point = self._contact_point_of_change(change_id)
            change = self.change_view(contact_point) if contact_point.pending_change else None
            decide(contact_point, change_id, actor)
            try:
                self.save(contact_point)
            except IntegrityError:
                continue  # decided or changed elsewhere a moment ago: look again
            return {
                **(change or {}),
                "status": contact_point.decided_changes[change_id],
                "decided_by": {"username": actor["username"], "role": actor["role"]},
                "contact_point": self.contact_point_view(contact_point),
            }
        raise RuntimeError("the contact point directory kept conflicting with other writers")

    def _apply_entries(
        self, entries: list[dict[str, Any]], actor: dict[str, str]
    ) -> tuple[list[tuple[ForeignContactPoint, bool]], dict[str, int]]:
        """Each entry listed, updated, or its new addresses and phones proposed (then True)."""
        for _ in range(self.directory_retries):
            counts = {"created": 0, "updated": 0, "unchanged": 0, "pending": 0}
            result: list[tuple[ForeignContactPoint, bool]] = []
            to_save: list[ForeignContactPoint] = []
            for entry in entries:
                existing = self._load_contact_point(entry["country"], entry["kind"])
                if existing is None:
                    contact_point = ForeignContactPoint(**entry, actor=actor)
                    to_save.append(contact_point)
                    counts["created"] += 1
                    result.append((contact_point, False))
                    continue
                changed = existing.differences({key: entry[key] for key in MUTABLE_FIELDS})
                routed = {key: changed.pop(key) for key in ROUTE_FIELDS if key in changed}
                if changed:
                    existing.update(actor, **changed)
                    counts["updated"] += 1
                waiting = existing.pending_change
                # The same proposal again (a re-sent form, a re-run import) records nothing.
                propose = bool(routed) and not (waiting and waiting["changes"] == routed)
                if propose:
                    existing.propose_change(str(uuid4()), routed, actor)
                if changed or propose:
                    to_save.append(existing)
                counts["pending"] += bool(routed)
                counts["unchanged"] += not changed and not routed
                result.append((existing, bool(routed)))
            if not to_save:
                return result, counts
            try:
                self.save(*to_save)
            except IntegrityError:
                continue  # another replica listed or changed one of them: redo from fresh loads
            return result, counts
        raise RuntimeError("the contact point directory kept conflicting with other writers")

    # --- queries ---------------------------------------------------------------------------
    def _load_contact_point(self, country: str, kind: str) -> ForeignContactPoint | None:
        return load(self.repository, str(contact_point_uuid(country, kind)), ForeignContactPoint)

    def _country_entries(
        self, country: str, kinds: tuple[str, ...] = KINDS
    ) -> list[ForeignContactPoint]:
        """The country's entries in the order of ``kinds``: at most three direct lookups."""
        found = (self._load_contact_point(country, kind) for kind in kinds)
        return [contact_point for contact_point in found if contact_point is not None]

    @query
    def contact_points(self, country: str | None = None) -> list[dict[str, Any]]:
        """Every entry, or one country's, sorted by country then kind."""
        if country is None:
            listed = list(self.created(ForeignContactPoint.ContactPointListed))
        else:
            code = _country_code(country.strip())
            if not COUNTRY.fullmatch(code):
                raise Invalid(
                    "the country is not valid",
                    {"country": ["an ISO 3166-1 alpha-2 code, e.g. RO"]},
                )
            listed = self._country_entries(code)
        views = [self.contact_point_view(contact_point) for contact_point in listed]
        return sorted(views, key=lambda view: (view["country"], view["kind"]))

    @query
    def contact_point_changes(self) -> list[dict[str, Any]]:
        """Every proposed change of addresses or phones awaiting confirmation, oldest first."""
        listed = self.created(ForeignContactPoint.ContactPointListed)
        changes = [self.change_view(entry) for entry in listed if entry.pending_change]
        return sorted(changes, key=lambda change: change["proposed_at"])

    def _contact_point_of_change(self, change_id: str) -> ForeignContactPoint:
        """The entry a change was proposed for (a scan: the directory is small)."""
        for entry in self.created(ForeignContactPoint.ContactPointListed):
            pending = entry.pending_change
            if (pending and pending["change_id"] == change_id) or (
                change_id in entry.decided_changes
            ):
                return entry
        raise NotFound("no such change of the directory")

    @query
    def contact_point(self, country: str, kind: str) -> dict[str, Any]:
        """One entry; raises :class:`NotFound` when the directory has none."""
        code, kind = _country_code(country.strip()), kind.strip().lower()
        contact_point = self._load_contact_point(code, kind)
        if contact_point is None:
            raise NotFound(f"no {kind} contact point for {code} in the directory")
        return self.contact_point_view(contact_point)

    def _sender(
        self, authority: Mapping[str, Any]
    ) -> tuple[list[ForeignContactPoint], ForeignContactPoint | None, str]:
        """The sender's country entries (in acknowledgement order), the matching one, email."""
        country = str(authority.get("country") or "").strip().upper()
        email = str(authority.get("email") or "").strip().casefold()
        entries = self._country_entries(country, ACKNOWLEDGEMENT_PREFERENCE)
        matched = next((e for e in entries if email and email in e.addresses()), None)
        return entries, matched, email

    def sender_check(self, authority: Mapping[str, Any]) -> list[str]:
        """Warnings about who sent a request, from its ``requesting_authority``.

        ``[]`` when the sender's address is one the directory lists for that country,
        ``["sender_email_missing"]`` when the country is listed but no address was given,
        ``["unknown_sender"]`` when the country is not listed or the address is not its.
        """
        entries, matched, email = self._sender(authority)
        if not entries:
            return ["unknown_sender"]
        if not email:
            return ["sender_email_missing"]
        return [] if matched is not None else ["unknown_sender"]

    def acknowledgement_address(self, authority: Mapping[str, Any]) -> dict[str, Any] | None:
        """Where to send the receipt for a request from ``authority``, or None if unlisted.

        The entry whose address sent the request, else the country's hybrid, police or
        prosecution CP in that order. The receipt goes to the entry's institutional address
        even when a personal one sent it, so it stays on record when that person is away.
        """
        entries, matched, _ = self._sender(authority)
        chosen = matched if matched is not None else (entries[0] if entries else None)
        if chosen is None:
            return None
        return {
            "country": chosen.country,
            "kind": chosen.kind,
            "name": chosen.name,
            "email": chosen.institutional_email,
            "time_zone": chosen.time_zone,
            "languages": list(chosen.languages),
            "required_format": chosen.required_format,
        }

    @staticmethod
    def contact_point_view(contact_point: ForeignContactPoint) -> dict[str, Any]:
        return {
            "contact_point_id": str(contact_point.id),
            "country": contact_point.country,
            "kind": contact_point.kind,
            "name": contact_point.name,
            "institutional_email": contact_point.institutional_email,
            "personal_emails": list(contact_point.personal_emails),
            "phones": list(contact_point.phones),
            "office_hours": contact_point.office_hours,
            "time_zone": contact_point.time_zone,
            "languages": list(contact_point.languages),
            "required_format": contact_point.required_format,
            "can_order_preservation": contact_point.can_order_preservation,
            "listed_at": iso(contact_point.created_on),
            "updated_at": iso(contact_point.modified_on),
            # Not in effect: the fields above are still those we write to.
            "pending_change": (
                ContactPointDirectory.change_view(contact_point)
                if contact_point.pending_change
                else None
            ),
        }

    @staticmethod
    def change_view(contact_point: ForeignContactPoint) -> dict[str, Any]:
        """The entry's proposed change of addresses or phones (it must have one)."""
        pending = contact_point.pending_change
        assert pending is not None
        return {
            "change_id": pending["change_id"],
            "contact_point_id": str(contact_point.id),
            "country": contact_point.country,
            "kind": contact_point.kind,
            "name": contact_point.name,
            "changes": {key: _copy(value) for key, value in pending["changes"].items()},
            "previous": {key: _copy(value) for key, value in pending["previous"].items()},
            "proposed_by": dict(pending["proposed_by"]),
            "proposed_at": pending["proposed_at"],
            "status": "pending",
        }
