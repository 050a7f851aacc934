"""The body of ``GET /api/v1/audit/verify`` (and of ``cp247 audit verify``), for the OpenAPI
document: the timeline recomputed, the producers cross-checked, the sealed stores verified."""

from __future__ import annotations

from marshmallow import Schema, fields


class BrokenEntrySchema(Schema):
    at = fields.String(required=True)
    service = fields.String(required=True)
    notification_id = fields.Integer(required=True)
    event = fields.String(required=True)
    problem = fields.String(required=True, metadata={"description": "missing|unexpected|altered"})


class TallySchema(Schema):
    events = fields.Integer(required=True)
    last_position = fields.Integer(required=True)


class TallyMismatchSchema(Schema):
    case_id = fields.String(metadata={"description": "for an admin and the CLI only"})
    producer = fields.String(required=True)
    expected = fields.Nested(
        TallySchema, required=True, metadata={"description": "what the timeline applied"}
    )
    found = fields.Nested(
        TallySchema, required=True, metadata={"description": "what the producer holds now"}
    )


class ProducersSchema(Schema):
    ok = fields.Boolean(required=True)
    cases = fields.Integer(required=True)
    mismatches = fields.Integer(required=True)
    untallied_cases = fields.Integer(
        metadata={"description": "cases recorded before tallies existed (timeline rebuild)"}
    )
    first_mismatch = fields.Nested(TallyMismatchSchema)


class BrokenRangeSchema(Schema):
    from_position = fields.Integer(required=True)
    to_position = fields.Integer(required=True)
    problem = fields.String(
        required=True, metadata={"description": "deleted|added|altered|unknown key"}
    )
    sealed_records = fields.Integer()
    found_records = fields.Integer()
    missing = fields.Dict(
        keys=fields.String(), values=fields.Integer(), metadata={"description": "kind: count"}
    )
    extra = fields.Dict(keys=fields.String(), values=fields.Integer())
    positions_without_record = fields.List(fields.Integer())


class SealedStoreSchema(Schema):
    ok = fields.Boolean(required=True)
    seals = fields.Integer(required=True)
    sealed_upto = fields.Integer(required=True)
    unsealed = fields.Integer(required=True, metadata={"description": "records after the seal"})
    broken_ranges = fields.Integer(required=True)
    unreadable_records = fields.Integer()
    first_broken = fields.Nested(BrokenRangeSchema)


class VerifiedThroughSchema(Schema):
    at = fields.String(
        required=True, allow_none=True, metadata={"description": "when it was last verified"}
    )
    positions = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        required=True,
        metadata={"description": "each producer's last event verified"},
    )


class AuditReportSchema(Schema):
    ok = fields.Boolean(required=True, metadata={"description": "false on any failure"})
    failed = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "timeline, producers, timeline_store, gateway_store"},
    )
    entries = fields.Integer(required=True)
    head_hash = fields.String(required=True)
    first_broken = fields.Nested(BrokenEntrySchema)
    producers = fields.Nested(ProducersSchema, required=True)
    timeline_store = fields.Nested(SealedStoreSchema, required=True)
    gateway_store = fields.Nested(
        SealedStoreSchema,
        required=True,
        metadata={"description": "users, tokens, sessions and the read audit"},
    )
    verified_through = fields.Nested(
        VerifiedThroughSchema,
        required=True,
        metadata={
            "description": "the checkpoint: every entry of an event up to these positions "
            "matched its producer's (a GET verifies only what came after the previous one)"
        },
    )


class ProgressSchema(Schema):
    done = fields.Integer(required=True, metadata={"description": "producer events read"})
    total = fields.Integer(required=True, allow_none=True)
    percent = fields.Integer(required=True)


class VerificationSchema(Schema):
    verification_id = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "pending|running|done"})
    requested_by = fields.String(required=True)
    requested_at = fields.String(required=True)
    started_at = fields.String(required=True, allow_none=True)
    finished_at = fields.String(required=True, allow_none=True)
    progress = fields.Nested(ProgressSchema, required=True)
    eta_seconds = fields.Integer(required=True, allow_none=True)
    result = fields.Nested(
        AuditReportSchema, required=True, allow_none=True, metadata={"description": "once done"}
    )
