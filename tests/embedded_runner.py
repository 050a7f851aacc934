"""The embedded platform started inside a test: ``cp247 run`` on a free port."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from slice_driver import Api, Cli, cli_env

from cp247.config import Settings
from cp247.embedded import EmbeddedPlatform


def _operator_allowances() -> dict[str, str]:
    """Settings a test gives the platform that the CLI must share (a test's webhook receiver
    on loopback is only reachable with ``CP247_OUTBOUND_ALLOWED_HOSTS``)."""
    name = "CP247_OUTBOUND_ALLOWED_HOSTS"
    return {name: os.environ[name]} if os.environ.get(name) else {}


@contextmanager
def running_embedded(data_dir: Path) -> Iterator[tuple[Api, Cli, EmbeddedPlatform]]:
    """``cp247 run`` in this process on a free port, with its CLI against the same data dir
    (the environment as it is now: tests set ``CP247_SMTP_*`` etc. first)."""
    platform = EmbeddedPlatform(Settings.from_env(str(data_dir)))
    server = platform.serve("127.0.0.1", 0)
    platform.start()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield (
            Api(f"http://127.0.0.1:{server.server_port}"),
            Cli(cli_env(**_operator_allowances()), str(data_dir)),
            platform,
        )
    finally:
        server.shutdown()
        server.server_close()
        platform.stop()
