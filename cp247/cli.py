"""The ``cp247`` command line: run the platform and administer identity and providers.

Every command honours ``--data-dir`` and the same environment variables as the services
(``CP247_DATABASE_URL`` ...), so it works against the embedded and the distributed set-up.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cp247.casekeys import deployment_vault
from cp247.config import ConfigurationError, Settings, allow_insecure_cookies
from cp247.errors import Conflict, DomainError


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(args.data_dir)


def _app(args: argparse.Namespace, name: str):
    from cp247.bootstrap import make_application

    return make_application(name, _settings(args))


def cmd_run(args: argparse.Namespace) -> int:
    from cp247.embedded import EmbeddedPlatform

    settings = _settings(args)
    if settings.store != "sqlite":
        print("cp247 run is the embedded mode; unset CP247_DATABASE_URL", file=sys.stderr)
        return 2
    if args.host in ("127.0.0.1", "localhost", "::1"):
        # Plain http on this machine only: browsers would drop a Secure session cookie.
        allow_insecure_cookies()
    platform = EmbeddedPlatform(settings)
    server = platform.serve(args.host, args.port)
    platform.start()
    # shutdown() waits for serve_forever to stop: from the signal handler (on the serving
    # thread itself) it would wait forever, so a helper thread asks for it.
    signal.signal(
        signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start()
    )
    print(
        f"cp247 embedded: http://{args.host}:{server.server_port}/ "
        f"(data in {settings.data_dir.resolve()}); Ctrl+C stops",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        platform.stop()
    return 0


def cmd_users_add(args: argparse.Namespace) -> int:
    user = _app(args, "gateway").add_user(args.username, args.role, args.password)
    print(f"user {user['username']} added with role {user['role']}", file=sys.stderr)
    return 0


def cmd_users_enrol_totp(args: argparse.Namespace) -> int:
    uri = _app(args, "gateway").enrol_second_factor(args.username)
    print(uri)  # show it as a QR code, or type the secret into the authenticator app
    return 0


def _operator() -> str:
    """Who acted from the command line, as recorded (the host account running it)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _operator_actor() -> dict[str, str]:
    """The command line's actor on events: the host account, as an operator."""
    return {"username": _operator(), "role": "operator"}


def cmd_users_list(args: argparse.Namespace) -> int:
    for user in _app(args, "gateway").list_users():
        state = "disabled" if user["disabled"] else "active"
        factor = "totp" if user["second_factor"] else "no-second-factor"
        print(f"{user['username']}\t{user['role']}\t{state}\t{factor}\t"
              f"last login {user['last_login'] or 'never'}")  # fmt: skip
    return 0


def cmd_users_disable(args: argparse.Namespace) -> int:
    _app(args, "gateway").disable_user(args.username, _operator())
    print(f"user {args.username} disabled: every token and session ended", file=sys.stderr)
    return 0


def cmd_users_enable(args: argparse.Namespace) -> int:
    _app(args, "gateway").enable_user(args.username, _operator())
    print(f"user {args.username} enabled (earlier tokens stay ended)", file=sys.stderr)
    return 0


def cmd_users_set_password(args: argparse.Namespace) -> int:
    # From stdin unless given: a password on the command line shows in the process list.
    password = args.password if args.password is not None else sys.stdin.readline().rstrip("\n")
    _app(args, "gateway").set_password(args.username, password, _operator())
    print(f"password of {args.username} set: its sessions and tokens ended", file=sys.stderr)
    return 0


def cmd_tokens_revoke_all(args: argparse.Namespace) -> int:
    if args.provider:
        _app(args, "isp_liaison").get_provider(args.provider)  # NotFound if unknown
    _app(args, "gateway").revoke_all(
        username=args.username, provider_id=args.provider, by=_operator()
    )
    print(f"every token of {args.username or args.provider} revoked", file=sys.stderr)
    return 0


def cmd_providers_add(args: argparse.Namespace) -> int:
    provider = _app(args, "isp_liaison").register_provider(
        args.id, args.name, args.country, args.email, args.webhook
    )
    print(f"provider {provider['provider_id']} added", file=sys.stderr)
    return 0


def cmd_tokens_issue(args: argparse.Namespace) -> int:
    if args.provider:
        _app(args, "isp_liaison").get_provider(args.provider)  # NotFound if unknown
    token = _app(args, "gateway").issue_token(
        username=args.username, provider_id=args.provider, valid_days=args.days
    )
    print(token)  # the only thing on stdout, so scripts can capture it
    return 0


def cmd_tokens_revoke(args: argparse.Namespace) -> int:
    _app(args, "gateway").revoke_token(args.token)
    print("token revoked", file=sys.stderr)
    return 0


def cmd_contact_points_add(args: argparse.Namespace) -> int:
    entry = _app(args, "intake").list_contact_point(
        {
            "country": args.country,
            "kind": args.kind,
            "name": args.name,
            "institutional_email": args.email,
            "personal_emails": args.personal_email or [],
            "phones": args.phone or [],
            "office_hours": args.office_hours or "",
            "time_zone": args.time_zone,
            "languages": args.language or [],
            "required_format": args.required_format or "",
            "can_order_preservation": args.can_order_preservation == "yes",
        },
        _operator_actor(),
    )
    if entry["awaiting_confirmation"]:
        change = entry["pending_change"]
        print(
            f"contact point {entry['country']} {entry['kind']}: new addresses or phones "
            f"proposed (change {change['change_id']}); another officer must confirm them",
            file=sys.stderr,
        )
    else:
        print(f"contact point {entry['country']} {entry['kind']} listed", file=sys.stderr)
    return 0


def cmd_contact_points_import(args: argparse.Namespace) -> int:
    try:
        text = Path(args.file).read_text(encoding="utf-8-sig")
    except OSError as exc:
        print(f"cp247: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 1
    counts = _app(args, "intake").import_contact_points(text, _operator_actor())
    print(
        f"imported {args.file}: {counts['created']} created, {counts['updated']} updated, "
        f"{counts['unchanged']} unchanged, {counts['pending']} with new addresses or phones "
        "awaiting another officer's confirmation",
        file=sys.stderr,
    )
    return 0


def cmd_contact_points_list(args: argparse.Namespace) -> int:
    entries = _app(args, "intake").contact_points(args.country)
    print(json.dumps(entries, indent=2, ensure_ascii=False))
    return 0


def cmd_providers_secret(args: argparse.Namespace) -> int:
    print(_app(args, "isp_liaison").provider_secret(args.id))
    return 0


def cmd_documents_verify(args: argparse.Namespace) -> int:
    """An order's PDF with its detached signature, or a production's court package (a ZIP
    that carries its own signed manifest)."""
    from cp247.documents import verify_files
    from cp247.documents.signing import trusted_keys
    from services.isp_liaison.court_package import is_package, verify_package

    try:
        data = Path(args.file).read_bytes()
        if is_package(data):
            result = verify_package(data, trusted_keys(args.trusted_keys))
        else:
            result = verify_files(args.file, args.signature, args.trusted_keys)
    except OSError as exc:
        print(f"cp247: cannot read {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"{'OK' if result.ok else 'NOT VALID'}: {result.reason}")
    print(f"sha256 {result.sha256}  key {result.key_id or '-'}")
    return 0 if result.ok else 1


def cmd_documents_public_key(args: argparse.Namespace) -> int:
    from cp247.documents import Signer

    print(Signer.load_or_create(_settings(args).signing_key_path).public_key_pem(), end="")
    return 0


def _timeline_and_producers(settings: Settings) -> tuple[Any, dict[str, Any], Any]:
    """The timeline, its producers' applications, and a reader of their outboxes: what the
    commands that compare or rebuild the timeline from the producers' stores need."""
    from cp247.bootstrap import make_application

    timeline = make_application("timeline", settings)
    sources = {name: make_application(name, settings) for name in timeline.upstreams}

    def read(source: str, start: int, limit: int) -> list[dict[str, Any]]:
        return sources[source].outbox(start, limit)

    return timeline, sources, read


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from cp247.bootstrap import make_application
    from cp247.runtime.ledger import combine

    settings = _settings(args)
    if args.against:  # every anchored head, recomputed from today's stores
        from services.timeline.anchors import read_lines

        try:  # the file first: a wrong path is said before any store is opened
            records = read_lines(Path(args.against))
            trusted = Path(args.trusted_key).read_text() if args.trusted_key else None
        except (OSError, ValueError) as exc:
            print(f"cp247: {args.against}: {exc}", file=sys.stderr)
            return 2
        timeline, _, read = _timeline_and_producers(settings)
        report = timeline.verify_anchors(read, records, trusted)
        print(json.dumps(report, indent=2))
        return 0 if report["ok"] else 1
    timeline, _, read = _timeline_and_producers(settings)
    if args.full:  # every entry from every producer's first event, with progress
        shown = [0.0]

        def progress(done: int, total: int) -> None:
            if time.monotonic() - shown[0] >= 1 or done == total:
                percent = 100 * done // total if total else 100
                print(f"verified {done}/{total} events ({percent}%)", file=sys.stderr)
                shown[0] = time.monotonic()

        # The operator at the store may see which case.
        report = timeline.full_verify(read, name_cases=True, progress=progress)
    else:  # what was recorded since the last verified checkpoint
        report = timeline.audit_verify(read, name_cases=True)
    gateway = make_application("gateway", settings)  # users, tokens, sessions, read audit
    report = combine(report, gateway_store=gateway.ledger.check())
    print(json.dumps(report, indent=2))
    return 0 if report["ok"] else 1


def cmd_audit_anchor(args: argparse.Namespace) -> int:
    from services.timeline.anchors import AnchorSinks

    settings = _settings(args)
    timeline, _, read = _timeline_and_producers(settings)
    record = timeline.anchor(read, AnchorSinks.from_settings(settings))
    print(json.dumps(record, indent=2))
    return 0


def cmd_timeline_rebuild(args: argparse.Namespace) -> int:
    from services.timeline.app import RebuildProgress

    settings = _settings(args)
    timeline, sources, read = _timeline_and_producers(settings)
    total = sum(source.outbox_head() for source in sources.values())
    shown = [0.0]

    def progress(step: RebuildProgress) -> None:
        if step.events < step.total and time.monotonic() - shown[0] < args.every:
            return
        shown[0] = time.monotonic()
        eta = step.eta_seconds
        print(
            f"rebuild: {step.events:,}/{step.total:,} events, {step.rate:,.0f} events/s, "
            f"ETA {'-' if eta is None else f'{eta:,.0f} s'}",
            file=sys.stderr,
            flush=True,
        )

    try:
        done = timeline.rebuild(read, total=total, progress=progress)
    except Conflict as exc:
        print(f"cp247: {exc.message}", file=sys.stderr)
        if settings.store == "sqlite":
            print(
                f"  stop cp247 run, then move {settings.data_dir / 'timeline.sqlite'} aside",
                file=sys.stderr,
            )
        return 1
    positions = ", ".join(f"{name} {timeline.position(name)}" for name in timeline.upstreams)
    print(
        f"rebuilt the timeline from {done.events:,} events in {done.seconds:.1f} s "
        f"({done.rate:,.0f} events/s); positions: {positions}",
        file=sys.stderr,
    )
    return 0


def cmd_retention_apply(args: argparse.Namespace) -> int:
    from cp247.retention import apply_retention

    report = apply_retention(
        _settings(args), days=args.days, case_ids=args.case or None, dry_run=args.dry_run
    )
    print(json.dumps(report, indent=2))
    verb = "would erase" if args.dry_run else "erased"
    print(
        f"{verb} the personal data of {len(report['erased'])} case(s); "
        f"{len(report['kept'])} kept (see 'kept')",
        file=sys.stderr,
    )
    return 1 if args.case and report["kept"] else 0


def cmd_dead_letters_open(args: argparse.Namespace) -> int:
    """Print dead letters unsealed, one JSON object a line: the embedded file, or the lines
    given on stdin (messages copied from the ``cp247.dead-letter`` queue)."""
    from cp247.runtime.deadletter import DeadLetterSeal

    settings = _settings(args)
    seal = DeadLetterSeal.from_settings(settings)
    if args.stdin:
        lines = sys.stdin.read().splitlines()
    else:
        path = settings.data_dir / "dead-letters.jsonl"
        lines = path.read_text().splitlines() if path.exists() else []
    for line in lines:
        if line.strip():
            print(json.dumps(seal.open(json.loads(line)), ensure_ascii=False))
    return 0


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    """Embedded (file-kept keys): a new event key; the old one stays for reading."""
    import base64
    import secrets

    settings = _settings(args)
    if settings.events_key or settings.events_key_previous is not None:
        print(
            "cp247: the event key comes from CP247_EVENTS_KEY: put a new key there, the old "
            "one first in CP247_EVENTS_KEY_PREVIOUS, then run 'cp247 keys rewrap' once",
            file=sys.stderr,
        )
        return 2
    old = settings.event_store_key()
    retired = [old, *settings.previous_event_keys()]
    keys_dir = settings.previous_keys_path.parent
    for path, text in (
        (settings.previous_keys_path, "\n".join(retired) + "\n"),
        (keys_dir / "events.key", base64.b64encode(secrets.token_bytes(32)).decode()),
    ):
        temporary = path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(text)
        temporary.replace(path)  # the previous keys are safe before the new key is live
    rewrapped = deployment_vault(Settings.from_env(args.data_dir)).rewrap()
    print(
        f"new event key in {keys_dir / 'events.key'}; {len(retired)} earlier key(s) kept "
        f"read-only in {settings.previous_keys_path}; {rewrapped} case key(s) re-wrapped. "
        "Restart cp247 run to write with the new key.",
        file=sys.stderr,
    )
    return 0


def cmd_keys_rewrap(args: argparse.Namespace) -> int:
    rewrapped = deployment_vault(_settings(args)).rewrap()
    print(f"{rewrapped} case key(s) now wrapped by the current event key", file=sys.stderr)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from cp247.demo import DemoRefused, seed

    try:
        report = seed(_settings(args))
    except DemoRefused as exc:
        print(f"cp247: {exc}", file=sys.stderr)
        return 2
    print(report.render(), end="")
    return 0


def cmd_demo_code(args: argparse.Namespace) -> int:
    from cp247.demo import current_code

    print(current_code(_settings(args), args.username))
    return 0


def cmd_security_doc(args: argparse.Namespace) -> int:
    from cp247.security_doc import render

    Path(args.output).write_text(render(), encoding="utf-8")
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


def cmd_events_doc(args: argparse.Namespace) -> int:
    from cp247.bootstrap import APPLICATIONS, application_class
    from events import registry
    from events.doc import render

    consumers: dict[str, list[str]] = {}
    for name in APPLICATIONS:
        cls = application_class(name)
        for contract in registry:
            listens = contract.source in cls.upstreams
            if listens and (contract.name in cls.policies or not cls.publishes):
                consumers.setdefault(contract.name, []).append(name)
    text = render(registry, consumers)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        default=None,
        help="embedded data directory (default $CP247_DATA_DIR or ./cp247-data)",
    )
    parser = argparse.ArgumentParser(prog="cp247", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", parents=[common], help="start the embedded platform")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8080)
    run.set_defaults(func=cmd_run)

    users = sub.add_parser("users", help="CP users").add_subparsers(dest="action", required=True)
    add = users.add_parser("add", parents=[common], help="add a user")
    add.add_argument("--username", required=True)
    add.add_argument(
        "--role", required=True, choices=["police", "prosecution", "oversight", "admin"]
    )
    add.add_argument("--password", required=True, help="at least 12 characters")
    add.set_defaults(func=cmd_users_add)
    enrol = users.add_parser(
        "enrol-totp", parents=[common], help="second factor: print an otpauth:// URI"
    )
    enrol.add_argument("--username", required=True)
    enrol.set_defaults(func=cmd_users_enrol_totp)
    users.add_parser("list", parents=[common], help="every account and its last login")
    users.choices["list"].set_defaults(func=cmd_users_list)
    for action, func, words in (
        ("disable", cmd_users_disable, "no login; every token and session ends"),
        ("enable", cmd_users_enable, "logins work again"),
    ):
        one = users.add_parser(action, parents=[common], help=words)
        one.add_argument("--username", required=True)
        one.set_defaults(func=func)
    setpw = users.add_parser(
        "set-password", parents=[common], help="a new password (from stdin unless given)"
    )
    setpw.add_argument("--username", required=True)
    setpw.add_argument("--password", help="at least 12 characters; default: read from stdin")
    setpw.set_defaults(func=cmd_users_set_password)

    providers = sub.add_parser("providers", help="provider directory").add_subparsers(
        dest="action", required=True
    )
    padd = providers.add_parser("add", parents=[common], help="add a provider")
    padd.add_argument("--id", required=True, help="short id used in the API, e.g. telco-a")
    padd.add_argument("--name", required=True)
    padd.add_argument("--country", required=True, help="ISO 3166-1 alpha-2, e.g. RO")
    padd.add_argument("--email")
    padd.add_argument("--webhook")
    padd.set_defaults(func=cmd_providers_add)

    psecret = providers.add_parser(
        "secret", parents=[common], help="print a provider's webhook secret (hex), to hand over"
    )
    psecret.add_argument("id")
    psecret.set_defaults(func=cmd_providers_secret)

    documents = sub.add_parser("documents", help="signed order documents").add_subparsers(
        dest="action", required=True
    )
    verify = documents.add_parser(
        "verify", parents=[common], help="check a signed document or a production package"
    )
    verify.add_argument("file", help="the PDF, or a production's court package (ZIP)")
    verify.add_argument("--signature", help="detached signature (default FILE.sig)")
    verify.add_argument("--trusted-keys", help="PEM file of the public keys to trust")
    verify.set_defaults(func=cmd_documents_verify)
    public = documents.add_parser(
        "public-key", parents=[common], help="print the public key that signs documents"
    )
    public.set_defaults(func=cmd_documents_public_key)

    tokens = sub.add_parser("tokens", help="API bearer tokens").add_subparsers(
        dest="action", required=True
    )
    issue = tokens.add_parser("issue", parents=[common], help="print a new token on stdout")
    who = issue.add_mutually_exclusive_group(required=True)
    who.add_argument("--username")
    who.add_argument("--provider")
    issue.add_argument("--days", type=int, default=365, help="how long it is valid (365)")
    issue.set_defaults(func=cmd_tokens_issue)
    revoke = tokens.add_parser("revoke", parents=[common], help="revoke a token")
    revoke.add_argument("token")
    revoke.set_defaults(func=cmd_tokens_revoke)
    revoke_all = tokens.add_parser(
        "revoke-all", parents=[common], help="revoke every token and session of a user or provider"
    )
    whose = revoke_all.add_mutually_exclusive_group(required=True)
    whose.add_argument("--username")
    whose.add_argument("--provider")
    revoke_all.set_defaults(func=cmd_tokens_revoke_all)

    points = sub.add_parser(
        "contact-points", help="directory of foreign 24/7 contact points"
    ).add_subparsers(dest="action", required=True)
    cadd = points.add_parser("add", parents=[common], help="list or update one contact point")
    cadd.add_argument("--country", required=True, help="ISO 3166-1 alpha-2, e.g. US")
    cadd.add_argument("--kind", required=True, choices=["police", "prosecution", "hybrid"])
    cadd.add_argument("--name", required=True, help="the unit")
    cadd.add_argument("--email", required=True, help="institutional e-mail")
    cadd.add_argument("--personal-email", action="append", help="repeatable")
    cadd.add_argument("--phone", action="append", help="E.164, repeatable")
    cadd.add_argument("--office-hours", help='e.g. "24/7" or "Mon-Fri 08:00-16:00"')
    cadd.add_argument("--time-zone", required=True, help="IANA name, e.g. Europe/Bucharest")
    cadd.add_argument("--language", action="append", help="ISO 639-1, repeatable")
    cadd.add_argument("--required-format", help='e.g. "signed letterhead with stamp"')
    cadd.add_argument("--can-order-preservation", choices=["yes", "no"], default="no")
    cadd.set_defaults(func=cmd_contact_points_add)
    cimport = points.add_parser("import", parents=[common], help="import a CSV file")
    cimport.add_argument("file", help="CSV with a header row, see examples/contact-points.csv")
    cimport.set_defaults(func=cmd_contact_points_import)
    clist = points.add_parser("list", parents=[common], help="print the directory as JSON")
    clist.add_argument("--country")
    clist.set_defaults(func=cmd_contact_points_list)

    audit = sub.add_parser("audit", help="the audit trail").add_subparsers(
        dest="action", required=True
    )
    averify = audit.add_parser(
        "verify", parents=[common],
        help="verify the timeline against the event stores since the last check (--full: all)",
    )  # fmt: skip
    averify.add_argument(
        "--against", metavar="FILE",
        help="prove that today's history still gives every head anchored in FILE",
    )  # fmt: skip
    averify.add_argument(
        "--trusted-key", metavar="PEM",
        help="with --against: the documents public key the anchors must be signed with",
    )  # fmt: skip
    averify.add_argument(
        "--full", action="store_true",
        help="recompute every entry from every producer's first event (progress on stderr)",
    )  # fmt: skip
    averify.set_defaults(func=cmd_audit_verify)
    aanchor = audit.add_parser(
        "anchor", parents=[common],
        help="anchor the audit head now: signed, appended to the anchor file, e-mailed",
    )  # fmt: skip
    aanchor.set_defaults(func=cmd_audit_anchor)

    timeline = sub.add_parser("timeline", help="the timeline projection").add_subparsers(
        dest="action", required=True
    )
    trebuild = timeline.add_parser(
        "rebuild",
        parents=[common],
        help="rebuild the timeline and statistics from the event stores into an empty store "
        "(stop the services and move the timeline store aside first)",
    )
    trebuild.add_argument(
        "--every", type=float, default=2.0, help="seconds between progress lines (2)"
    )
    trebuild.set_defaults(func=cmd_timeline_rebuild)

    retention = sub.add_parser("retention", help="erase personal data after retention")
    rapply = retention.add_subparsers(dest="action", required=True).add_parser(
        "apply",
        parents=[common],
        help="destroy the keys of cases at rest longer than the retention period",
    )
    rapply.add_argument(
        "--days", type=int, help="retention period (default CP247_RETENTION_DAYS, else 730)"
    )
    rapply.add_argument(
        "--case", action="append", help="erase this case now, whatever its age (repeatable)"
    )
    rapply.add_argument("--dry-run", action="store_true", help="say what would be erased")
    rapply.set_defaults(func=cmd_retention_apply)

    dead = sub.add_parser("dead-letters", help="rejected messages (kept sealed)")
    dopen = dead.add_subparsers(dest="action", required=True).add_parser(
        "open", parents=[common], help="print dead letters unsealed (personal data: handle so)"
    )
    dopen.add_argument("--stdin", action="store_true", help="read sealed records from stdin")
    dopen.set_defaults(func=cmd_dead_letters_open)

    keys = sub.add_parser("keys", help="rotate the event store key").add_subparsers(
        dest="action", required=True
    )
    krotate = keys.add_parser(
        "rotate", parents=[common], help="new event key (file-kept keys, embedded mode)"
    )
    krotate.set_defaults(func=cmd_keys_rotate)
    krewrap = keys.add_parser(
        "rewrap", parents=[common], help="re-wrap case keys after CP247_EVENTS_KEY changed"
    )
    krewrap.set_defaults(func=cmd_keys_rewrap)

    demo = sub.add_parser(
        "demo",
        parents=[common],
        help="seed demo data (users, providers, cases); running it again changes nothing",
    )
    demo.set_defaults(func=cmd_demo)
    # SUPPRESS: "demo --data-dir D code U" keeps D (a subparser's default would overwrite it).
    demo_common = argparse.ArgumentParser(add_help=False)
    demo_common.add_argument("--data-dir", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    dcode = demo.add_subparsers(dest="action").add_parser(
        "code",
        parents=[demo_common],
        help="print a demo user's current second-factor (TOTP) code: demo data only",
    )
    dcode.add_argument("username", help="poe, pat or ada")
    dcode.set_defaults(func=cmd_demo_code)

    security = sub.add_parser("security-doc", help="render the authorization matrix")
    security.add_argument("--output", default="docs/security.md")
    security.set_defaults(func=cmd_security_doc)

    doc = sub.add_parser("events-doc", help="render the event catalogue")
    doc.add_argument("--output", default="docs/events.md")
    doc.set_defaults(func=cmd_events_doc)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except DomainError as exc:
        print(f"cp247: {exc.message}", file=sys.stderr)
        for field, problems in exc.fields.items():
            print(f"  {field}: {'; '.join(problems)}", file=sys.stderr)
        return 1
    except ConfigurationError as exc:
        print(f"cp247: configuration: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
