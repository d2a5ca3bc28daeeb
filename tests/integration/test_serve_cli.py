"""``lti-tool serve`` (as ``make run`` calls it) on a port already in use: a clear message and a non-zero
exit, before it says it serves."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path


def test_serve_on_a_port_in_use_fails_before_saying_it_serves(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "lti-tool"
    command = (
        [str(script)] if script.exists() else [sys.executable, "-c", "from lti_tool.cli import main; main()"]
    )
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        "SECRET_KEY": "serve-test-secret",
        "CELERY_BROKER_URL": "",
    }
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        result = subprocess.run(
            [*command, "serve", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode != 0
    assert f"Port {port} on 127.0.0.1 is already in use" in result.stderr
    assert f"--port {port + 1}" in result.stderr
    assert "Serving" not in result.stdout and "Traceback" not in result.stderr
