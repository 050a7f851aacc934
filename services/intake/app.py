"""The intake application: register requests, open cases, never twice; triage and decide."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.persistence import IntegrityError
from marshmallow import ValidationError

from cp247 import metrics
from cp247.clock import iso, parse_iso, utcnow
from cp247.config import ConfigurationError
from cp247.documents import Letterhead, Signer, render_outgoing_request
from cp247.errors import Conflict, Invalid
from cp247.runtime.application import (
    ServiceApplication,
    command,
    load,
    query,
    require,
    retry_on_conflict,
)
from cp247.runtime.read_index import ReadIndex
from cp247.validation import flatten_errors, parse_ascii_int
from services.intake.checklist import (
    ART29_ITEMS,
    art29_missing_items,
    recommended_gaps,
    required_fields_missing,
)
from services.intake.directory import ACKNOWLEDGEMENT_PREFERENCE, ContactPointDirectory
from services.intake.domain import (
    ANSWER_OUTCOMES,
    CHANNELS,
    Case,
    IdentifierIndex,
    Request,
    allowed_refusal_grounds,
    index_id,
    index_key,
    our_reference,
    request_id_for,
)
from services.intake.hygiene import normalise_identifiers
from services.intake.office_hours import next_open
from services.intake.schemas import RequestSchema
from services.preservation.national_law import ART29_MINIMUM_DAYS, national_policy

DETAIL_KEYS = ("responsible_authority", "offence", "necessity", "follow_up", "emergency")


class IntakeApplication(ContactPointDirectory, ServiceApplication):
    name = "intake"
    registration_attempts = 10
    # What preservation did for a request: its status and the "without an order" work item.
    upstreams = ("preservation",)
    policies = {
        "OrderDrafted": "on_order",
        "OrderIssued": "on_order",
        "OrderCoversRequest": "on_order",
    }

    def __init__(self, env: dict[str, str] | None = None):
        super().__init__(env)
        text = self.env.get("CP247_NEAR_DUPLICATE_MINUTES") or "60"
        minutes = parse_ascii_int(text)
        if minutes is None:
            raise ConfigurationError(
                f"CP247_NEAR_DUPLICATE_MINUTES={text!r}: give a whole number of minutes, e.g. 60"
            )
        self.near_duplicate_tolerance = timedelta(minutes=minutes)
        self.signer = Signer.load_or_create(self.env.get("CP247_SIGNING_KEY") or "keys/sign.pem")
        self.letterhead = Letterhead.load(self.env.get("CP247_LETTERHEAD") or None)
        # The index's digests are keyed (no key in unit tests): a stolen index names nobody.
        self.index_pepper = bytes.fromhex(self.env.get("CP247_INDEX_KEY") or "")
        # The case list reads this, not every case: summaries only, nothing personal.
        self.case_index: ReadIndex[dict[str, Any]] = ReadIndex(self, Case, self._case_summary)
        # The work list's requests (ids and states only, nothing personal).
        self.request_index: ReadIndex[dict[str, Any]] = ReadIndex(
            self, Request, self._request_summary
        )
        self.national_policy = national_policy(
            self.env.get("CP247_POLICY") or "police-needs-approval"
        )

    # --- registration ----------------------------------------------------------------------
    @command
    def register_request(
        self, body: dict[str, Any], actor: dict[str, str], custodian_listed: bool = False
    ) -> dict[str, Any]:
        """Register a request; returns the API's response body plus ``created``.

        Raises :class:`Invalid` naming every field (and Art 29(2) letter) that is wrong.
        """
        received_at = arrival(body, utcnow())
        request, identifiers, warnings, completeness = self._validate(
            body, received_at, custodian_listed
        )
        request_id = self._request_id(request)
        for _ in range(self.registration_attempts):
            existing = load(self.repository, request_id, Request)
            if existing is not None:
                return self._duplicate(existing, request["received_via"], actor)
            try:
                return self._record_new(
                    request, request_id, identifiers, warnings, completeness,
                    custodian_listed, actor, received_at,
                )  # fmt: skip
            except IntegrityError:
                continue  # the same request, or a related one, was recorded a moment ago
        raise Conflict("the request could not be recorded; please send it again")

    @staticmethod
    def _request_id(request: dict[str, Any]) -> str:
        """Same requesting country and reference, same id; an extension that reuses the
        earlier request's reference is a request of its own (not swallowed as a duplicate)."""
        authority = request["requesting_authority"]
        reference = authority.get("reference")
        previous = request.get("previous_reference")
        if request["status"] == "extension" and (
            not reference or " ".join(reference.split()).upper() == _norm(previous)
        ):
            date = authority.get("date") or ""
            reference = f"{reference or ''}|extension of {previous}|{date}"
        return str(request_id_for(authority["country"], reference))

    @staticmethod
    def _checklist_gaps(request: dict[str, Any], fields: dict[str, list[str]]) -> dict[str, Any]:
        """The checklist items ``request`` lacks, added to ``fields`` (a field already named
        for being malformed is not called missing as well); the Art 29(2) letters missing."""
        found: dict[str, list[str]] = {}
        extra: dict[str, Any] = {}
        if request.get("type") == "preservation":
            missing = art29_missing_items(request)  # legal-rule: art29-2-mandatory-items
            for letter, paths in missing.items():
                for path in paths:
                    found.setdefault(path, []).append(
                        f"required by Art {letter}: {ART29_ITEMS[letter][1]}"
                    )
            if missing:
                extra["missing"] = sorted(missing)
        elif request.get("type"):
            found.update(required_fields_missing(request))
        for path, problems in found.items():
            if not any(path == f or f.startswith(f"{path}.") for f in fields):
                fields.setdefault(path, []).extend(problems)
        return extra

    def _validate(
        self, body: dict[str, Any], received_at: Any, custodian_listed: bool = False
    ) -> tuple[dict[str, Any], list[dict[str, Any]], list[str], float]:
        try:
            request = RequestSchema().load(body)
        except ValidationError as exc:
            # Every problem at once: what the checklist lacks too, not only the malformed
            # fields (a lower-case country must not hide the missing Art 29(2) items).
            fields = flatten_errors(exc.messages)
            valid = exc.valid_data if isinstance(exc.valid_data, dict) else {}
            extra = self._checklist_gaps(valid, fields) if isinstance(body, dict) else {}
            raise Invalid(_failure(extra), fields, extra) from None
        fields: dict[str, list[str]] = {}
        extra = self._checklist_gaps(request, fields)
        data = request.get("data") or {}
        identifiers, warnings, id_errors = normalise_identifiers(
            data.get("identifiers") or [],
            request["requesting_authority"].get("time_zone"),
            received_at,
        )
        for path, problems in id_errors.items():
            fields.setdefault(path, []).extend(problems)
        warnings.extend(self._period_rules(request, fields))
        self._extension_rules(request, fields)
        if fields:
            raise Invalid(_failure(extra), fields, extra)
        if (
            request["type"] == "preservation"
            and request["direction"] == "incoming"
            and not custodian_listed
        ):
            # legal-rule: no-silent-lapse-custodian-not-listed
            warnings.append("custodian_not_listed")  # no order drafts itself: a person acts
        # legal-rule: p2-art9-emergency-urgency
        if request["type"] == "emergency_disclosure" and request["urgency"] != "emergency":
            request["urgency"] = "emergency"
            warnings.append("urgency_set_to_emergency")
        gaps, completeness = recommended_gaps(request)
        warnings.extend(f"recommended_missing:{path}" for path in gaps)
        if request["direction"] == "incoming":  # is the sender the CP it claims to be?
            warnings.extend(self.sender_check(request["requesting_authority"]))
        return request, identifiers, sorted(set(warnings)), completeness

    def _period_rules(self, request: dict[str, Any], fields: dict[str, list[str]]) -> list[str]:
        """The preservation period asked for, within the Convention and national law."""
        data = request.get("data") or {}
        days = data.get("period_days")
        if request["type"] != "preservation" or days is None:
            return []
        maximum = self.national_policy.maximum_period_days
        # legal-rule: art16-2-maximum-period
        if days > maximum:
            fields.setdefault("data.period_days", []).append(
                f"Art 16(2): at most {maximum} days per order under {self.national_policy.name}; "
                "longer preservation is by an extension request"
            )
            return []
        # legal-rule: art29-7-request-raised-to-minimum
        if request["direction"] == "incoming" and request["status"] == "new":
            if days >= ART29_MINIMUM_DAYS:
                return []
            data["period_days"] = ART29_MINIMUM_DAYS  # Art 29(7): not less than sixty days
            return ["period_raised_to_minimum"]
        return []

    def _extension_rules(self, request: dict[str, Any], fields: dict[str, list[str]]) -> None:
        """An extension names the earlier request of the same requesting country."""
        request["_extends"] = None
        if request["status"] != "extension":
            return
        if request["type"] != "preservation":
            fields.setdefault("status", []).append("only a preservation request is extended")
            return
        previous = request.get("previous_reference")
        if not previous or not previous.strip():
            fields.setdefault("previous_reference", []).append(
                "an extension names the reference of the earlier request"
            )
            return
        country = request["requesting_authority"]["country"]
        earlier = load(self.repository, str(request_id_for(country, previous)), Request)
        if earlier is None:
            fields.setdefault("previous_reference", []).append(
                f"no earlier request from {country} with the reference {previous!r}"
            )
            return
        request["_extends"] = earlier.request_id

    def _record_new(
        self,
        request: dict[str, Any],
        request_id: str,
        identifiers: list[dict[str, Any]],
        warnings: list[str],
        completeness: float,
        custodian_listed: bool,
        actor: dict[str, str],
        received_at: Any,
    ) -> dict[str, Any]:
        data = request.get("data") or {}
        custodian = data.get("custodian")
        provider_id = (custodian or {}).get("provider_id")
        authority = request["requesting_authority"]
        counterpart = request.get("counterpart_country") or authority["country"]

        indexes, match = self._index_sightings(identifiers, provider_id, request_id)
        extends = request.get("_extends")
        same_data_as = None
        if extends is not None:  # an extension joins its earlier request's case
            earlier = self._request(extends)
            match = None
            case = self._case(earlier.case_id)
            case.add_request(request_id, "extension", extends, actor)
        else:
            case = load(self.repository, match["case_id"], Case) if match else None
            if case is not None and self._another_party(request, match["request_id"]):
                # legal-rule: several-parties-own-request
                same_data_as, match = match["request_id"], None
                case.add_request(request_id, "another_requesting_party", same_data_as, actor)
            elif case is not None:
                case.join(
                    request_id,
                    match["request_id"],
                    "same identifier at the same provider within the time tolerance",
                    actor,
                )
                warnings = sorted({*warnings, "near_duplicate"})
        if case is None:
            match = None
            case = Case(
                case_id=str(uuid4()),
                request_id=request_id,
                direction=request["direction"],
                type=request["type"],
                urgency=request["urgency"],
                counterpart_country=counterpart,
                actor=actor,
            )
        registered = Request(
            request_id=request_id,
            case_id=case.case_id,
            direction=request["direction"],
            type=request["type"],
            urgency=request["urgency"],
            received_via=request["received_via"],
            counterpart_country=counterpart,
            requesting_authority=authority,
            custodian=None if custodian is None else {**custodian, "listed": custodian_listed},
            identifiers=identifiers,
            data_types=list(data.get("types") or []),
            period_days=data.get("period_days"),
            mla_intended=request.get("mla_intended"),
            warnings=warnings,
            completeness=completeness,
            near_duplicate_of=match["request_id"] if match else None,
            acknowledge_to=(
                self.acknowledgement_address(authority)
                if request["direction"] == "incoming"
                else None
            ),
            details={
                **{key: request.get(key) for key in DETAIL_KEYS},
                "relationship_to_offence": data.get("relationship_to_offence"),
            },
            received_at=iso(received_at),
            our_reference=our_reference(request_id, received_at.year),
            actor=actor,
            kind=request["status"],
            extends=extends,
            same_data_as=same_data_as,
        )
        for index, observed_at in indexes:
            index.seen(request_id, case.case_id, observed_at)
        self.save(case, registered, *{id(index): index for index, _ in indexes}.values())
        metrics.REQUESTS_REGISTERED.labels(request["type"], request["direction"], counterpart).inc()
        # API.md: the same identifiers, provider and time window is a duplicate (200); the new
        # request is kept, joined to the first case, for a person to confirm or split.
        return {**self._response(registered), "created": match is None}

    def _another_party(self, request: dict[str, Any], matched_request_id: str) -> bool:
        """Whether a request about the same data comes from another requesting State: then it
        keeps its own rights (receipt, feedback, clocks) instead of being a duplicate."""
        matched = load(self.repository, matched_request_id, Request)
        if matched is None or request["direction"] != "incoming":
            return False
        country = request["requesting_authority"]["country"]
        return matched.direction == "incoming" and matched.counterpart_country != country

    def _index_sightings(
        self, identifiers: list[dict[str, Any]], provider_id: str | None, request_id: str
    ) -> tuple[list[tuple[IdentifierIndex, str | None]], dict[str, Any] | None]:
        """The index entries to add (index, observed_at), and the first earlier match."""
        indexes: dict[str, IdentifierIndex] = {}
        sightings: list[tuple[IdentifierIndex, str | None]] = []
        match = None
        for identifier in identifiers:
            key = index_key(identifier["kind"], identifier["value"], provider_id, self.index_pepper)
            index = indexes.get(key) or load(self.repository, str(index_id(key)), IdentifierIndex)
            if index is None:
                index = IdentifierIndex(key=key)
            if match is None:
                match = index.match(
                    identifier.get("observed_at"), self.near_duplicate_tolerance, request_id
                )
            indexes[key] = index
            sightings.append((index, identifier.get("observed_at")))
        return sightings, match

    def _duplicate(self, request: Request, received_via: str, actor: dict[str, str]) -> dict:
        request.record_duplicate(
            case_id=request.case_id,
            request_id=request.request_id,
            received_via=received_via,
            actor=actor,
        )
        try:
            self.save(request)
        except IntegrityError:
            pass  # a simultaneous duplicate was recorded; one record of the fact is enough
        metrics.DUPLICATES_DETECTED.labels(request.type).inc()
        return {**self._response(request), "duplicate_of": request.request_id, "created": False}

    def _response(self, request: Request) -> dict[str, Any]:
        authority = request.requesting_authority
        response = {
            "case_id": request.case_id,
            "request_id": request.request_id,
            "status": request.status,
            "warnings": list(request.warnings),
            "completeness": request.completeness,
            "acknowledgement": {
                "status": "queued" if request.direction == "incoming" else "not_applicable",
                "our_reference": request.our_reference,
                "to": request.acknowledge_to
                or {
                    "country": authority.get("country"),
                    "contact_point": authority.get("contact_point"),
                    "email": authority.get("email"),
                },
            },
        }
        if request.near_duplicate_of:
            response["near_duplicate_of"] = request.near_duplicate_of
            response["duplicate_of"] = request.near_duplicate_of
        if request.extends:
            response["extends"] = request.extends
        if request.same_data_as:
            response["same_data_as"] = request.same_data_as
        return response

    # --- triage and decisions --------------------------------------------------------------
    def _case(self, case_id: str) -> Case:
        return require(self.repository, case_id, Case, "case")

    def _request(self, request_id: str) -> Request:
        return require(self.repository, request_id, Request, "request")

    @command
    @retry_on_conflict
    def assign_lead(self, case_id: str, lead: str, actor: dict[str, str]) -> dict[str, Any]:
        case = self._case(case_id)
        if case.assign_lead(lead, actor):
            self.save(case)
        return self.get_case(case_id)

    @command
    @retry_on_conflict
    def resolve_near_duplicate(
        self, case_id: str, request_id: str, resolution: str, actor: dict[str, str]
    ) -> dict[str, Any]:
        """A person confirms a joined near-duplicate, or splits it into a case of its own."""
        if resolution not in ("confirmed", "split"):
            raise Invalid("resolve as confirmed or split", {"resolution": ["confirmed|split"]})
        case = self._case(case_id)
        case.open_flag(request_id)
        if resolution == "confirmed":
            case.resolve(request_id, "confirmed", None, actor)
            self.save(case)
            return self.get_case(case_id)
        request = self._request(request_id)
        new_case = Case(
            case_id=str(uuid4()),
            request_id=request_id,
            direction=request.direction,
            type=request.type,
            urgency=request.urgency,
            counterpart_country=request.counterpart_country,
            actor=actor,
        )
        case.resolve(request_id, "split", new_case.case_id, actor)
        request.move_to(new_case.case_id, actor)
        self.save(case, new_case, request)
        return self.get_case(new_case.case_id)

    @command
    @retry_on_conflict
    def refuse_request(
        self, request_id: str, grounds: list[str], explanation: str, actor: dict[str, str]
    ) -> dict[str, Any]:
        request = self._request(request_id)
        articles = ((request.details or {}).get("offence") or {}).get("convention_articles") or []
        allowed = allowed_refusal_grounds(
            request.type, self.national_policy.art29_4_reservation, list(articles)
        )
        request.refuse(list(grounds or []), str(explanation or ""), allowed, actor)
        self.save(request)
        return self.request_view(request)

    @command
    @retry_on_conflict
    def withdraw_request(self, request_id: str, reason: Any, actor: dict) -> dict[str, Any]:
        request = self._request(request_id)
        request.withdraw(_text(reason, "reason"), actor)
        self.save(request)
        return self.request_view(request)

    @command
    @retry_on_conflict
    def give_art29_6_notice(
        self, request_id: str, reason: str, explanation: str, actor: dict[str, str]
    ) -> dict[str, Any]:
        request = self._request(request_id)
        request.give_art29_6_notice(str(reason or ""), str(explanation or ""), actor)
        self.save(request)
        return self.request_view(request)

    @command
    @retry_on_conflict
    def record_art29_6_decision(
        self, request_id: str, decision: Any, note: Any, actor: dict[str, str]
    ) -> dict[str, Any]:
        request = self._request(request_id)
        request.record_art29_6_decision(str(decision or ""), _text(note, "note", True), actor)
        self.save(request)
        return self.request_view(request)

    @command
    @retry_on_conflict
    def decline_order(self, request_id: str, reason: Any, actor: dict) -> dict[str, Any]:
        """Record why a preservation request gets no order: the work item goes away."""
        request = self._request(request_id)
        request.decline_order(_text(reason, "reason"), actor)
        self.save(request)
        return self.request_view(request)

    # --- an outgoing request's life ----------------------------------------------------------
    @command
    @retry_on_conflict
    def mark_sent(self, request_id: str, body: dict[str, Any], actor: dict) -> dict[str, Any]:
        channel = body.get("channel")
        if channel not in CHANNELS:
            raise Invalid("how was it sent?", {"channel": [" | ".join(CHANNELS)]})
        at = _moment(body.get("at"), "at")
        request = self._request(request_id)
        destination = self._destination(request)
        hours = self.national_policy.outgoing_receipt_hours
        # legal-rule: outgoing-receipt-chase
        chase = next_open(
            parse_iso(at) + timedelta(hours=hours),
            destination.get("office_hours") if destination else None,
            destination.get("time_zone") if destination else None,
        )
        request.mark_sent(channel, at, iso(chase), actor)
        self.save(request)
        return self.request_view(request)

    @command
    @retry_on_conflict
    def record_foreign_receipt(
        self, request_id: str, body: dict[str, Any], actor: dict
    ) -> dict[str, Any]:
        reference = body.get("reference")
        if reference is not None and (not isinstance(reference, str) or len(reference) > 200):
            raise Invalid("the foreign reference is text", {"reference": ["at most 200 chars"]})
        request = self._request(request_id)
        request.record_foreign_receipt(reference, _moment(body.get("at"), "at"), actor)
        self.save(request)
        return self.request_view(request)

    @command
    @retry_on_conflict
    def record_answer(self, request_id: str, body: dict[str, Any], actor: dict) -> dict[str, Any]:
        outcome = body.get("outcome")
        if outcome not in ANSWER_OUTCOMES:
            raise Invalid("what did the foreign CP answer?", {"outcome": list(ANSWER_OUTCOMES)})
        expires = body.get("expires_at")
        expires_at = None if expires is None else _moment(expires, "expires_at")
        request = self._request(request_id)
        request.record_answer(outcome, expires_at, _text(body.get("note"), "note", True), actor)
        self.save(request)
        return self.request_view(request)

    def _destination(self, request: Request) -> dict[str, Any] | None:
        """The directory entry of an outgoing request's destination CP, if listed."""
        entries = self._country_entries(request.counterpart_country, ACKNOWLEDGEMENT_PREFERENCE)
        return self.contact_point_view(entries[0]) if entries else None

    # --- cases ---------------------------------------------------------------------------------
    @command
    @retry_on_conflict
    def close_case(self, case_id: str, body: dict[str, Any], actor: dict) -> dict[str, Any]:
        """Close a case (the gateway checked that none of its orders or MLA still runs)."""
        outcome = _text(body.get("outcome"), "outcome")
        note = _text(body.get("note"), "note", True)
        case = self._case(case_id)
        requests = [self._request(rid) for rid in case.request_ids]
        case.close(outcome, note, list(case.request_ids), actor)
        closed = [r for r in requests if r.close(actor)]
        self.save(case, *closed)
        return self.get_case(case_id)

    # --- what preservation did -----------------------------------------------------------
    def on_order(self, message: Any, processing: Any) -> None:
        """An order drafted, issued or extended to cover a request: the request is under way."""
        payload = message.payload
        request_id = payload.get("request_id")
        request = load(self.repository, request_id, Request) if request_id else None
        if request is None:
            return
        issued = message.event == "OrderIssued" or bool(payload.get("issued"))
        if request.note_order(payload["order_id"], issued):
            processing.collect_events(request)

    @query
    def requests_needing_action(self) -> dict[str, list[dict[str, Any]]]:
        """The work list's request items: preservation requests nothing preserves yet (the
        outgoing chases are the MLA service's clocks)."""
        entries = self.request_index.select(lambda e: e["needs_order"])
        return {"requests_without_order": [dict(e) for e in entries]}

    @query
    def outgoing_letter(self, request_id: str) -> dict[str, str]:
        """An outgoing preservation request as a signed letter, for CPs that require one."""
        request = self._request(request_id)
        if request.direction != "outgoing" or request.type != "preservation":
            raise Conflict("letters are made for outgoing preservation requests only")
        details = request.details
        body = {
            "request_id": request.request_id,
            "requesting_authority": request.requesting_authority,
            "responsible_authority": details.get("responsible_authority"),
            "offence": details.get("offence"),
            "data": {
                "types": request.data_types,
                "relationship_to_offence": details.get("relationship_to_offence"),
                "identifiers": request.identifiers,
                "custodian": request.custodian,
                "period_days": request.period_days,
            },
            "necessity": details.get("necessity"),
            "mla_intended": request.mla_intended,
            "follow_up": details.get("follow_up"),
            "counterpart_country": request.counterpart_country,
        }
        pdf = render_outgoing_request(body, self.letterhead)
        signature = self.signer.sign(pdf)
        return {
            "pdf_b64": base64.b64encode(pdf).decode("ascii"),
            "signature": signature.to_json(),
            "number": request.our_reference,
        }

    # --- queries ---------------------------------------------------------------------------
    @query
    def get_case(self, case_id: str) -> dict[str, Any]:
        case = self._case(case_id)
        requests = [self.repository.get(UUID(rid)) for rid in case.request_ids]
        return {
            **self._case_summary(case),
            "closure": case.closure,
            "flags": [dict(flag) for flag in case.flags],
            "requests": [self.request_view(r) for r in requests],
        }

    @query
    def get_request(self, request_id: str) -> dict[str, Any]:
        request = self._request(request_id)
        view = self.request_view(request)
        if request.direction == "outgoing":
            view["destination"] = self._destination_format(request)
        return view

    def _destination_format(self, request: Request) -> dict[str, Any]:
        """What the destination CP requires (directory): whether the signed letter is needed."""
        destination = self._destination(request)
        required = (destination or {}).get("required_format") or ""
        return {
            "listed": destination is not None,
            "contact_point": (destination or {}).get("name"),
            "office_hours": (destination or {}).get("office_hours"),
            "time_zone": (destination or {}).get("time_zone"),
            "required_format": required or None,
            "letter_required": bool(required.strip()),
        }

    @query
    def list_cases(self, filters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Cases, newest first, filtered by status, type, country or direction.

        ``filters["limit"]`` (optional) keeps only the newest that many of those;
        ``filters["flagged"]`` only cases with an open flag (the consoles' start page).
        """
        filters = dict(filters or {})
        limit = _case_limit(filters.pop("limit", None))
        offset = _case_offset(filters.pop("offset", None))
        flagged = bool(filters.pop("flagged", None))
        matching = self._cases_matching(filters.pop("q", None))
        wanted = {k: str(v) for k, v in filters.items() if v}
        if "country" in wanted:  # a country in any case: de is DE
            wanted["country"] = wanted["country"].upper()

        def keep(summary: dict[str, Any]) -> bool:
            if flagged and not summary["open_flags"]:
                return False
            if matching is not None and summary["case_id"] not in matching:
                return False
            return all(str(summary.get(k)) == v for k, v in wanted.items())

        chosen = self.case_index.select(
            keep, None if limit is None else limit + offset, newest_first=True
        )[offset:]
        # The index's entries are shared: hand out copies of their lists and mappings too.
        return [
            {**c, "request_ids": list(c["request_ids"]), "opened_by": dict(c["opened_by"]),
             "references": self._references(c["request_ids"])}
            for c in chosen
        ]  # fmt: skip

    @query
    def case_names(self, case_ids: list[str]) -> dict[str, str]:
        """How people name each case: our reference, and the requester's where given."""
        wanted = set(case_ids)
        names: dict[str, str] = {}
        for entry in self.request_index.select(lambda e: e["case_id"] in wanted):
            if entry["case_id"] not in names:
                theirs = entry["their_reference"]
                names[entry["case_id"]] = entry["our_reference"] + (
                    f" · {theirs}" if theirs else ""
                )
        return names

    def _references(self, request_ids: list[str]) -> list[dict[str, Any]]:
        """How people name a case: each request's reference, ours and the requester's."""
        return [
            {"request_id": r["request_id"], "our_reference": r["our_reference"],
             "their_reference": r["their_reference"]}
            for r in self.request_index.entries_of(request_ids)
        ]  # fmt: skip

    def _cases_matching(self, query: Any) -> set[str] | None:
        """The cases a search names (None: no search): by our reference or theirs, a
        provider, a country, or a case id or its first characters, in any case. It reads
        the requests' summaries (references, states), never a case's personal data."""
        needle = " ".join(str(query or "").split()).casefold()
        if not needle:
            return None
        compact = needle.replace("-", "")

        def hit(entry: dict[str, Any]) -> bool:
            words = [entry["our_reference"], entry["their_reference"], entry["provider_id"]]
            return (
                any(needle in (w or "").casefold() for w in words)
                or entry["counterpart_country"].casefold() == needle
                or (len(compact) >= 4 and entry["case_id"].replace("-", "").startswith(compact))
            )

        return {entry["case_id"] for entry in self.request_index.select(hit)}

    @staticmethod
    def _case_summary(case: Case) -> dict[str, Any]:
        return {
            "case_id": case.case_id,
            "status": case.status,
            "type": case.type,
            "direction": case.direction,
            "urgency": case.urgency,
            "country": case.counterpart_country,
            "counterpart_country": case.counterpart_country,
            "lead": case.lead,
            "open_flags": sum(1 for flag in case.flags if flag["status"] == "open"),
            "opened_at": iso(case.created_on),
            "opened_by": case.opened_by,
            "request_ids": list(case.request_ids),
        }

    @staticmethod
    def request_view(request: Request) -> dict[str, Any]:
        return {
            "request_id": request.request_id,
            "case_id": request.case_id,
            "our_reference": request.our_reference,
            "status": request.status,
            "direction": request.direction,
            "type": request.type,
            "urgency": request.urgency,
            "received_via": request.received_via,
            "received_at": request.received_at,
            "requesting_authority": request.requesting_authority,
            "custodian": request.custodian,
            "identifiers": request.identifiers,
            "data_types": request.data_types,
            "period_days": request.period_days,
            "mla_intended": request.mla_intended,
            "warnings": request.warnings,
            "completeness": request.completeness,
            "near_duplicate_of": request.near_duplicate_of,
            "details": request.details,
            "registered_by": request.registered_by,
            "duplicates": request.duplicates,
            "refusal": request.refusal,
            "art29_6_notices": request.notices,
            "art29_6_decisions": request.decisions,
            "withdrawal": request.withdrawal,
            "kind": request.kind,
            "extends": request.extends,
            "same_data_as": request.same_data_as,
            "order_ids": list(request.order_ids),
            "needs_order": request.needs_order,
            "no_order": request.no_order,
            "sent": request.sent,
            "foreign_receipt": request.foreign_receipt,
            "answer": request.answer,
        }

    @staticmethod
    def _request_summary(request: Request) -> dict[str, Any]:
        """What the work list keeps of a request: ids and states, nothing personal."""
        return {
            "request_id": request.request_id,
            "case_id": request.case_id,
            "type": request.type,
            "direction": request.direction,
            "status": request.status,
            "counterpart_country": request.counterpart_country,
            "our_reference": request.our_reference,
            # The requester's own reference and the provider named: what people search by.
            "their_reference": (request.requesting_authority or {}).get("reference"),
            "provider_id": (request.custodian or {}).get("provider_id"),
            "needs_order": request.needs_order,
        }


def _case_limit(value: Any) -> int | None:
    """``filters["limit"]`` as a count of cases, or None for all of them."""
    if value is None or value == "":
        return None
    try:
        limit = int(value)
    except (TypeError, ValueError):
        limit = 0
    if isinstance(value, bool) or limit < 1:
        raise Invalid("limit must be a whole number of cases", {"limit": ["e.g. 50"]})
    return limit


def _failure(extra: dict[str, Any]) -> str:
    if extra.get("missing"):
        return "the preservation request lacks what Art 29(2) requires"
    return "the request is not valid"


def _case_offset(value: Any) -> int:
    """``filters["offset"]``: how many of the chosen cases to skip (the pages before)."""
    if value is None or value == "":
        return 0
    try:
        offset = int(value)
    except (TypeError, ValueError):
        offset = -1
    if isinstance(value, bool) or offset < 0:
        raise Invalid("offset must be a whole number of cases", {"offset": ["e.g. 50"]})
    return offset


def _norm(reference: str | None) -> str:
    return " ".join((reference or "").split()).upper()


def _text(value: Any, field: str, optional: bool = False) -> str:
    """A text field of a command body: ``None`` is empty where optional; else a 422."""
    if value is None and optional:
        return ""
    if not isinstance(value, str) or len(value) > 4000:
        raise Invalid(f"{field} must be text", {field: ["text of at most 4000 characters"]})
    return value


def _moment(value: Any, field: str) -> str:
    """An ISO 8601 time with an offset (now when left out), as UTC text."""
    if value is None:
        return iso(utcnow())
    try:
        moment = parse_iso(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise Invalid(
            f"{field} must be an ISO 8601 time with an offset",
            {field: ["e.g. 2026-11-28T09:15:00+01:00"]},
        )
    return iso(moment)


# A clock a few minutes ahead of ours is not an arrival in the future.
ARRIVAL_SKEW = timedelta(minutes=5)


def arrival(body: Any, registered_at: datetime) -> datetime:
    """When the request arrived (``received_at``, given by the officer who types in a fax an
    hour late, or by the channel), else the registration time. The figures and the receipt
    count from it; it must name its zone and may not lie in the future."""
    given = body.get("received_at") if isinstance(body, dict) else None
    if given is None:
        return registered_at
    problem = "an ISO 8601 time with its zone, e.g. 2026-11-27T09:14:00+02:00"
    if isinstance(given, str):
        try:
            moment = datetime.fromisoformat(given.replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            if moment > registered_at + ARRIVAL_SKEW:
                problem = "the request cannot arrive after it is registered"
            elif moment.year < 1990:
                problem = "not before 1990"
            else:
                return moment.astimezone(UTC)
    raise Invalid("the request is not valid", {"received_at": [problem]})
