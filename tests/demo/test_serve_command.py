"""``yiti serve``: the production server (granian, worker processes) answers Yiti's app over
HTTP and stops on SIGTERM."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.demo.test_demo_command import _free_port


def _fetch(url: str, data: bytes | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_serve_answers_with_worker_processes_and_stops_on_sigterm(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "YITI_DATABASE_URL"}
    env.update(YITI_DATA_DIR=str(tmp_path), PYTHONUNBUFFERED="1")
    script = shutil.which("yiti", path=str(Path(sys.executable).parent))
    command = [script] if script else [sys.executable, "-c", "from yiti.cli import main; main()"]
    proc = subprocess.Popen(
        [*command, "serve", "--port", str(port), "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    base = f"http://127.0.0.1:{port}/api/v1/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, root = _fetch(base)
                break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None and time.monotonic() < deadline, "did not start"
                time.sleep(0.3)
        # then Yiti's API answers: its root, a JSON 404, and a JSON 401 without a token
        assert status == 200 and root["name"] == "Yiti API"
        assert _fetch(base + "no-such-thing")[0] == 404
        status, body = _fetch(base + "decisions/next-best-action", b'{"customer_id": 1}')
        assert status == 401 and body["code"] == "unauthenticated"
        # when told to stop, it stops
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    output = proc.stdout.read() if proc.stdout else ""
    assert "2 worker process(es)" in output
