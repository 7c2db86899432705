"""`make run`'s supervisor (deploy/supervisord.conf) restarts the dispatcher when it dies."""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from support.server import free_port

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def status(env) -> dict[str, tuple[str, int | None]]:
    out = subprocess.run(
        [BIN / "supervisorctl", "-c", ROOT / "deploy/supervisord.conf", "status"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    result = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            pid = int(parts[3].rstrip(",")) if len(parts) > 3 and parts[2] == "pid" else None
            result[parts[0]] = (parts[1], pid)
    return result


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError("timed out")


@pytest.fixture
def supervised(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "backend"), os.environ.get("PYTHONPATH")])),
        "VENV_BIN": str(BIN),
        "ANAGEN_INSTANCE_PATH": str(tmp_path),
        "PORT": str(port),
        "WEB_WORKERS": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'anagen.sqlite3'}",
        "PUSH_SENDER_PROCESSES": "0",
    }
    subprocess.run([BIN / "flask", "--app", "anagen", "setup"], env=env, check=True, capture_output=True)
    proc = subprocess.Popen(
        [BIN / "supervisord", "-c", ROOT / "deploy/supervisord.conf"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield env, port
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=40)


def test_the_dispatcher_is_restarted_when_it_dies(supervised):
    env, port = supervised
    first = wait_for(lambda: status(env).get("dispatcher", ("", None))[0] == "RUNNING" and status(env))
    assert first["web"][0] == "RUNNING" or wait_for(lambda: status(env)["web"][0] == "RUNNING")
    old_pid = first["dispatcher"][1]
    os.kill(old_pid, signal.SIGKILL)
    restarted = wait_for(
        lambda: (s := status(env)["dispatcher"])[0] == "RUNNING" and s[1] not in (None, old_pid) and s
    )
    assert restarted[1] != old_pid
    health = urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).read()
    assert b'"database":"ok"' in health.replace(b" ", b"")
