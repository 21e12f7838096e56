"""``rt-core serve | check | plugins`` as real subprocesses."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import anyio
import pytest
from openai import AsyncOpenAI
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from tests.fakes.openai_realtime import FakeOpenAI
from tests.process import RT_CORE, GatewayProcess, run_cli
from tests.realtime_client import collect_until, next_event

REPO = Path(__file__).resolve().parents[2]


def write_config(tmp_path: Path, text: str) -> str:
    p = tmp_path / "config.yaml"
    p.write_text(textwrap.dedent(text))
    return str(p)


def test_check_accepts_litellm_config_unchanged(tmp_path):
    cfg = write_config(tmp_path, """
        model_list:
          - model_name: gpt-realtime
            litellm_params:
              model: openai/gpt-realtime
              api_key: os.environ/RT_TEST_OPENAI_KEY
              api_base: https://api.openai.com/v1
            model_info:
              mode: realtime
          - model_name: gpt-realtime
            litellm_params:
              model: openai/gpt-realtime-mini
              api_key: os.environ/RT_TEST_OPENAI_KEY
              realtime_protocol: beta
        litellm_settings:
          logged_real_time_event_types: "*"
        general_settings:
          master_key: os.environ/RT_TEST_MASTER
    """)
    r = run_cli("check", cfg, env={"RT_TEST_OPENAI_KEY": "sk-secret-value", "RT_TEST_MASTER": "mk"})
    assert r.returncode == 0, r.stderr
    assert "2 deployment(s) in 1 model group(s)" in r.stdout
    assert "sk-secret-value" not in r.stdout + r.stderr


def test_check_names_missing_env_var_and_path(tmp_path):
    cfg = write_config(tmp_path, """
        model_list:
          - model_name: a
            litellm_params: {model: openai/gpt-realtime, api_key: os.environ/RT_SURELY_MISSING_VAR}
    """)
    r = run_cli("check", cfg)
    assert r.returncode == 2
    assert "RT_SURELY_MISSING_VAR" in r.stderr
    assert "model_list[0].litellm_params.api_key" in r.stderr


def test_check_names_bad_key_path(tmp_path):
    cfg = write_config(tmp_path, """
        model_list:
          - model_name: a
            litellm_params: {model: openai/gpt-realtime, api_key: k}
          - model_name: b
            litellm_params: {model: openai/gpt-realtime, api_key: k}
          - model_name: c
            litellm_params: {model: openai/gpt-realtime, api_base: "ftp://example"}
    """)
    r = run_cli("check", cfg)
    assert r.returncode == 2
    assert "model_list[2].litellm_params.api_base" in r.stderr


def test_plugins_lists_distributions_with_versions():
    r = run_cli("plugins")
    assert r.returncode == 0, r.stderr
    lines = {line.split()[0]: line for line in r.stdout.splitlines() if line.strip()}
    assert "openai" in lines and "rt-openai 0.1.0" in lines["openai"]
    assert "mock" in lines and "rt-mock" in lines["mock"]


def _get(url: str) -> tuple[int, dict]:
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.status, json.loads(r.read())


async def _mock_reply(port: int) -> list[dict]:
    """One text reply from the ``mock`` model, through the official SDK: every event up to response.done."""
    client = AsyncOpenAI(api_key="x", base_url=f"http://127.0.0.1:{port}/v1")
    async with client.realtime.connect(model="mock") as conn:
        assert (await next_event(conn, "ga"))["type"] == "session.created"
        await conn.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        await conn.conversation.item.create(item={"type": "message", "role": "user",
                                                  "content": [{"type": "input_text", "text": "ping"}]})
        await conn.response.create()
        return await collect_until(conn, "ga")


def test_serve_embedded_default_is_ready_fast_and_serves_mock():
    with GatewayProcess(env={"OPENAI_API_KEY": ""}) as gw:
        assert "mock" in gw.output
        status, body = _get(f"http://127.0.0.1:{gw.port}/health/readiness")
        assert status == 200
        status, body = _get(f"http://127.0.0.1:{gw.port}/v1/models")
        assert [m["id"] for m in body["data"]] == ["mock"]

        events = anyio.run(_mock_reply, gw.port)
        assert events[-1]["response"]["status"] == "completed"


def test_serve_default_adds_openai_when_key_present():
    with GatewayProcess(env={"OPENAI_API_KEY": "sk-from-env"}) as gw:
        _, body = _get(f"http://127.0.0.1:{gw.port}/v1/models")
        assert {m["id"] for m in body["data"]} == {"mock", "gpt-realtime"}
        assert "sk-from-env" not in gw.output


def test_sigterm_closes_sessions_with_1001_and_exits(tmp_path):
    async def scenario():
        fake = FakeOpenAI()
        async with fake.running():
            cfg = write_config(tmp_path, f"""
                model_list:
                  - model_name: gpt-realtime
                    litellm_params: {{model: openai/gpt-realtime, api_key: sk-upstream, api_base: "{fake.api_base}"}}
            """)
            gw = GatewayProcess("--config", cfg).start()
            try:
                async with ws_connect(f"ws://127.0.0.1:{gw.port}/v1/realtime?model=gpt-realtime") as ws:
                    assert json.loads(await ws.recv())["type"] == "session.created"
                    t0 = time.monotonic()
                    gw.signal(signal.SIGTERM)
                    events = []
                    with anyio.fail_after(5):
                        try:
                            while True:
                                events.append(json.loads(await ws.recv()))
                        except ConnectionClosed as exc:
                            code = exc.rcvd.code if exc.rcvd else None
                    assert code == 1001
                    assert events and events[-1]["type"] == "error"
                    assert events[-1]["error"]["code"] == "server_shutting_down"
                rc = await anyio.to_thread.run_sync(gw.wait, 10)
                assert rc == 0
                assert time.monotonic() - t0 < 5
                assert "stopping" in gw.output
            finally:
                gw.stop()

    anyio.run(scenario)


def _proc_environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
    return dict(item.split("=", 1) for item in raw.split("\0") if "=" in item)


def _glibc() -> bool:
    try:
        return sys.platform.startswith("linux") and bool(os.confstr("CS_GNU_LIBC_VERSION"))
    except (ValueError, OSError):
        return False


@pytest.mark.skipif(not _glibc(), reason="the allocator switch is for glibc (Linux) only")
def test_serve_restarts_itself_on_the_system_allocator_unless_told_not_to():
    gw = GatewayProcess(env={"OPENAI_API_KEY": ""})
    for name in ("PYTHONMALLOC", "RT_KEEP_PYMALLOC"):
        gw.env.pop(name, None)
    with gw:
        assert gw.proc is not None
        # Same PID (exec, not a child), now running with PYTHONMALLOC=malloc.
        assert _proc_environ(gw.proc.pid).get("PYTHONMALLOC") == "malloc"
        cmdline = Path(f"/proc/{gw.proc.pid}/cmdline").read_bytes().split(b"\0")
        assert b"rt_core.cli" in cmdline and b"serve" in cmdline
        assert _get(f"http://127.0.0.1:{gw.port}/health/readiness")[0] == 200

    kept = GatewayProcess(env={"OPENAI_API_KEY": "", "RT_KEEP_PYMALLOC": "1"})
    kept.env.pop("PYTHONMALLOC", None)
    with kept:
        assert kept.proc is not None
        assert "PYTHONMALLOC" not in _proc_environ(kept.proc.pid)

    chosen = GatewayProcess(env={"OPENAI_API_KEY": "", "PYTHONMALLOC": "pymalloc"})
    with chosen:
        assert chosen.proc is not None
        assert _proc_environ(chosen.proc.pid)["PYTHONMALLOC"] == "pymalloc"


def test_serve_bad_config_exits_with_clear_error(tmp_path):
    cfg = write_config(tmp_path, "model_list: [{model_name: x, litellm_params: {model: nosuchprovider/m}, model_info: {mode: realtime}}]\n")
    r = subprocess.run([sys.executable, "-m", "rt_core.cli", "serve", "--config", cfg, "--port", "0"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert "model_list[0].litellm_params.model" in r.stderr and "nosuchprovider" in r.stderr


def test_serve_records_sessions_in_the_default_sqlite_store():
    gw = GatewayProcess(env={"OPENAI_API_KEY": ""}).start()
    try:
        async def talk():
            client = AsyncOpenAI(api_key="sk-client-key-123", base_url=f"http://127.0.0.1:{gw.port}/v1")
            async with client.realtime.connect(model="mock") as conn:
                await next_event(conn, "ga")
                await conn.session.update(session={"type": "realtime", "output_modalities": ["text"]})
                await conn.response.create()
                await collect_until(conn, "ga")

        anyio.run(talk)
        gw.signal(signal.SIGTERM)
        assert gw.wait(10) == 0
    finally:
        gw.stop()
    r = run_cli("sessions", "--json", env={"RT_DB": gw.env["RT_DB"]})
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert len(rows) == 1
    row = rows[0]
    assert row["model_group"] == "mock" and row["close_code"] is not None
    assert row["total_tokens"] and row["total_tokens"] > 0
    assert "sk-client-key-123" not in r.stdout


def _fifo_allowed() -> bool:
    """May this user put a process in SCHED_FIFO? (Tried on a throwaway child.)"""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(10)"])
    try:
        os.sched_setscheduler(child.pid, os.SCHED_FIFO, os.sched_param(1))
        return True
    except PermissionError:
        return False
    finally:
        child.kill()
        child.wait()


def _mock_config_with_priority(tmp_path: Path, priority: int) -> str:
    """A config serving ``mock`` with ``rt_realtime_priority: priority``."""
    return write_config(tmp_path, f"""
        model_list:
          - model_name: mock
            litellm_params: {{model: mock/mock}}
        general_settings:
          rt_realtime_priority: {priority}
    """)


def test_serve_realtime_priority_puts_the_event_loop_and_nothing_else_in_sched_fifo(tmp_path):
    config = _mock_config_with_priority(tmp_path, 3)
    if not _fifo_allowed():
        done = run_cli("serve", "--config", config, "--port", "0", timeout=20)
        assert done.returncode == 2
        assert "rt_realtime_priority" in done.stderr and "CAP_SYS_NICE" in done.stderr
        return
    with GatewayProcess("--config", config) as gw:
        assert gw.proc is not None
        pid = gw.proc.pid
        # A session, so the log sinks' writer threads exist too.
        events = anyio.run(_mock_reply, gw.port)
        assert events[-1]["response"]["status"] == "completed"
        assert "SCHED_FIFO at priority 3" in gw.output
        policies = {int(t): os.sched_getscheduler(int(t)) & ~os.SCHED_RESET_ON_FORK
                    for t in os.listdir(f"/proc/{pid}/task")}
        assert policies.pop(pid) == os.SCHED_FIFO  # the main thread runs the event loop
        assert os.sched_getparam(pid).sched_priority == 3
        assert policies and set(policies.values()) == {os.SCHED_OTHER}


def test_realtime_priority_outside_1_to_99_is_refused(tmp_path):
    config = _mock_config_with_priority(tmp_path, 100)
    done = run_cli("check", config)
    assert done.returncode == 2 and "rt_realtime_priority" in done.stderr
    done = run_cli("serve", "--realtime-priority", "0", "--port", "0", timeout=20)
    assert done.returncode == 2 and "1..99" in done.stderr


def test_serve_realtime_priority_without_the_permission_says_what_is_needed(tmp_path):
    argv = [RT_CORE, "serve", "--realtime-priority", "3", "--port", "0"]
    if os.geteuid() == 0:  # drop root's CAP_SYS_NICE for the child
        setpriv = shutil.which("setpriv")
        assert setpriv, "util-linux's setpriv drops the capability"
        argv = [setpriv, "--bounding-set=-sys_nice", "--inh-caps=-sys_nice", "--", *argv]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=20,
                          env={**os.environ, "RT_DB": str(tmp_path / "rt.db")},
                          preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_RTPRIO, (0, 0)))
    assert done.returncode == 2, done.stderr
    assert "rt_realtime_priority" in done.stderr and "CAP_SYS_NICE" in done.stderr and "ulimit -r" in done.stderr
    assert "ready on" not in done.stderr + done.stdout  # refused before serving
