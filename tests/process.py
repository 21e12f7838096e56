"""Run ``rt-core`` as a real subprocess, the way users run it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

RT_CORE = str(Path(sys.executable).with_name("rt-core"))
READY = re.compile(r"ready on http://[^:]+:(\d+)")


class GatewayProcess:
    """``rt-core serve`` in a subprocess; ``port`` is parsed from the ready line."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.args = [RT_CORE, "serve", "--port", "0", *args]
        # Keep the default session store out of the home directory.
        self._tmp = tempfile.mkdtemp(prefix="rt-proc-")
        self.env = {**os.environ, "RT_DB": os.path.join(self._tmp, "rt.db"), **(env or {})}
        self.lines: list[str] = []
        self.port: int | None = None
        self.proc: subprocess.Popen[str] | None = None
        self._ready = threading.Event()

    def start(self, timeout: float = 20.0) -> "GatewayProcess":
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=self.env)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(timeout):
            self.stop()
            raise RuntimeError("rt-core did not become ready:\n" + "".join(self.lines))
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            m = READY.search(line)
            if m and self.port is None:
                self.port = int(m.group(1))
                self._ready.set()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def signal(self, signum: int = signal.SIGTERM) -> None:
        assert self.proc is not None
        self.proc.send_signal(signum)

    def wait(self, timeout: float = 10.0) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def __enter__(self) -> "GatewayProcess":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([RT_CORE, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
