"""make bench's verdicts: each figure against its target, from the benchmarks' JSON."""

from __future__ import annotations

from pathlib import Path

from bench.run import checks, pipeline_efficiency, report, write_report


def latency(p95: float) -> dict:
    return {"n": 40, "p50": p95 / 2, "p95": p95, "p99": p95, "mean": p95 / 2, "max": p95}


def pipeline(
    rps: float, p95: float, replicas: int = 1, cpu: float = 100.0, messages: float = 20.0
) -> dict:
    light = {
        "latency_ms": {
            "order in ISP inbox": latency(p95),
            "receipt confirmation recorded": latency(p95),
        },
        "pipeline_rps": 1.0,
    }
    top = {
        **light,
        "pipeline_rps": rps,
        "intake_rps": rps,
        "events_per_request": 20.0,
        "cpu_ms_per_request": {"total": cpu, "by_process": {"intake": cpu}},
        "messages_per_request": {"published": messages / 4, "delivered": messages * 3 / 4},
    }
    return {"replicas": replicas, "phases": {"light": light, "max": top}}


FIGURES = {
    "raw_limits": {
        "event_store": {
            "raw_append_rate": 2000,
            "append_events_per_second": {"1 writer(s)": 900, "4 writer(s)": 2000},
            "append_events_per_second_batched_100": 20000,
            "postgres": "PostgreSQL 15",
        }
    },
    "distributed": pipeline(20.0, 200.0, cpu=140.0, messages=12.0),
    "distributed_2": pipeline(24.0, 300.0, replicas=2, cpu=170.0, messages=20.0),
    "embedded": pipeline(30.0, 80.0, cpu=100.0),
    "growth": {
        "latency_ms": {
            "intake": {"100": {"p50": 4.0}, "100000": {"p50": 5.0}},
            "case list": {"100": {"p50": 1.0}, "100000": {"p50": 2.0}},
        }
    },
    "rebuild": {"events_per_second": 4999, "latency_ms": {}},
}


def by_name(rows: list) -> dict[str, bool | None]:
    return {row.what: row.ok for row in rows}


def test_each_figure_is_judged_against_its_target():
    verdicts = by_name(checks(FIGURES))
    assert verdicts["distributed e2e p95, light load: order in ISP inbox"] is True  # 200 <= 250
    assert verdicts["embedded e2e p95, light load: order in ISP inbox"] is False  # 80 > 50
    assert verdicts["distributed throughput (best of 1 and 2 processes per service)"] is False
    assert verdicts["second process per service: throughput"] is True  # 24 >= 20
    overhead = (
        "transport overhead: distributed CPU per request (every process, broker and "
        "database) against embedded"
    )
    assert verdicts[overhead] is True  # 140 / 100 = 1.4x
    assert verdicts["second process per service: CPU per request"] is False  # 170 / 140
    assert verdicts["distributed: broker publishes + deliveries per request"] is True  # 12
    assert verdicts["distributed_2: broker publishes + deliveries per request"] is False  # 20
    assert verdicts["growth: intake p50, 10^5 cases against 10^2"] is True  # 1.25x
    assert verdicts["growth: case list p50, 10^5 cases against 10^2"] is False  # 2x
    assert verdicts["growth: timeline p50, 10^5 cases against 10^2"] is None  # not measured
    assert verdicts["projection rebuild"] is False


def test_efficiency_uses_the_best_throughput_and_the_raw_append_rate():
    assert pipeline_efficiency(FIGURES) == 24.0 * 20.0 / 2000
    assert pipeline_efficiency({"distributed": FIGURES["distributed"]}) is None


def test_a_failed_benchmark_is_reported_not_hidden(tmp_path: Path):
    figures = {**FIGURES, "rebuild": {"failed": "stopped after its time limit of 420 s"}}
    text = report(figures, 60.0, [])
    assert "`rebuild` was not measured: stopped after its time limit" in text
    assert "| projection rebuild | - | >= 5,000 events/s | not measured |" in text
    output = tmp_path / "benchmarks.md"
    output.write_text("# Benchmarks\n\nIntro.\n\n## Older section\n\nkept\n")
    write_report(output, text)
    write_report(output, text)  # replaced, not added twice
    written = output.read_text()
    assert written.count("## Latest `make bench`") == 1
    assert written.index("## Latest") < written.index("## Older section")
    assert "kept" in written
