"""The intake application: register requests, open cases, never twice."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError
from marshmallow import ValidationError

from cp247 import metrics
from cp247.clock import iso, utcnow
from cp247.errors import Invalid, NotFound
from cp247.runtime.application import ServiceApplication, load
from cp247.validation import flatten_errors
from services.intake.checklist import ART29_ITEMS, art29_missing_items
from services.intake.domain import Case, Request, our_reference, request_id_for
from services.intake.hygiene import normalise_identifiers
from services.intake.schemas import RequestSchema


class IntakeApplication(ServiceApplication):
    name = "intake"

    def register_request(
        self, body: dict[str, Any], actor: dict[str, str], custodian_listed: bool = False
    ) -> dict[str, Any]:
        """Register a request; returns the API's response body plus ``created``.

        Raises :class:`Invalid` naming every field (and Art 29(2) letter) that is wrong.
        """
        try:
            request = RequestSchema().load(body)
        except ValidationError as exc:
            raise Invalid("the request is not valid", flatten_errors(exc.messages)) from None
        received_at = utcnow()
        authority = request["requesting_authority"]
        data = request.get("data") or {}
        fields: dict[str, list[str]] = {}
        extra: dict[str, Any] = {}
        if request["type"] == "preservation":
            missing = art29_missing_items(request)
            for letter, paths in missing.items():
                for path in paths:
                    fields.setdefault(path, []).append(
                        f"required by Art {letter}: {ART29_ITEMS[letter][1]}"
                    )
            if missing:
                extra["missing"] = sorted(missing)
        identifiers, warnings, id_errors = normalise_identifiers(
            data.get("identifiers") or [], authority.get("time_zone"), received_at
        )
        fields.update(id_errors)
        if fields:
            message = (
                "the preservation request lacks what Art 29(2) requires"
                if extra.get("missing")
                else "the request is not valid"
            )
            raise Invalid(message, fields, extra)
        if request["type"] == "preservation" and request.get("mla_intended") is False:
            warnings.append("mla_not_intended")

        request_id = str(request_id_for(authority["country"], authority.get("reference")))
        existing = self._find_request(request_id)
        if existing is not None:
            return self._duplicate(existing, request["received_via"], actor)

        case_id = str(uuid4())
        custodian = data.get("custodian")
        counterpart = request.get("counterpart_country") or authority["country"]
        case = Case(
            case_id=case_id,
            request_id=request_id,
            direction=request["direction"],
            type=request["type"],
            urgency=request["urgency"],
            counterpart_country=counterpart,
            actor=actor,
        )
        registered = Request(
            request_id=request_id,
            case_id=case_id,
            direction=request["direction"],
            type=request["type"],
            urgency=request["urgency"],
            received_via=request["received_via"],
            counterpart_country=counterpart,
            requesting_authority={
                key: authority.get(key)
                for key in ("country", "contact_point", "person", "email", "reference", "time_zone")
            },
            custodian=None if custodian is None else {**custodian, "listed": custodian_listed},
            identifiers=identifiers,
            data_types=list(data.get("types") or []),
            period_days=data.get("period_days"),
            mla_intended=request.get("mla_intended"),
            warnings=sorted(set(warnings)),
            received_at=iso(received_at),
            our_reference=our_reference(request_id, received_at.year),
            actor=actor,
        )
        try:
            self.save(case, registered)
        except IntegrityError:
            # Another CP or replica registered the same request a moment ago.
            existing = self._find_request(request_id)
            if existing is None:
                raise
            return self._duplicate(existing, request["received_via"], actor)
        metrics.REQUESTS_REGISTERED.labels(request["type"], request["direction"], counterpart).inc()
        return {**self._response(registered), "created": True}

    def _find_request(self, request_id: str) -> Request | None:
        try:
            return self.repository.get(UUID(request_id))
        except AggregateNotFoundError:
            return None

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
        return {
            "case_id": request.case_id,
            "request_id": request.request_id,
            "status": request.status,
            "warnings": list(request.warnings),
            "acknowledgement": {
                "status": "queued" if request.direction == "incoming" else "not_applicable",
                "our_reference": request.our_reference,
                "to": {
                    "country": authority.get("country"),
                    "contact_point": authority.get("contact_point"),
                    "email": authority.get("email"),
                },
            },
        }

    # --- queries ---------------------------------------------------------------------------
    def get_case(self, case_id: str) -> dict[str, Any]:
        case = load(self.repository, case_id, Case)
        if case is None:
            raise NotFound(f"no case {case_id}")
        requests = [self.repository.get(UUID(rid)) for rid in case.request_ids]
        return {
            **self._case_summary(case),
            "requests": [self._request_view(r) for r in requests],
        }

    def list_cases(self, filters: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Cases, newest first, filtered by status, type, country or direction."""
        filters = {k: v for k, v in (filters or {}).items() if v}
        cases = [self._case_summary(case) for case in self.created(Case.CaseOpened)]
        cases = [c for c in cases if all(str(c.get(k)) == v for k, v in filters.items())]
        return list(reversed(cases))

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
            "opened_at": iso(case.created_on),
            "opened_by": case.opened_by,
            "request_ids": list(case.request_ids),
        }

    @staticmethod
    def _request_view(request: Request) -> dict[str, Any]:
        return {
            "request_id": request.request_id,
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
            "registered_by": request.registered_by,
            "duplicates": request.duplicates,
        }
