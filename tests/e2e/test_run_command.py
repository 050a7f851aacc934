"""`cp247 run` as an operator (or `docker stop`, or systemd) runs it: it serves, and a
SIGTERM stops it cleanly within seconds."""

from __future__ import annotations

import signal
import subprocess
import sys
import urllib.request

from slice_driver import cli_env, free_port, wait_for


def test_run_serves_and_stops_on_sigterm(tmp_path):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "cp247.cli", "run", "--port", str(port),
         "--data-dir", str(tmp_path / "data")],
        env=cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:

        def healthy() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    return r.status == 200
            except OSError:
                assert process.poll() is None, process.stderr.read().decode()
                return False

        wait_for(healthy, timeout=60, what="cp247 run to serve")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
