"""``yiti demo``: one command migrates, seeds, serves the web UI and stops cleanly."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.urls import NoReverseMatch, reverse

import yiti

STATIC_ROOTS = sorted(Path(yiti.__file__).parent.glob("*/static")) + sorted(
    Path(yiti.__file__).parent.glob("static")
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - loopback only
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _a_vendored_static_file() -> str | None:
    for root in STATIC_ROOTS:
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                return path.relative_to(root).as_posix()
    return None


@pytest.fixture
def demo(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "YITI_DATABASE_URL"}  # always its own SQLite
    env.update(YITI_DATA_DIR=str(tmp_path), YITI_LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1")
    yiti_script = shutil.which("yiti", path=str(Path(sys.executable).parent))
    command = (
        [yiti_script]
        if yiti_script
        else [sys.executable, "-c", "from yiti.cli import main; main()"]
    )
    proc = subprocess.Popen(
        [*command, "demo", "--port", str(port), "--customers", "200", "--no-browser-hint"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    lines: queue.Queue[str] = queue.Queue()
    output: list[str] = []

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            output.append(line)
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + 180
    url = f"http://127.0.0.1:{port}/"
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            if proc.poll() is not None:
                break
            continue
        if url in line:
            break
    else:
        proc.kill()
    if proc.poll() is not None:
        pytest.fail("yiti demo exited before serving:\n" + "".join(output))
    try:
        yield proc, url, output
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_demo_serves_the_app_and_stops_cleanly(demo):
    proc, url, output = demo
    # then the first start seeded the company and printed the demo logins
    text = "".join(output)
    assert "Seeded 200 customers" in text
    assert "am_hz1" in text and "yiti-demo-2026" in text
    # and the web UI answers: the sign-in page once it is routed, never a server error
    status = _get(url + "login/")
    try:
        reverse("login")
    except NoReverseMatch:
        assert status < 500
    else:
        assert status == 200
    # and vendored static files are served without collectstatic
    static = _a_vendored_static_file()
    if static is not None:
        assert _get(url + "static/" + static) == 200
    # when it is told to stop, the server and the worker both stop
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    time.sleep(0.2)
    assert "Yiti stopped." in "".join(output)
