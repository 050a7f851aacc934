"""``make soak``: the fault suite for as long as you like (default 30 minutes).

A cluster on this machine's RabbitMQ and PostgreSQL (two processes of every service by
default) takes requests from both CPs and the provider's answers without pause, while a
fault is injected every 5 to 20 s, each kind once per round in a random order: ``kill -9``
of a whole service or of one of its processes, a paused consumer, duplicate and
out-of-order deliveries, a RabbitMQ restart, a PostgreSQL restart. At the end every
accepted request is checked as in
``tests/fault`` (one case, one order in its end state, each step and each notice once, dead
letters explained, audit chain intact) and the figures are printed and written as JSON.

It restarts the machine's RabbitMQ and PostgreSQL: run nothing else against them meanwhile.

    make soak                                   # 30 minutes, figures in docs/soak-latest.json
    SOAK_MINUTES=5 make soak
    .venv/bin/python tests/soak.py --minutes 60 --replicas 1 --seed 7 --output /tmp/soak.json
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script from anywhere

from distributed_cluster import SERVICES, running_cluster  # noqa: E402
from fault_harness import Faults, Traffic, verify  # noqa: E402

CONSUMERS = ("preservation", "isp_liaison", "mla", "notification", "timeline")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--rate", type=float, default=1.5, help="new requests per second")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--output", type=Path, default=Path("docs/soak-latest.json"))
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1_000_000)
    random.seed(seed)
    started = time.monotonic()

    def say(text: str) -> None:
        print(f"[{(time.monotonic() - started) / 60:6.1f} min] {text}", flush=True)

    say(f"soak: {args.minutes:g} min, {args.replicas} process(es) per service, seed {seed}")
    with running_cluster(Path(tempfile.mkdtemp(prefix="cp247-soak-")), args.replicas) as cluster:
        say(f"cluster up; service logs in {cluster.log_dir}")
        traffic = Traffic(cluster, prefix=f"US-SOAK-{seed}", rate=args.rate)
        faults = Faults(cluster, say=say)
        menu = fault_menu(faults, args.replicas)
        traffic.start()
        deadline = started + args.minutes * 60
        deck: list = []
        failed_injections: list[str] = []
        try:
            while time.monotonic() < deadline:
                time.sleep(random.uniform(5, 20))
                if not deck:  # every fault once per round, in a new order each round
                    deck = random.sample(menu, len(menu))
                name, inject = deck.pop()
                try:
                    inject()
                except Exception as exc:  # the harness's own trouble, not the product's
                    failed_injections.append(f"{name}: {exc!r}")
                    say(f"could not inject {name}: {exc!r}")
                    continue
                tally = traffic.tally
                say(
                    f"{name}: {len(traffic.accepted)} requests accepted, answers "
                    f"{dict(sorted(tally.answers.items()))}, {tally.unreachable} unreachable"
                )
        finally:
            traffic.stop()
        say("load stopped; the provider answers what is left, then every request is checked")
        traffic.finish(timeout=600)
        try:
            outcome = verify(cluster, traffic, faults, cluster.mailbox)
        except AssertionError as failure:
            say(f"FAILED: {failure}")
            return 1
    minutes = (time.monotonic() - started) / 60
    report = {
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "minutes": round(minutes, 1),
        "seed": seed,
        "replicas": args.replicas,
        "faults": dict(sorted(faults.done.items())),
        "faults_not_injected": failed_injections,
        "answers": {str(k): v for k, v in sorted(traffic.tally.answers.items())},
        "unreachable": traffic.tally.unreachable,
        "outcome": {**asdict(outcome), "mails": dict(outcome.mails)},
        "lost": 0,
        "duplicated": 0,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    say(f"passed: nothing lost, nothing twice; figures in {args.output}")
    print(json.dumps(report, indent=2))
    return 0


def fault_menu(faults: Faults, replicas: int) -> list[tuple[str, object]]:
    menu: list[tuple[str, object]] = [
        (f"kill -9 {s}", lambda s=s: faults.kill(s)) for s in SERVICES
    ]
    if replicas > 1:
        menu += [(f"kill -9 one {s}", lambda s=s: faults.kill_replica(s)) for s in SERVICES]
    menu += [(f"pause {s}", lambda s=s: faults.pause(s, random.uniform(5, 15))) for s in CONSUMERS]
    menu += [
        ("duplicates", faults.inject_duplicates),
        ("restart RabbitMQ", faults.restart_rabbitmq),
        ("restart PostgreSQL", faults.restart_postgres),
    ]
    return menu


if __name__ == "__main__":
    sys.exit(main())
