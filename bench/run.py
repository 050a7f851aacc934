"""``make bench``: every benchmark in one run, a table of each figure against its target, the
plots, and the section of ``docs/benchmarks.md`` that holds the latest run.

Each benchmark runs as its own process (``python -m bench.<name> --json ...``), one after
the other on a quiet machine: the raw limits of PostgreSQL and RabbitMQ, the pipeline
distributed with one and with two processes per service, the pipeline embedded, growth with
10^2 / 10^4 / 10^5 stored cases, the projection rebuild from 10^6 events, and the audit's
quick check with 10^2 / 10^4 / 10^5 cases on the timeline.

    make bench                                   # about 17 minutes on a 2-core machine
    .venv/bin/python -m bench.run --only raw_limits,rebuild --output -
    .venv/bin/python -m bench.run --from-json /tmp/bench   # report again from kept figures
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.stats import commit, machine

ROOT = Path(__file__).resolve().parents[1]
MARK = "bench:make-bench"

# name -> (module, extra arguments, time limit in seconds)
STEPS: dict[str, tuple[str, list[str], int]] = {
    "raw_limits": ("bench.raw_limits", [], 180),
    "distributed": ("bench.pipeline", ["--mode", "distributed", "--replicas", "1"], 420),
    "distributed_2": ("bench.pipeline", ["--mode", "distributed", "--replicas", "2"], 300),
    "embedded": ("bench.pipeline", ["--mode", "embedded", "--clients", "2"], 360),
    "growth": ("bench.growth", [], 420),
    "rebuild": ("bench.rebuild", ["--events", "1000000"], 420),
    "audit_verify": ("bench.audit_verify", [], 900),
}


def run_steps(names: list[str], folder: Path, pipeline_seconds: float) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for name in names:
        module, extra, limit = STEPS[name]
        if module == "bench.pipeline":
            extra = [*extra, "--seconds", str(pipeline_seconds)]
        out = folder / f"{name}.json"
        print(f"== {name}: python -m {module} {' '.join(extra)}", file=sys.stderr, flush=True)
        begun = time.monotonic()
        # Its own process group: a step stopped at its time limit takes its servers with it.
        step = subprocess.Popen(
            [sys.executable, "-m", module, *extra, "--json", str(out)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            code = step.wait(timeout=limit)
            failed = None if code == 0 else f"exit status {code}"
        except subprocess.TimeoutExpired:
            os.killpg(step.pid, signal.SIGTERM)
            step.wait(30)
            failed = f"stopped after its time limit of {limit} s"
        if failed or not out.exists():
            figures[name] = {"failed": failed or "no figures written"}
        else:
            figures[name] = json.loads(out.read_text())
        took = time.monotonic() - begun
        print(f"== {name}: {failed or 'done'} in {took:.0f} s", file=sys.stderr, flush=True)
    return figures


# --- targets ----------------------------------------------------------------------------------
@dataclass
class Check:
    what: str
    figure: str
    target: str
    ok: bool | None  # None: not measured


def _get(figures: dict[str, Any], *path: str) -> Any:
    node: Any = figures
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def checks(figures: dict[str, Any]) -> list[Check]:
    rows: list[Check] = []
    for mode, limit in (("distributed", 250.0), ("embedded", 50.0)):
        for path in ("order in ISP inbox", "receipt confirmation recorded"):
            p95 = _get(figures, mode, "phases", "light", "latency_ms", path, "p95")
            rows.append(
                Check(
                    f"{mode} e2e p95, light load: {path}",
                    "-" if p95 is None else f"{p95:.0f} ms",
                    f"<= {limit:.0f} ms",
                    None if p95 is None else p95 <= limit,
                )
            )
    one = _get(figures, "distributed", "phases", "max", "pipeline_rps")
    two = _get(figures, "distributed_2", "phases", "max", "pipeline_rps")
    best = max((x for x in (one, two) if x is not None), default=None)
    rows.append(
        Check(
            "distributed throughput (best of 1 and 2 processes per service)",
            "-" if best is None else f"{best:.1f} requests/s",
            ">= 30 requests/s",
            None if best is None else best >= 30,
        )
    )
    rows.append(
        Check(
            "second process per service: throughput",
            "-" if not (one and two) else f"{two / one - 1:+.0%} ({one:.1f} -> {two:.1f}/s)",
            "not lower",
            None if not (one and two) else two >= one,
        )
    )
    cpu = {
        name: _get(figures, name, "phases", "max", "cpu_ms_per_request", "total")
        for name in ("embedded", "distributed", "distributed_2")
    }
    ratio = (
        None
        if not (cpu["distributed"] and cpu["embedded"])
        else (cpu["distributed"] / cpu["embedded"])
    )
    rows.append(
        Check(
            "transport overhead: distributed CPU per request (every process, broker and "
            "database) against embedded",
            "-"
            if ratio is None
            else (f"{ratio:.1f}x ({cpu['distributed']:.0f} / {cpu['embedded']:.0f} ms)"),
            "<= 1.5x",
            None if ratio is None else ratio <= 1.5,
        )
    )
    second = (
        None
        if not (cpu["distributed"] and cpu["distributed_2"])
        else (cpu["distributed_2"] / cpu["distributed"])
    )
    rows.append(
        Check(
            "second process per service: CPU per request",
            "-" if second is None else f"{second:.2f}x",
            "<= 1.15x",
            None if second is None else second <= 1.15,
        )
    )
    for name in ("distributed", "distributed_2"):
        sent = _get(figures, name, "phases", "max", "messages_per_request") or {}
        both = None if not sent else sent["published"] + sent["delivered"]
        rows.append(
            Check(
                f"{name}: broker publishes + deliveries per request",
                "-"
                if both is None
                else (f"{both:.1f} ({sent['published']:.1f} + {sent['delivered']:.1f})"),
                "<= 15",
                None if both is None else both <= 15,
            )
        )
    efficiency = pipeline_efficiency(figures)
    rows.append(
        Check(
            "pipeline efficiency (requests/s x events per request / raw append rate)",
            "-" if efficiency is None else f"{efficiency:.2f}",
            ">= 0.5",
            None if efficiency is None else efficiency >= 0.5,
        )
    )
    for bench, name in (
        ("growth", "intake"),
        ("growth", "case list"),
        ("rebuild", "timeline"),
        ("rebuild", "statistics"),
        ("audit_verify", "audit verify"),
    ):
        table = _get(figures, bench, "latency_ms", name) or {}
        small, large = table.get("100", {}).get("p50"), table.get("100000", {}).get("p50")
        ratio = None if not (small and large) else large / small
        rows.append(
            Check(
                f"growth: {name} p50, 10^5 cases against 10^2",
                "-" if ratio is None else f"{ratio:.2f}x ({small:.1f} -> {large:.1f} ms)",
                "<= 1.5x",
                None if ratio is None else ratio <= 1.5,
            )
        )
    rate = _get(figures, "rebuild", "events_per_second")
    rows.append(
        Check(
            "projection rebuild",
            "-" if rate is None else f"{rate:,.0f} events/s",
            ">= 5,000 events/s",
            None if rate is None else rate >= 5000,
        )
    )
    return rows


def pipeline_efficiency(figures: dict[str, Any]) -> float | None:
    raw = _get(figures, "raw_limits", "event_store", "raw_append_rate")
    best = None
    for name in ("distributed", "distributed_2"):
        rps = _get(figures, name, "phases", "max", "pipeline_rps")
        per = _get(figures, name, "phases", "max", "events_per_request")
        if rps and per:
            best = max(best or 0.0, rps * per)
    return None if not (raw and best) else best / raw


def verdict(ok: bool | None) -> str:
    return {True: "PASS", False: "MISS", None: "not measured"}[ok]


# --- report -----------------------------------------------------------------------------------
def table(headers: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def latency_rows(figures: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for name in ("embedded", "distributed", "distributed_2"):
        bench = figures.get(name) or {}
        for phase, data in (bench.get("phases") or {}).items():
            offered = data.get("offered_rps", "closed loop" if phase == "max" else "1 at a time")
            for path, s in data["latency_ms"].items():
                if not s.get("n"):
                    continue
                rows.append(
                    [
                        f"{name} ({bench.get('replicas', 1)}/service)",
                        phase,
                        offered,
                        data.get("pipeline_rps", "-"),
                        path,
                        s["n"],
                        s["p50"],
                        s["p95"],
                        s["p99"],
                    ]
                )
    return rows


def memory_rows(figures: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for name in ("embedded", "distributed", "distributed_2"):
        bench = figures.get(name) or {}
        idle = bench.get("rss_idle_mib") or {}
        peak = _get(bench, "phases", "max", "rss_peak_mib") or {}
        for process in idle:
            rows.append([name, process, idle[process], peak.get(process, "-")])
    return rows


def cpu_rows(figures: dict[str, Any]) -> list[list[Any]]:
    """CPU milliseconds per request of each process over the max phase."""
    rows = []
    for name in ("embedded", "distributed", "distributed_2"):
        cpu = _get(figures, name, "phases", "max", "cpu_ms_per_request") or {}
        for process, ms in sorted((cpu.get("by_process") or {}).items(), key=lambda i: -i[1]):
            rows.append([name, process, ms])
        if cpu:
            rows.append([name, "**all**", cpu["total"]])
    return rows


def growth_rows(figures: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for bench in ("growth", "rebuild", "audit_verify"):
        for name, sizes in (_get(figures, bench, "latency_ms") or {}).items():
            for size, s in sizes.items():
                rows.append([name, f"{int(size):,}", s.get("p50"), s.get("p95"), s.get("p99")])
    return rows


def axes_of(ax: Any, title: str, xlabel: str) -> None:
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("latency (ms)")
    ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)


def save(fig: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plots(figures: dict[str, Any], folder: Path) -> list[str]:
    """docs/bench-latency.png and docs/bench-growth.png; returns the names written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, path in zip(axes, ("order in ISP inbox", "receipt confirmation recorded"), strict=True):
        for name, style in (("embedded", "o-"), ("distributed", "s-")):
            phases = _get(figures, name, "phases") or {}
            points = []
            for phase in ("light", "50%", "90%"):
                data = phases.get(phase)
                if data and data["latency_ms"][path].get("n"):
                    load = data.get("offered_rps") or data.get("pipeline_rps")
                    points.append((load, data["latency_ms"][path]))
            if points:
                xs = [p[0] for p in points]
                ax.plot(xs, [p[1]["p50"] for p in points], style, label=f"{name} p50")
                ax.plot(xs, [p[1]["p95"] for p in points], style, alpha=0.5, label=f"{name} p95")
        axes_of(ax, f"POST /requests -> {path}", "offered load (requests/s)")
    save(fig, folder / "bench-latency.png")
    written.append("bench-latency.png")

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for bench in ("growth", "rebuild", "audit_verify"):
        for name, sizes in (_get(figures, bench, "latency_ms") or {}).items():
            xs = sorted(int(s) for s in sizes)
            ax.plot(xs, [sizes[str(x)]["p50"] for x in xs], "o-", label=f"{name} p50")
    ax.set_xscale("log")
    axes_of(ax, "Growth", "cases already stored")
    save(fig, folder / "bench-growth.png")
    written.append("bench-growth.png")
    return written


def report(figures: dict[str, Any], took: float, pictures: list[str]) -> str:
    rows = checks(figures)
    raw = figures.get("raw_limits") or {}
    parts = [
        f"<!-- {MARK} -->",
        "## Latest `make bench`",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit {commit()}, "
        f"{took / 60:.1f} minutes. Machine: {machine()}.",
        "",
        table(
            ["figure", "measured", "target", "result"],
            [[c.what, c.figure, c.target, verdict(c.ok)] for c in rows],
        ),
        "",
        "### End-to-end latency (ms) and throughput",
        "",
        table(
            [
                "deployment",
                "phase",
                "offered req/s",
                "through pipeline req/s",
                "until",
                "n",
                "p50",
                "p95",
                "p99",
            ],
            latency_rows(figures),
        ),
        "",
    ]
    for name in ("distributed", "distributed_2", "embedded"):
        top = _get(figures, name, "phases", "max")
        if top:
            parts.append(
                f"- {name}: {top['pipeline_rps']} requests/s through the whole pipeline "
                f"({top['intake_rps']} requests/s registered while loading), "
                f"{top['events_per_request']} events stored per request."
            )
    store, broker = raw.get("event_store") or {}, raw.get("broker") or {}
    if store:
        rates = store["append_events_per_second"].items()
        parts.append(
            f"- Raw event-store append ({store['postgres']}): "
            + ", ".join(f"{v:,} events/s with {k}" for k, v in rates)
            + f"; {store['append_events_per_second_batched_100']:,} events/s in transactions"
            " of 100."
        )
    if broker:
        parts.append(
            f"- Raw broker ({broker['rabbitmq']}): {broker['publish_confirmed_per_second']:,} "
            f"confirmed publishes/s, {broker['consume_acked_per_second']:,} consumed and acked/s."
        )
    efficiency = pipeline_efficiency(figures)
    if efficiency is not None:
        parts.append(f"- Pipeline efficiency: {efficiency:.2f}.")
    parts += [
        "",
        "### CPU per request (ms, max phase, broker and database included)",
        "",
        table(["deployment", "process", "CPU ms per request"], cpu_rows(figures)),
        "",
        "### Memory per process (MiB resident)",
        "",
        table(["deployment", "process", "idle", "peak under max load"], memory_rows(figures)),
        "",
        "### Growth (ms per call, one call at a time)",
        "",
        table(["call", "cases stored", "p50", "p95", "p99"], growth_rows(figures)),
        "",
    ]
    rebuild = figures.get("rebuild") or {}
    if "events_per_second" in rebuild:
        parts.append(
            f"Projection rebuild: {rebuild['events']:,} events of {rebuild['cases']:,} cases in "
            f"{rebuild['seconds']:.1f} s = {rebuild['events_per_second']:,.0f} events/s."
        )
        parts.append("")
    failed = {k: v["failed"] for k, v in figures.items() if isinstance(v, dict) and "failed" in v}
    for name, why in failed.items():
        parts.append(f"- `{name}` was not measured: {why}.")
    parts += [f"![{p}]({p})" for p in pictures]
    parts.append(f"<!-- /{MARK} -->")
    return "\n".join(parts) + "\n"


def write_report(output: Path, text: str) -> None:
    begin, end = f"<!-- {MARK} -->", f"<!-- /{MARK} -->"
    current = output.read_text() if output.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end) + r"\n?", re.DOTALL)
    if pattern.search(current):
        updated = pattern.sub(lambda _: text, current, count=1)
    else:  # the newest run goes first, after the title and introduction
        head, sep, rest = current.partition("\n## ")
        updated = head.rstrip("\n") + "\n\n" + text + ("\n## " + rest if sep else "")
    output.write_text(updated)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(STEPS), help="comma-separated steps")
    parser.add_argument("--seconds", type=float, default=15.0, help="pipeline max phase")
    parser.add_argument("--from-json", type=Path, default=None, help="report kept figures")
    parser.add_argument("--keep", type=Path, default=None, help="keep the figures here")
    parser.add_argument("--output", default="docs/benchmarks.md", help="'-': print only")
    args = parser.parse_args()
    started = time.monotonic()
    if args.from_json:
        figures = {p.stem: json.loads(p.read_text()) for p in sorted(args.from_json.glob("*.json"))}
    else:
        names = [n for n in args.only.split(",") if n]
        unknown = set(names) - set(STEPS)
        if unknown:
            parser.error(f"unknown steps {sorted(unknown)}; known: {', '.join(STEPS)}")
        folder = args.keep or Path(tempfile.mkdtemp(prefix="cp247-bench-"))
        folder.mkdir(parents=True, exist_ok=True)
        figures = run_steps(names, folder, args.seconds)
        print(f"figures kept in {folder}", file=sys.stderr)
    took = time.monotonic() - started
    pictures = [] if args.output == "-" else plots(figures, ROOT / "docs")
    text = report(figures, took, pictures)
    print(
        table(
            ["figure", "measured", "target", "result"],
            [[c.what, c.figure, c.target, verdict(c.ok)] for c in checks(figures)],
        )
    )
    if args.output != "-":
        write_report(ROOT / args.output, text)
        print(f"written to {args.output} and docs/{', docs/'.join(pictures)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
