"""A live `complaints serve` in tests: a free port, and waiting until the server answers."""
from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import requests


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        return listener.getsockname()[1]


#: Seconds between two looks at a starting server (the kill tests' `POLL`): at 0.2 s, each start was seen 0.1 s
#: late on average, with the test process and the started server both idle.
POLL = 0.05


def wait_until_up(process: subprocess.Popen, url: str, log: Path, seconds: float = 90) -> None:
    """Wait until `url` answers 200; fail with the server's log if it stops or does not answer in time."""
    deadline = time.monotonic() + seconds
    while True:
        assert process.poll() is None, "the server stopped\n" + log.read_text(errors="replace")[-3000:]
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline, "the server did not start\n" + log.read_text(errors="replace")
        time.sleep(POLL)
