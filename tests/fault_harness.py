"""Faults and traffic for the reliability runs: the bounded suite in ``tests/fault`` and the
long soak (``make soak``, ``tests/soak.py``) use the same pieces.

``Traffic`` is a careful client: foreign CPs' requests registered by the prosecution CP and
then sent again by the police CP, a provider acknowledging and reporting its orders, each
call retried after a refusal (503), a lost connection or a time-out, as a duty officer or an
ISP's system would. ``Faults`` breaks the cluster underneath it. ``verify`` checks afterwards
that every accepted request reached its end state exactly once.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import threading
import time
import urllib.error
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from distributed_cluster import PG_ADMIN, SERVICES, Cluster, queues, rabbitmqctl
from eventsourcing.persistence import PersistenceError
from kombu import Connection, Exchange
from slice_driver import SLICE_EVENTS, preservation_request, wait_for

from services.catalogue import producers

# What every accepted preservation request must have produced, exactly once.
ONCE_ON_TIMELINE = (*sorted(SLICE_EVENTS), "OrderAcknowledged", "DataPreserved")
ONCE_BY_MAIL = ("Confirmation of receipt", "Preservation order issued", "Data preserved")
END_STATE = "preserved"
# Producers whose events are injected again, shuffled (duplicates and out-of-order delivery).
PRODUCERS = producers()
INJECTED = "fault-injection"  # the marker of the one malformed message sent on purpose


def mail_address(reference: str) -> str:
    return f"{reference.lower()}@us.example"


@dataclass
class Tally:
    """What the clients saw: answers by status, and calls that found no server."""

    answers: Counter = field(default_factory=Counter)
    unreachable: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, status: int | None) -> None:
        with self.lock:
            if status is None:
                self.unreachable += 1
            else:
                self.answers[status] += 1

    def server_errors(self) -> dict[int, int]:
        """5xx other than 503 (which must carry a Retry-After and means: try again)."""
        return {s: n for s, n in self.answers.items() if s >= 500 and s != 503}


class Traffic:
    """Registers requests and drives the provider's answers until stopped."""

    def __init__(self, cluster: Cluster, prefix: str, rate: float = 2.0, patience: float = 180):
        self.cluster, self.prefix = cluster, prefix
        self.api, self.tokens = cluster.api, cluster.tokens
        self.pause = 1.0 / rate
        self.patience = patience
        self.tally = Tally()
        self.accepted: dict[str, str] = {}  # reference -> case id
        self.request_ids: dict[str, str] = {}
        self.missing_retry_after = 0
        self.problems: list[str] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- a careful client -------------------------------------------------------------------
    def call(self, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
        """One call, retried until it is answered with something other than "try again"."""
        deadline = time.monotonic() + self.patience
        while True:
            status, answer, wait = self._once(method, path, token, body)
            if status is not None and status != 503 and status < 500:
                return status, answer
            if time.monotonic() > deadline:
                raise TimeoutError(f"{method} {path}: still {status} after {self.patience} s")
            time.sleep(wait)

    def _once(self, method: str, path: str, token: str, body: Any) -> tuple[int | None, Any, float]:
        try:
            status, answer, headers = self.api.call_with_headers(method, path, token, body)
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
            self.tally.count(None)
            return None, str(exc), 0.5
        self.tally.count(status)
        if status == 503:
            retry_after = headers.get("Retry-After")
            if not retry_after:
                self.missing_retry_after += 1
            return status, answer, min(float(retry_after or 1), 2.0)
        if status >= 500:
            self.problems.append(f"{method} {path}: {status} {str(answer)[:200]}")
            return status, answer, 0.5
        return status, answer, 0.0

    # -- the two clients --------------------------------------------------------------------
    def register(self, reference: str) -> None:
        """The prosecution CP registers the request; the police CP receives it again."""
        body = preservation_request(reference)
        body["requesting_authority"]["email"] = mail_address(reference)
        status, first = self.call("POST", "/api/v1/requests", self.tokens["prosecution"], body)
        if status not in (200, 201):  # 200: a retry after an answer that never arrived
            self.problems.append(f"{reference}: registration answered {status}: {first}")
            return
        self.accepted[reference] = first["case_id"]
        self.request_ids[reference] = first["request_id"]
        status, again = self.call("POST", "/api/v1/requests", self.tokens["police"], body)
        if status != 200 or again.get("case_id") != first["case_id"]:
            self.problems.append(f"{reference}: the police CP's copy answered {status}: {again}")

    def _requests(self) -> None:
        number = 0
        while not self._stop.is_set():
            try:
                self.register(f"{self.prefix}-{number}")
            except TimeoutError as exc:
                self.problems.append(str(exc))
            number += 1
            self._stop.wait(self.pause)

    def answer_orders(self) -> int:
        """One round of the provider's system: acknowledge, then report preserved; some
        answers are sent twice (a replay) on purpose. Returns the orders not yet preserved."""
        token = self.tokens["isp_a"]
        waiting = []
        for state in ("issued", "acknowledged"):  # not the whole (growing) list every round
            status, inbox = self.call("GET", f"/api/v1/isp/orders?status={state}", token)
            if status != 200:
                self.problems.append(f"provider inbox answered {status}: {inbox}")
                return -1
            waiting += inbox["orders"]
        open_orders = 0
        for order in waiting:
            base = f"/api/v1/isp/orders/{order['order_id']}"
            if order["status"] == "issued":
                self._answer(base + "/acknowledge", "acknowledged", token, None)
            if order["status"] in ("issued", "acknowledged"):
                self._answer(
                    base + "/preserved", "preserved", token, {"note": "kept", "records": 3}
                )
            if order["status"] != END_STATE:
                open_orders += 1
        return open_orders

    def _answer(self, path: str, expected: str, token: str, body: Any) -> None:
        replays = 2 if random.random() < 0.2 else 1
        for _ in range(replays):
            status, answer = self.call("POST", path, token, body)
            # 409: the order moved on meanwhile (preserved before this acknowledgement arrived)
            if status not in (200, 409):
                self.problems.append(f"POST {path} answered {status}: {answer}")

    def _provider(self) -> None:
        while not self._stop.is_set():
            try:
                self.answer_orders()
            except TimeoutError as exc:
                self.problems.append(str(exc))
            self._stop.wait(0.5)

    def start(self) -> None:
        for target in (self._requests, self._provider):
            thread = threading.Thread(target=target, daemon=True, name=target.__name__)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(self.patience + 30)

    def finish(self, timeout: float = 180) -> None:
        """After the load: keep answering until every order reached its end state."""
        wait_for(
            # In this order: an order arriving between the two looks is answered next round.
            lambda: self._every_case_has_an_order() and self.answer_orders() == 0,
            timeout=timeout,
            pause=1.0,
            what="every order to be preserved",
        )

    def _every_case_has_an_order(self) -> bool:
        status, inbox = self.call("GET", "/api/v1/isp/orders", self.tokens["isp_a"])
        return status == 200 and set(self.accepted.values()) <= {
            o["case_id"] for o in inbox["orders"]
        }


class Faults:
    """Breaks what the cluster runs on, one fault at a time, and says what it did."""

    def __init__(self, cluster: Cluster, say: Any = print):
        self.cluster = cluster
        self.say = say
        self.done: Counter = Counter()
        self.expected_dead_letters = 0

    def kill(self, service: str) -> None:
        """``kill -9`` every process of the service, then start as many again."""
        keys = self.cluster.processes_of(service)
        for key in keys:
            os.kill(self.cluster.processes[key].pid, signal.SIGKILL)
        for key in keys:
            self.cluster.processes.pop(key).wait(10)
            self.cluster.replica_ports.pop(key, None)
        time.sleep(1.0)  # a moment with nothing running: callers see it
        self.cluster.start(service)
        self.done[f"kill -9 {service}"] += 1
        self.say(f"killed and restarted {service}")

    def kill_replica(self, service: str) -> None:
        """``kill -9`` one process of a service that runs several, then start another."""
        key = self.cluster.processes_of(service)[-1]
        os.kill(self.cluster.processes[key].pid, signal.SIGKILL)
        self.cluster.processes.pop(key).wait(10)
        self.cluster.replica_ports.pop(key, None)
        time.sleep(1.0)
        self.cluster.start_replica(service)
        self.done[f"kill -9 one process of {service}"] += 1
        self.say(f"killed one process of {service} and started another")

    def pause(self, service: str, seconds: float) -> None:
        """Stop the service's processes (SIGSTOP) so that a backlog builds, then go on."""
        pids = [self.cluster.processes[key].pid for key in self.cluster.processes_of(service)]
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            time.sleep(seconds)
        finally:
            for pid in pids:
                os.kill(pid, signal.SIGCONT)
        self.done[f"pause {service}"] += 1
        self.say(f"paused {service} for {seconds:.0f} s")

    def _latest_events(self, producer: str, count: int) -> list[dict[str, Any]] | None:
        """The producer's last ``count`` published events, read from its store; None while
        the store cannot be read."""
        app = self.cluster.application(producer)
        try:
            head = app.outbox_head()
            return app.outbox(max(1, head - count + 1), count) if head else []
        except (psycopg.Error, PersistenceError):
            return None
        finally:
            app.close()

    def restart_rabbitmq(self) -> None:
        """Stop and start the broker application: every connection and channel drops."""
        stop_rabbitmq()
        time.sleep(2.0)
        start_rabbitmq()
        self.done["restart RabbitMQ"] += 1
        self.say("restarted RabbitMQ")

    def restart_postgres(self) -> None:
        """Restart the PostgreSQL server (fast shutdown: every session is cut)."""
        postgres("restart")
        self.done["restart PostgreSQL"] += 1
        self.say("restarted PostgreSQL")

    def inject_duplicates(self, per_producer: int = 40) -> int:
        """Publish events already delivered again, shuffled, to every consumer of each
        producer, plus one message that breaks the contract (it must be dead-lettered)."""
        sent = 0
        with Connection(self.cluster.amqp_uri) as connection:
            producer = connection.Producer(serializer="json")
            for name in PRODUCERS:
                (messages,) = wait_for(  # a 1-tuple: an empty outbox is an answer too
                    lambda n=name: (
                        (found := self._latest_events(n, per_producer)) is not None and (found,)
                    ),
                    timeout=60,
                    pause=1.0,
                    what=f"{name}'s outbox (the database may be restarting)",
                )
                copies = messages * 2
                random.shuffle(copies)
                exchange = Exchange(f"{name}.events", type="topic", durable=True)
                for message in copies:
                    producer.publish(
                        message, exchange=exchange, routing_key=message.get("event", "batch")
                    )
                sent += len(copies)
            malformed = {"source": "intake", "event": "RequestReceived", INJECTED: True}
            producer.publish(
                malformed,
                exchange=Exchange("intake.events", type="topic", durable=True),
                routing_key="RequestReceived",
            )
            # Each consumer of intake's events gets a copy and dead-letters it.
            consumers = [
                q for q in queues(self.cluster.vhost) if q["name"].startswith("evt-intake-")
            ]
            self.expected_dead_letters += len(consumers)
        self.done["duplicate and out-of-order delivery, rounds"] += 1
        self.done["duplicate and out-of-order delivery, messages"] += sent
        self.done["malformed message"] += 1
        self.say(f"injected {sent} duplicate deliveries in shuffled order and one malformed")
        return sent


def stop_rabbitmq() -> None:
    rabbitmqctl("stop_app")


def start_rabbitmq() -> None:
    rabbitmqctl("start_app")
    rabbitmqctl("await_startup")


def postgres(action: str) -> None:
    """``pg_ctlcluster`` on this machine's cluster: start, stop or restart (fast: sessions
    are cut, not waited for)."""
    version = sorted(os.listdir("/etc/postgresql"))[0]
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action]
    subprocess.run(
        [*command, *(["-m", "fast"] if action != "start" else [])],
        check=True,
        capture_output=True,
        timeout=120,
    )
    if action != "stop":
        wait_for(_postgres_answers, timeout=60, pause=0.5, what="PostgreSQL to accept connections")


def _postgres_answers() -> bool:
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def dead_letters(cluster: Cluster) -> list[dict[str, Any]]:
    """Every message in the dead-letter queue, unsealed (read and requeued: left as found)."""
    seal = cluster.dead_letter_seal()
    found = []
    with Connection(cluster.amqp_uri) as connection:
        channel = connection.channel()
        queue = "cp247.dead-letter"
        try:
            channel.queue_declare(queue, passive=True)
        except Exception:
            return []  # nothing was ever dead-lettered
        messages = []
        while (message := channel.basic_get(queue, no_ack=False)) is not None:
            messages.append(message)
            found.append(seal.open(json.loads(message.body)))
        for message in messages:
            channel.basic_reject(message.delivery_tag, requeue=True)
    return found


@dataclass
class Outcome:
    accepted: int
    cases: int
    orders: int
    mails: Counter
    resent_copies: int
    timeline_entries: int
    dead_letters: int
    audit_entries: int


def verify(cluster: Cluster, traffic: Traffic, faults: Faults, mailbox: Any) -> Outcome:
    """Every accepted request: one case, one order in its end state, every step once on the
    timeline, every notice to the requesting CP once; dead letters explained; chain intact."""
    tokens = cluster.tokens
    for key, process in cluster.processes.items():  # only the faults' kills stop a process
        assert process.poll() is None, f"{key} exited by itself:\n{cluster.log(key)}"
    assert traffic.accepted, "no request was accepted"
    assert not traffic.problems, "\n".join(traffic.problems[:20])
    assert not traffic.tally.server_errors(), traffic.tally.answers
    assert traffic.missing_retry_after == 0, "a 503 without Retry-After"

    status, listed = traffic.call("GET", "/api/v1/cases?country=US", tokens["police"])
    assert status == 200, listed
    # (Other tests may have made cases on the same cluster: only ours are counted.)
    cases_of: dict[str, list[str]] = {}
    for case in listed["cases"]:
        for request_id in case["request_ids"]:
            cases_of.setdefault(request_id, []).append(case["case_id"])
    ours = {case_id for r in traffic.request_ids.values() for case_id in cases_of.get(r, [])}
    assert len(ours) == len(traffic.accepted), f"{len(ours)} cases for {len(traffic.accepted)}"
    for reference, request_id in traffic.request_ids.items():
        assert cases_of.get(request_id) == [traffic.accepted[reference]], (reference, cases_of)

    status, inbox = traffic.call("GET", "/api/v1/isp/orders", tokens["isp_a"])
    assert status == 200
    mine = [order for order in inbox["orders"] if order["case_id"] in ours]
    orders = Counter(order["case_id"] for order in mine)
    assert set(orders) == ours, "a case without its order"
    assert set(orders.values()) == {1}, f"an order twice: {orders.most_common(3)}"
    states = Counter(order["status"] for order in mine)
    assert set(states) == {END_STATE}, states

    entries = 0
    for reference, case_id in traffic.accepted.items():
        timeline = wait_for(
            lambda c=case_id: _complete_timeline(traffic, c),
            timeout=60,
            pause=0.5,
            what=f"every step of {reference} on the timeline",
        )
        events = Counter(e["event"] for e in timeline)
        twice = {e: n for e, n in events.items() if e in ONCE_ON_TIMELINE and n != 1}
        assert not twice, f"{reference}: {twice}"
        entries += len(timeline)

    mails: Counter = Counter()
    resent = 0
    for reference in traffic.accepted:
        notices = wait_for(
            lambda r=reference: _all_notices(mailbox, r),
            timeout=60,
            pause=0.5,
            what=f"every notice to the requesting CP of {reference}",
        )
        # Once means one message: a copy handed to SMTP again after a crash between the
        # server's 250 and our record carries the same Message-ID (receivers drop it).
        twice = {s: len(ids) for s, ids in notices.items() if len(ids) != 1}
        assert not twice, f"{reference}: different messages for one notice: {twice}"
        mails.update({subject: 1 for subject in notices})
        resent += sum(n - 1 for ids in notices.values() for n in ids.values())

    letters = dead_letters(cluster)
    unexplained = [d for d in letters if not (d.get("body") or {}).get(INJECTED)]
    assert not unexplained, f"dead letters nobody sent on purpose: {unexplained[:3]}"
    # Dead-lettering is at least once, like e-mail: a consumer whose acknowledgement is lost
    # (a broker restart, a kill) meets the message again and files it again.
    filed = {(d["consumer"], json.dumps(d["body"], sort_keys=True)) for d in letters}
    assert len(filed) == faults.expected_dead_letters, letters

    # The operator's command, not the API: over a soak's 40,000 entries the check outlasts
    # the gateway's 15 s RPC time-out (a 503 every time; see docs/reliability.md, Limits).
    audit = json.loads(cluster.cli.ok("audit", "verify"))
    assert audit["ok"] is True, audit
    return Outcome(
        accepted=len(traffic.accepted),
        cases=len(ours),
        orders=len(mine),
        mails=mails,
        resent_copies=resent,
        timeline_entries=entries,
        dead_letters=len(letters),
        audit_entries=audit["entries"],
    )


def _complete_timeline(traffic: Traffic, case_id: str) -> list[dict] | None:
    path = f"/api/v1/cases/{case_id}/timeline"
    status, body = traffic.call("GET", path, traffic.tokens["police"])
    assert status == 200, body
    entries = body["entries"]
    return entries if set(ONCE_ON_TIMELINE) <= {e["event"] for e in entries} else None


def _all_notices(mailbox: Any, reference: str) -> dict[str, Counter] | None:
    """Per notice (the subject before its references): how many copies of each Message-ID."""
    notices: dict[str, Counter] = {}
    for mail in mailbox.to(mail_address(reference)):
        subject = " ".join(mail["Subject"].split()).split(" - ")[0]
        notices.setdefault(subject, Counter())[mail["Message-ID"]] += 1
    return notices if all(s in notices for s in ONCE_BY_MAIL) else None


def write_report(path: Path, report: dict[str, Any]) -> None:
    path.write_text(json.dumps(report, indent=2, sort_keys=True, default=str) + "\n")


__all__ = ["SERVICES", "Faults", "Outcome", "Traffic", "verify", "write_report"]
