"""``cp247 demo``: a realistic demo data set in an embedded data directory.

Every step goes through the applications' own commands, as the HTTP API calls them; the
embedded platform's event delivery runs between steps, so a step sees what the earlier ones
caused (an order in the provider's inbox, an MLA follow-up to link). Every request carries a
fixed ``DEMO-`` reference and intake derives a request's id from country and reference, so a
second run finds each request already recorded and changes nothing; every later step is
taken only from the state it expects, so a run cut short is completed by the next one.

Demo users share one published password and their second-factor codes can be printed with
``cp247 demo code``: demo data only, never a real deployment (the command refuses a data
directory that holds other cases).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cp247 import totp
from cp247.bootstrap import make_application
from cp247.clock import utcnow
from cp247.config import DEFAULT_DATA_DIR, Settings
from cp247.embedded import EmbeddedPlatform
from cp247.errors import AlreadyExists, Forbidden, NotFound
from cp247.runtime.application import load
from cp247.samples import address_for, preservation_request
from services.gateway.identity import SECOND_FACTOR_ROLES, User, check_password
from services.intake.domain import request_id_for
from services.notification.domain import alert_id_for

DEMO_PASSWORD = "demo-password-2026"
DEMO_USERS = {"poe": "police", "pat": "prosecution", "ada": "admin", "ovi": "oversight"}
DEMO_PROVIDERS = (
    ("telco-a", "Telco A", "RO", "noc@telco-a.example.net"),
    ("telco-b", "Telco B", "RO", "noc@telco-b.example.net"),
)
REFERENCE_PREFIX = "DEMO-"

POLICE = {"username": "poe", "role": "police"}
PROSECUTION = {"username": "pat", "role": "prosecution"}
OUR_UNIT = {  # our own CP, the requesting authority of an outgoing request
    "country": "RO",
    "contact_point": "Cybercrime Service of the Prosecutor's Office",
    "person": "M. Ionescu",
    "city": "Bucharest",
    "email": "cp247@parchet.example.org",
    "time_zone": "Europe/Bucharest",
}

# Foreign CPs of the demo cases (the Polish sender is left out: its request is unlisted).
CONTACT_POINTS = [
    ("US", "hybrid", "Federal Cyber Crime Duty Desk", "America/New_York", ["en"]),
    ("DE", "police", "Cybercrime 24/7 Desk", "Europe/Berlin", ["de", "en"]),
    ("FR", "police", "Cybercrime 24/7 Unit", "Europe/Paris", ["fr", "en"]),
    ("GB", "police", "National Cyber Crime Duty Desk", "Europe/London", ["en"]),
    ("AT", "police", "Cybercrime Competence Centre 24/7", "Europe/Vienna", ["de", "en"]),
    ("ES", "police", "Cybercrime 24/7 Point of Contact", "Europe/Madrid", ["es", "en"]),
    ("IT", "police", "Postal and Cyber Police 24/7 Desk", "Europe/Rome", ["it", "en"]),
    ("IT", "prosecution", "Cybercrime Prosecution Desk", "Europe/Rome", ["it", "en"]),
    ("CH", "police", "Cybercrime Coordination 24/7", "Europe/Zurich", ["de", "fr", "en"]),
    ("NL", "hybrid", "High Tech Crime 24/7 Desk", "Europe/Amsterdam", ["nl", "en"]),
]


class DemoRefused(Exception):
    """The data directory is not one to put demo data in; the message says why."""


def sender_email(country: str, kind: str) -> str:
    return f"cp247-{kind}@{country.lower()}.example.org"


def reference(country: str, number: int) -> str:
    """A foreign CP's reference of a demo request: fixed, so a re-run finds the request."""
    return f"{REFERENCE_PREFIX}{country}-{number:04d}"


def observed(days_ago: int, hour: int, minute: int, zone: str, local_only: bool = False) -> str:
    """A moment on an earlier day in ``zone`` (always past), with its offset or as local
    time only; the hours used here (09-23) never fall into a daylight-saving gap."""
    day = utcnow().astimezone(ZoneInfo(zone)) - timedelta(days=days_ago)
    moment = day.replace(hour=hour, minute=minute, second=7, microsecond=0)
    if local_only:
        moment = moment.replace(tzinfo=None)
    return moment.isoformat(timespec="seconds")


def today(zone: str) -> str:
    return utcnow().astimezone(ZoneInfo(zone)).date().isoformat()


# --- what a run made ------------------------------------------------------------------------
@dataclass
class SeededUser:
    username: str
    role: str
    created: bool
    otpauth_uri: str | None = None
    note: str = ""


@dataclass
class SeededProvider:
    provider_id: str
    name: str
    created: bool
    token: str | None = None


@dataclass
class SeededCase:
    title: str
    case_id: str
    our_reference: str
    state: str
    created: bool


@dataclass
class DemoReport:
    data_dir: Path
    users: list[SeededUser] = field(default_factory=list)
    providers: list[SeededProvider] = field(default_factory=list)
    contact_points: int = 0
    cases: list[SeededCase] = field(default_factory=list)

    @property
    def anything_new(self) -> bool:
        return any(
            [
                *(u.created for u in self.users),
                *(p.created for p in self.providers),
                *(c.created for c in self.cases),
                self.contact_points,
            ]
        )

    def render(self) -> str:
        """The summary printed at the end of ``cp247 demo``."""
        new = sum(case.created for case in self.cases)
        lines = [f"cp247 demo data in {self.data_dir.resolve()}", ""]
        if not self.anything_new:
            lines += [
                "Everything was already there: the demo references are fixed, so this run",
                "found each request recorded and duplicated nothing.",
                "",
            ]
        lines.append(f"Cases ({len(self.cases)}, {new} new this run):")
        for case in self.cases:
            lines.append(f"  {case.our_reference}  {case.title}")
            lines.append(f"  {' ' * len(case.our_reference)}  {case.state}")
        lines += ["", f"Users (password for all: {DEMO_PASSWORD}):"]
        for user in self.users:
            lines.append(f"  {user.username:4} {user.role:12} {user.note}".rstrip())
            if user.otpauth_uri:
                lines.append(f"       {user.otpauth_uri}")
        lines += ["", "Providers (ISP API tokens are shown once, when the provider is made):"]
        for provider in self.providers:
            shown = provider.token or (
                f"made earlier; a new one: cp247 tokens issue --provider {provider.provider_id}"
            )
            lines.append(f"  {provider.provider_id:8} {provider.name:8} {shown}")
        run = "make run"
        if self.data_dir.resolve() != Path(DEFAULT_DATA_DIR).resolve():
            run = f"CP247_DATA_DIR={self.data_dir} make run"
        lines += [
            "",
            "Next:",
            f"  {run}",
            "  open http://127.0.0.1:8080/ (the API: /api/v1/openapi.json)",
            f"  cp247 demo code pat --data-dir {self.data_dir}",
            "      the current second-factor code of a demo user, for",
            "  POST /api/v1/login {username, password, totp}: a session token for the API",
            "  an ISP: GET /api/v1/isp/orders with Authorization: Bearer <its token>",
            "",
            "Demo data only: the password is public and the codes can be printed by anyone",
            "who can read this data directory.",
        ]
        return "\n".join(lines) + "\n"


# --- identity, providers, directory ---------------------------------------------------------
def seed_users(identity: Any) -> list[SeededUser]:
    """The four demo users; console roles get a second factor (enrolled once)."""
    seeded = []
    for username, role in DEMO_USERS.items():
        created, note = True, ""
        try:
            identity.add_user(username, role, DEMO_PASSWORD)
        except AlreadyExists:
            created = False
        user = _user(identity, username)
        if not check_password(DEMO_PASSWORD, user.password_hash):
            note = "existed already with another password: left alone"
            seeded.append(SeededUser(username, user.role, False, None, note))
            continue
        uri = None
        if user.role in SECOND_FACTOR_ROLES:
            if user.totp_secret is None:
                uri = identity.enrol_second_factor(username)
            else:
                uri = totp.otpauth_uri(user.totp_secret, user.username)
            note = f"second factor: cp247 demo code {username}"
        else:
            note = "password only (no console)"
        seeded.append(SeededUser(username, user.role, created, uri, note))
    return seeded


def _user(identity: Any, username: str) -> User:
    user = load(identity.repository, str(User.create_id(username)), User)
    if user is None:
        raise NotFound(f"no user {username}")
    return user


def seed_providers(identity: Any, isp_liaison: Any) -> list[SeededProvider]:
    """Telco A and Telco B, with one API token each the first time."""
    seeded = []
    for provider_id, name, country, email in DEMO_PROVIDERS:
        try:
            isp_liaison.register_provider(provider_id, name, country, email)
        except AlreadyExists:
            seeded.append(SeededProvider(provider_id, name, False))
            continue
        token = identity.issue_token(provider_id=provider_id)
        seeded.append(SeededProvider(provider_id, name, True, token))
    return seeded


# Who lists the demo directory, as its events record.
DEMO_ACTOR = {"username": "cp247-demo", "role": "operator"}


def seed_contact_points(intake: Any) -> int:
    """The foreign CPs that send the demo requests; returns how many were new."""
    before = len(intake.contact_points())
    for country, kind, name, zone, languages in CONTACT_POINTS:
        intake.list_contact_point(
            {
                "country": country,
                "kind": kind,
                "name": name,
                "institutional_email": sender_email(country, kind),
                "phones": ["+1 202 555 0100"] if country == "US" else [],
                "office_hours": "24/7",
                "time_zone": zone,
                "languages": languages,
                "can_order_preservation": country in ("US", "NL"),
            },
            DEMO_ACTOR,
        )
    return len(intake.contact_points()) - before


# --- cases ------------------------------------------------------------------------------------
class Seeder:
    """The applications of one embedded platform, and delivery between the steps."""

    def __init__(self, platform: EmbeddedPlatform):
        self.platform = platform
        self.apps = platform.apps

    def deliver(self) -> None:
        self.platform.deliver()

    def register(self, body: dict[str, Any], actor: dict[str, str]) -> tuple[dict, bool]:
        """The request as recorded, and whether this run registered it."""
        request_id = _request_id(body)
        try:
            return self.apps["intake"].get_request(request_id), False
        except NotFound:
            pass
        self._register(body, actor)
        return self.apps["intake"].get_request(request_id), True

    def receive_again(self, body: dict[str, Any], actor: dict[str, str]) -> None:
        """The same request once more, as the other CP or by another channel (once)."""
        if not self.apps["intake"].get_request(_request_id(body))["duplicates"]:
            self._register(body, actor)

    def _register(self, body: dict[str, Any], actor: dict[str, str]) -> None:
        """As the gateway does: is the custodian in the provider directory?"""
        provider_id = ((body.get("data") or {}).get("custodian") or {}).get("provider_id")
        listed = bool(provider_id) and self.apps["isp_liaison"].has_provider(provider_id)
        self.apps["intake"].register_request(body, actor, listed)
        self.deliver()

    def order_of(self, case_id: str) -> dict[str, Any] | None:
        orders = self.apps["preservation"].orders_of_case(case_id)
        return orders[0] if orders else None

    def provider_status(self, order: dict[str, Any]) -> str:
        return self.apps["isp_liaison"].get_order(order["provider_id"], order["order_id"])["status"]

    def provider_acts(self, order: dict[str, Any], action: str, **body: Any) -> None:
        """The provider acknowledges, or reports preserved/unavailable, from ``issued`` or
        ``acknowledged`` only (its own API is idempotent; this also skips a later state)."""
        if order["status"] not in ("issued", "acknowledged"):
            return
        if self.provider_status(order) not in ("issued", "acknowledged"):
            return
        isp, provider = self.apps["isp_liaison"], order["provider_id"]
        actor = {"username": provider, "role": "isp"}
        if action == "acknowledge":
            isp.acknowledge(provider, order["order_id"], actor)
        elif action == "preserved":
            isp.report_preserved(provider, order["order_id"], body, actor)
        else:
            isp.report_unavailable(provider, order["order_id"], body, actor)
        self.deliver()

    def case(self, title: str, request: dict[str, Any], created: bool, state: str) -> SeededCase:
        return SeededCase(title, request["case_id"], request["our_reference"], state, created)

    def alert_state(self, case_id: str) -> str:
        alerts = self.apps["notification"]
        if any(a["case_id"] == case_id for a in alerts.open_alerts()):
            return "duty alert open"
        return "duty alert acknowledged"

    def order_state(self, case_id: str) -> str:
        order = self.order_of(case_id)
        if order is None:
            return "no preservation order"
        return f"order {order['status'].replace('_', ' ')} ({order['provider_id']})"


def _request_id(body: dict[str, Any]) -> str:
    authority = body["requesting_authority"]
    return str(request_id_for(authority["country"], authority["reference"]))


def _authority(country: str, kind: str, number: int, zone: str, **more: Any) -> dict[str, Any]:
    listed = {(c, k): name for c, k, name, _, _ in CONTACT_POINTS}
    return {
        "country": country,
        "contact_point": listed.get((country, kind), f"{country} 24/7 contact point"),
        "person": "Duty officer",
        "email": sender_email(country, kind),
        "reference": reference(country, number),
        "date": today(zone),
        "time_zone": zone,
        **more,
    }


def _ip(value: str, port: int | None, at: str, service: str | None = None) -> dict[str, Any]:
    identifier: dict[str, Any] = {"kind": "ip", "value": value, "observed_at": at}
    if port is not None:
        identifier["port"] = port
    if service:
        identifier["service"] = service
    return identifier


def _preservation(
    authority: dict[str, Any],
    provider_id: str | None,
    offence: tuple[str, str],
    relationship: str,
    identifiers: list[dict[str, Any]],
    **overrides: Any,
) -> dict[str, Any]:
    """An Art 29 request in the shape of :func:`cp247.samples.preservation_request`."""
    custodian = (
        {"provider_id": provider_id, "name": provider_id.replace("-", " ").title(), "country": "RO"}
        if provider_id
        else overrides.pop("custodian")
    )
    description, facts = offence
    return preservation_request(
        authority["reference"],
        requesting_authority=authority,
        responsible_authority=overrides.pop(
            "responsible_authority",
            {"name": f"Public prosecutor ({authority['country']})", "case_number": "DEMO-1"},
        ),
        offence={
            "description": description,
            "summary_of_facts": facts,
            "provisions": overrides.pop("provisions", "Budapest Convention Arts 2-8"),
            "max_penalty": overrides.pop("max_penalty", "7 years"),
        },
        data={
            "types": overrides.pop("types", ["subscriber", "traffic"]),
            "relationship_to_offence": relationship,
            "identifiers": identifiers,
            "custodian": custodian,
            "period_days": 90,
        },
        follow_up={"partial_disclosure_requested": True, "feedback_requested": True},
        counterpart_country=overrides.pop("counterpart_country", authority["country"]),
        **overrides,
    )


def incoming_preservation_acknowledged(s: Seeder) -> SeededCase:
    """US: urgent ransomware request; the prosecutor's order is issued, Telco A acknowledges,
    and the duty alert is acknowledged by the prosecutor."""
    zone = "America/New_York"
    ref = reference("US", 1)
    body = _preservation(
        _authority("US", "hybrid", 1, zone, phone="+1 202 555 0101", city="Washington"),
        "telco-a",
        ("ransomware attack on a hospital", "systems encrypted; the ransom note names a server"),
        "the address controlled the ransomware",
        [_ip(address_for(ref), 51234, observed(2, 22, 14, zone), "https")],
        necessity="Telco A deletes connection logs after 7 days",
    )
    request, created = s.register(body, PROSECUTION)
    order = s.order_of(request["case_id"])
    if order:
        s.provider_acts(order, "acknowledge")
    try:  # the prosecutor on duty saw the alert and acted on it
        s.apps["notification"].acknowledge_alert(alert_id_for(request["request_id"]), "pat")
    except NotFound:
        pass  # no one on the roster to alert
    s.deliver()
    state = f"{s.order_state(request['case_id'])}; {s.alert_state(request['case_id'])}"
    return s.case("US incoming preservation (urgent)", request, created, state)


def incoming_preservation_preserved(s: Seeder) -> SeededCase:
    """DE: phishing kit; Telco B acknowledges and reports the data preserved."""
    zone = "Europe/Berlin"
    ref = reference("DE", 1)
    body = _preservation(
        _authority("DE", "police", 1, zone, city="Wiesbaden"),
        "telco-b",
        ("phishing of online-banking credentials", "a phishing kit collected 1,200 logins"),
        "the phishing kit sent the stolen logins to this address",
        [_ip(address_for(ref), 443, observed(3, 9, 41, zone), "https")],
        necessity="the hosting contract ends this week and the server will be wiped",
        urgency="routine",
    )
    request, created = s.register(body, PROSECUTION)
    order = s.order_of(request["case_id"])
    if order:
        s.provider_acts(order, "acknowledge")
        s.provider_acts(
            s.order_of(request["case_id"]) or order,
            "preserved",
            note="connection logs and subscriber record copied to a sealed store",
            records=1842,
        )
    return s.case("DE incoming preservation", request, created, s.order_state(request["case_id"]))


def incoming_preservation_unavailable(s: Seeder) -> SeededCase:
    """FR: DDoS extortion; Telco A no longer has the logs, and France is told (Art 29(6))."""
    zone = "Europe/Paris"
    ref = reference("FR", 1)
    body = _preservation(
        _authority("FR", "police", 1, zone, city="Nanterre"),
        "telco-a",
        ("DDoS extortion of an online shop", "the shop was flooded after refusing to pay"),
        "the extortion e-mails were sent from this address",
        [_ip(address_for(ref), 60122, observed(9, 16, 5, zone))],
        necessity="provider logs are short-lived",
        urgency="routine",
    )
    request, created = s.register(body, PROSECUTION)
    order = s.order_of(request["case_id"])
    if order:
        s.provider_acts(order, "unavailable", reason="connection logs are kept 72 hours only")
    if not request["art29_6_notices"]:
        s.apps["intake"].give_art29_6_notice(
            request["request_id"],
            "availability",
            "Telco A keeps connection logs for 72 hours; they were gone when the order came",
            PROSECUTION,
        )
        s.deliver()
    return s.case("FR incoming preservation", request, created, s.order_state(request["case_id"]))


def emergency_disclosure_alert(s: Seeder) -> SeededCase:
    """GB: a threat to a school (P2 Art 9); the duty officer's alert stays open."""
    zone = "Europe/London"
    ref = reference("GB", 1)
    body = {
        "direction": "incoming",
        "type": "emergency_disclosure",
        "urgency": "emergency",
        "received_via": "phone",
        "requesting_authority": _authority(
            "GB", "police", 1, zone, phone="+44 20 7946 0001", city="London"
        ),
        "offence": {
            "description": "threat to kill",
            "summary_of_facts": "an e-mail announces an attack on a school tomorrow morning",
        },
        "emergency": {
            "risk": "imminent risk to the life of pupils and staff",
            "persons_at_risk": "pupils and staff of a secondary school",
        },
        "data": {
            "types": ["subscriber"],
            "relationship_to_offence": "the threat was sent from this account and address",
            "identifiers": [
                {"kind": "email", "value": "threat.sender@example.com"},
                _ip(address_for(ref), 40211, observed(1, 18, 2, zone)),
            ],
            "custodian": {"provider_id": "telco-b", "name": "Telco B", "country": "RO"},
        },
        "counterpart_country": "GB",
    }
    request, created = s.register(body, POLICE)
    return s.case("GB emergency disclosure", request, created, s.alert_state(request["case_id"]))


def police_order_awaiting_approval(s: Seeder) -> SeededCase:
    """AT: sextortion; registered by the police CP, so its order waits for a prosecutor."""
    zone = "Europe/Vienna"
    ref = reference("AT", 1)
    body = _preservation(
        _authority("AT", "police", 1, zone, city="Vienna"),
        "telco-a",
        ("sextortion of minors", "a messaging account extorted images from two children"),
        "the account logged in from this address",
        [_ip(address_for(ref), 38001, observed(2, 20, 30, zone))],
        necessity="login records are kept 30 days",
    )
    request, created = s.register(body, POLICE)
    state = f"{s.order_state(request['case_id'])}; {s.alert_state(request['case_id'])}"
    return s.case("AT incoming preservation (police CP)", request, created, state)


def outgoing_preservation_to_nl(s: Seeder) -> SeededCase:
    """RO -> NL: our prosecutor asks the Dutch CP to preserve a hosting account."""
    zone = "Europe/Bucharest"
    body = _preservation(
        {**OUR_UNIT, "reference": reference("RO", 1), "date": today(zone)},
        None,
        ("investment fraud", "a fake trading platform took EUR 2 million from 300 victims"),
        "the platform's web server and its administrator's account",
        [
            {"kind": "domain", "value": "fake-trading.example.com"},
            _ip("203.0.113.80", 443, observed(4, 11, 0, zone), "https"),
        ],
        custodian={"name": "Hosting NL B.V.", "country": "NL"},
        direction="outgoing",
        counterpart_country="NL",
        necessity="the hoster deletes an account's data 14 days after it is closed",
        responsible_authority={
            "name": "Prosecutor's Office, Cybercrime Service",
            "case_number": "DEMO-RO-1",
        },
    )
    request, created = s.register(body, PROSECUTION)
    letter = f"signed letter: GET /api/v1/requests/{request['request_id']}/letter"
    return s.case("NL outgoing preservation", request, created, letter)


def mla_in_progress(s: Seeder) -> SeededCase:
    """ES: card fraud; data preserved by Telco B, then Spain's MLA request is executing."""
    zone = "Europe/Madrid"
    ref = reference("ES", 1)
    body = _preservation(
        _authority("ES", "police", 1, zone, city="Madrid"),
        "telco-b",
        ("card fraud", "an online shop sold 40,000 stolen card numbers"),
        "the shop's administrator connected from this address",
        [_ip(address_for(ref), 50500, observed(20, 15, 45, zone))],
        necessity="logs are rotated monthly",
        urgency="routine",
    )
    request, created = s.register(body, PROSECUTION)
    case_id = request["case_id"]
    order = s.order_of(case_id)
    if order:
        s.provider_acts(order, "acknowledge")
        s.provider_acts(s.order_of(case_id) or order, "preserved", note="logs copied", records=97)
    mla = s.apps["mla"]
    if not mla.mla_of_case(case_id):
        mla.record_mla(
            case_id,
            {
                "direction": "incoming",
                "authority": "Prosecutor General's Office (pre-trial MLA)",
                "reference": "DEMO-ES-MLA-0001",
                "stage": "pre_trial",
                "date": today(zone),
            },
            PROSECUTION,
        )
        s.deliver()
    for request_mla in mla.mla_of_case(case_id):
        if request_mla["status"] == "received":
            mla.change_status(
                request_mla["mla_id"],
                {"status": "executing", "note": "sent to the court for a production order"},
                PROSECUTION,
            )
            s.deliver()
    state = f"{s.order_state(case_id)}; MLA " + ", ".join(
        m["status"] for m in mla.mla_of_case(case_id)
    )
    return s.case("ES incoming preservation + MLA", request, created, state)


def near_duplicate_via_both_cps(s: Seeder) -> SeededCase:
    """IT: the police CP's request reaches our prosecution CP by e-mail and our police CP by
    fax (one case, a duplicate noted); Italy's prosecution CP then sends its own reference
    about the same address to our police CP: joined as a near duplicate, flagged."""
    zone = "Europe/Rome"
    ip = _ip("192.0.2.44", 49152, observed(2, 10, 20, zone))
    offence = ("business e-mail compromise", "a supplier's mailbox was taken over")
    relationship = "the mailbox was accessed from this address"
    necessity = "mailbox access logs are kept 14 days"
    first = _preservation(
        _authority("IT", "police", 1, zone, city="Rome"),
        "telco-a",
        offence,
        relationship,
        [ip],
        necessity=necessity,
        urgency="routine",
    )
    request, created = s.register(first, PROSECUTION)
    s.receive_again({**first, "received_via": "fax"}, POLICE)
    second = _preservation(
        _authority("IT", "prosecution", 2, zone, city="Milan"),
        "telco-a",
        offence,
        relationship,
        [ip],
        necessity=necessity,
        urgency="routine",
    )
    s.register(second, POLICE)
    case = s.apps["intake"].get_case(request["case_id"])
    state = (
        f"{s.order_state(request['case_id'])}; {len(case['requests'])} requests, "
        f"{case['open_flags']} near duplicate to confirm or split"
    )
    return s.case("IT incoming preservation via both CPs", request, created, state)


def refused_art29_4_5(s: Seeder) -> SeededCase:
    """CH: a blog post criticising a minister: refused (Art 29(4) and 29(5)(a))."""
    zone = "Europe/Zurich"
    ref = reference("CH", 1)
    body = _preservation(
        _authority("CH", "police", 1, zone, city="Bern"),
        None,
        ("criminal defamation of a politician", "a blog post accused a minister of corruption"),
        "the blog was published from this address",
        [_ip(address_for(ref), 42000, observed(5, 13, 30, zone))],
        custodian={"name": "Blog Hosting SRL", "country": "RO"},
        necessity="the blog may be deleted",
        urgency="routine",
    )
    request, created = s.register(body, POLICE)
    if request["refusal"] is None:
        s.apps["intake"].refuse_request(
            request["request_id"],
            ["political_offence"],
            "The post concerns political speech: a political offence (Art 29(5)(a)). Dual "
            "criminality is no ground here: the default policy declares no Art 29(4) "
            "reservation.",
            PROSECUTION,
        )
        s.deliver()
    return s.case("CH incoming preservation", request, created, "refused, Art 29(5)(a)")


def request_with_warnings(s: Seeder) -> SeededCase:
    """PL: an unlisted sender, an IPv4 address without a source port, a time in local time
    only and gaps in the checklist: registered with warnings; the order waits for Telco B."""
    zone = "Europe/Warsaw"
    body = _preservation(
        {
            "country": "PL",
            "contact_point": "Cybercrime duty desk",
            "email": "duty@pl-cybercrime.example.org",
            "reference": reference("PL", 1),
            "time_zone": zone,
        },
        "telco-b",
        ("online fraud", "goods paid for on a classifieds site were never delivered"),
        "the seller's account was used from this address",
        [_ip("198.51.100.77", None, observed(6, 14, 30, zone, local_only=True))],
        necessity="logs may be deleted",
        urgency="routine",
        responsible_authority=None,
    )
    body["offence"] = {k: v for k, v in body["offence"].items() if k not in ("provisions",)}
    body.pop("follow_up")
    request, created = s.register(body, PROSECUTION)
    state = f"{s.order_state(request['case_id'])}; warnings: " + ", ".join(
        w for w in request["warnings"] if not w.startswith("recommended_missing")
    )
    return s.case("PL incoming preservation", request, created, state)


CASES: tuple[Callable[[Seeder], SeededCase], ...] = (
    incoming_preservation_acknowledged,
    incoming_preservation_preserved,
    incoming_preservation_unavailable,
    emergency_disclosure_alert,
    police_order_awaiting_approval,
    outgoing_preservation_to_nl,
    mla_in_progress,
    near_duplicate_via_both_cps,
    refused_art29_4_5,
    request_with_warnings,
)


def cases_not_from_demo(intake: Any) -> int:
    """How many cases hold no request with a demo reference (0 for an empty directory)."""
    foreign = 0
    for case in intake.list_cases():
        references = [
            (intake.get_request(rid)["requesting_authority"] or {}).get("reference") or ""
            for rid in case["request_ids"]
        ]
        if not any(ref.startswith(REFERENCE_PREFIX) for ref in references):
            foreign += 1
    return foreign


# --- the command ------------------------------------------------------------------------------
def seed(settings: Settings) -> DemoReport:
    """Seed the demo data set into the embedded data directory; safe to run again."""
    if settings.store != "sqlite":
        raise DemoRefused(
            "cp247 demo fills an embedded data directory only; unset CP247_DATABASE_URL"
        )
    platform = EmbeddedPlatform(settings)
    try:
        foreign = cases_not_from_demo(platform.apps["intake"])
        if foreign:
            raise DemoRefused(
                f"{settings.data_dir} holds {foreign} case(s) that cp247 demo did not make; "
                "demo data go into a directory of their own: --data-dir ./cp247-demo"
            )
        platform.deliver()  # whatever an earlier run left undelivered
        report = DemoReport(settings.data_dir)
        report.users = seed_users(platform.apps["gateway"])
        report.providers = seed_providers(platform.apps["gateway"], platform.apps["isp_liaison"])
        report.contact_points = seed_contact_points(platform.apps["intake"])
        seeder = Seeder(platform)
        report.cases = [seed_case(seeder) for seed_case in CASES]
        platform.deliver()
        return report
    finally:
        platform.stop()


def current_code(settings: Settings, username: str) -> str:
    """The current TOTP code of a demo user (one whose password is the demo password)."""
    identity = make_application("gateway", settings)
    try:
        user = _user(identity, username)
        if not check_password(DEMO_PASSWORD, user.password_hash):
            raise Forbidden(
                f"{username} is not a demo user (its password is not the demo password): "
                "cp247 demo code only serves demo data"
            )
        if user.totp_secret is None:
            raise NotFound(f"{username} has no second factor (role {user.role})")
        return totp.code_at(user.totp_secret, utcnow().timestamp())
    finally:
        identity.close()
