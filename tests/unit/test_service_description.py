"""One description per service (issue 19, item 1): the application class names the service,
its upstreams and its RPC surface, and the nameko adapter is derived from it. Adding a
consumed upstream or an RPC method is one edit, and the gateway can call over RPC exactly
what it calls in process."""

from __future__ import annotations

import re
from importlib import import_module
from pathlib import Path

import pytest
from nameko.rpc import Rpc, RpcProxy

from cp247.nameko_support import QuorumEventHandler, ServiceBase
from cp247.runtime.application import rpc_surface
from services.catalogue import BEHIND_GATEWAY, application_class

GATEWAY = Path(__file__).resolve().parents[2] / "services" / "gateway"
CALL = re.compile(r"\b\w+\.(" + "|".join(BEHIND_GATEWAY) + r")\.([a-z0-9_]+)\(")


def service_class(name: str) -> type:
    module = import_module(f"services.{name}.service")
    (found,) = [
        c for c in vars(module).values()
        if isinstance(c, type) and issubclass(c, ServiceBase) and c is not ServiceBase
    ]  # fmt: skip
    return found


def entrypoints(cls: type, attribute: str) -> list:
    return list(getattr(getattr(cls, attribute, None), "nameko_entrypoints", ()))


@pytest.mark.parametrize("name", BEHIND_GATEWAY)
def test_the_nameko_service_is_derived_from_its_application(name):
    app, service = application_class(name), service_class(name)
    assert service.name == app.name == name
    for upstream in app.upstreams:
        assert isinstance(getattr(service, upstream), RpcProxy), upstream
        (handler,) = entrypoints(service, f"from_{upstream}")
        assert isinstance(handler, QuorumEventHandler)
        assert (handler.source_service, handler.event_type) == (upstream, "#")
    for method in rpc_surface(app):
        assert any(isinstance(e, Rpc) for e in entrypoints(service, method)), method


def test_every_call_of_the_gateway_is_an_rpc_of_that_service():
    calls = {
        match.groups()
        for path in GATEWAY.rglob("*.py")
        for match in CALL.finditer(path.read_text())
    }
    assert len(calls) > 50  # the pattern still finds the gateway's calls
    for service, method in sorted(calls):
        exposed = entrypoints(service_class(service), method)
        assert any(isinstance(e, Rpc) for e in exposed), f"{service}.{method} is not an RPC"


def test_a_method_marked_on_the_application_becomes_an_rpc_and_a_command_wakes_the_relay():
    from cp247.nameko_support import ApplicationProvider, OutboxRelay
    from cp247.runtime.application import ServiceApplication, command, query

    class Sample(ServiceApplication):
        name = "sample"
        upstreams = ("intake",)

        @query
        def look(self, x: int) -> int:
            return x

        @command
        def change(self, x: int) -> int:
            return x + 1

    class SampleService(ServiceBase):
        application = ApplicationProvider(Sample)
        relay = OutboxRelay()

    assert SampleService.name == "sample"
    assert any(isinstance(e, Rpc) for e in entrypoints(SampleService, "look"))
    assert entrypoints(SampleService, "from_intake")

    class Woken:
        kicked = 0

        def kick(self) -> None:
            self.kicked += 1

    worker = SampleService.__new__(SampleService)
    worker.application = type(
        "Bound", (), {"app": Sample(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})}
    )()
    worker.relay = Woken()
    assert SampleService.look(worker, 3) == 3 and worker.relay.kicked == 0
    assert SampleService.change(worker, 3) == 4 and worker.relay.kicked == 1


@pytest.mark.parametrize("name", BEHIND_GATEWAY)
def test_each_periodic_job_has_its_timer_and_runs_in_the_embedded_runner_too(name, tmp_path):
    from nameko.timer import Timer

    from cp247.runtime.application import schedule_of

    app, service = application_class(name), service_class(name)
    for method, schedule in schedule_of(app).items():
        (timer,) = [e for e in entrypoints(service, method) if isinstance(e, Timer)]
        assert timer.interval == schedule.seconds, method
    prompt = tuple(m for m, schedule in schedule_of(app).items() if schedule.prompt)
    assert service.prompt_jobs == prompt


def test_what_an_order_or_a_receipt_asks_for_goes_out_as_soon_as_it_is_applied():
    """The order's webhook, its signed document and the requesting CP's e-mail are prompt
    jobs: run right after events are applied, not at their next tick."""
    assert {"dispatch_webhooks", "sign_documents"} <= set(service_class("isp_liaison").prompt_jobs)
    assert "deliver_messages" in service_class("notification").prompt_jobs


def test_a_prompt_job_asked_for_while_it_runs_runs_once_more_after():
    import eventlet

    from cp247.nameko_support import ApplicationProvider

    runs: list[int] = []
    gate = eventlet.event.Event()
    provider = ApplicationProvider(application_class("isp_liaison"))
    threads: list = []
    provider.container = type("C", (), {"spawn_managed_thread": lambda _, f: threads.append(
        eventlet.spawn(f))})()  # fmt: skip

    def job() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            gate.wait()  # the first run is slow

    provider.app = type("App", (), {"job": staticmethod(job)})()
    kicked: list[bool] = []
    for _ in range(3):
        provider.run_soon(("job",), lambda: kicked.append(True))
        eventlet.sleep(0)
    assert len(threads) == 1 and runs == [0]  # one run at a time
    gate.send(True)
    threads[0].wait()
    assert runs == [0, 1] and len(kicked) == 2  # the two asks meanwhile: one run more


def test_the_embedded_runner_runs_every_periodic_job_of_every_service(tmp_path):
    from cp247.config import Settings
    from cp247.embedded import EmbeddedPlatform
    from cp247.runtime.application import schedule_of

    platform = EmbeddedPlatform(Settings(data_dir=tmp_path))
    try:
        jobs = [*platform.periodic_jobs(outward=False), *platform.periodic_jobs(outward=True)]
        ran = {(job.__self__.name, job.__name__) for job in jobs}
    finally:
        platform.stop()
    declared = {(n, m) for n in BEHIND_GATEWAY for m in schedule_of(application_class(n))}
    assert ran == declared and ("notification", "deliver_messages") in ran
