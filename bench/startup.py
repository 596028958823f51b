"""Start-up of the `complaints` command and of its long-running processes, in CPU seconds (user + sys, what a
loaded machine does not inflate the way it inflates wall time):

help    `complaints --help`: importing the command line and nothing else;
import  `python -c "import web.cli"`;
worker  `complaints worker --once` on a database `complaints init --demo` made: start-up and one pass of the
        timer worker with nothing due;
serve   `complaints serve` (one gunicorn worker) until its first answer to GET /login: its CPU then (master and
        worker) and the wall time.

Each is run `--runs` times (default 5) and the median printed, with the load average before and after:
`python -m bench startup [--runs=N]` (docs/ARCHITECTURE.md, "Start-up").
"""
from __future__ import annotations

import argparse
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

CLI = str(Path(sys.executable).parent / "complaints")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cpu_of(command: list[str], env: dict[str, str]) -> float:
    """CPU seconds of one finished run of `command`."""
    before = _children_cpu()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return _children_cpu() - before


def _tree_cpu(pid: int) -> float:
    """CPU seconds used so far by process `pid` and its descendants (from /proc)."""
    total = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
        for child in (task / "children").read_text().split():
            total += _tree_cpu(int(child))
    return total


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds from starting `complaints serve` to its first answer."""
    port = _free_port()
    started = time.monotonic()
    server = subprocess.Popen([CLI, "serve", "--port", str(port), "--workers", "1"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5).close()  # noqa: S310 - ours
                break
            except (urllib.error.URLError, ConnectionError):
                if server.poll() is not None:
                    raise RuntimeError("complaints serve exited before answering") from None
                time.sleep(0.02)
        return time.monotonic() - started, _tree_cpu(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)


def _median(name: str, runs: int, measure: Callable[[], float]) -> float:
    figures = sorted(measure() for _ in range(runs))
    print(f"  {name:<8} {statistics.median(figures):.2f} s CPU  (min {figures[0]:.2f}, max {figures[-1]:.2f})")
    return statistics.median(figures)


def run(argv: list[str] | None = None) -> dict:
    """Measure and print each start-up; returns the medians."""
    parser = argparse.ArgumentParser(prog="python -m bench startup")
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_known_args(sys.argv[1:] if argv is None else argv)[0].runs
    with tempfile.TemporaryDirectory() as folder:
        env = dict(os.environ, DATABASE_URL=f"sqlite:///{folder}/startup.db", COMPLAINTS_INSTANCE=folder)
        subprocess.run([CLI, "init", "--demo"], env=env, check=True, stdout=subprocess.DEVNULL)
        print(f"start-up, median of {runs} (load average {os.getloadavg()[0]:.1f}):")
        medians = {
            "help": _median("help", runs, lambda: _cpu_of([CLI, "--help"], env)),
            "import": _median("import", runs, lambda: _cpu_of([sys.executable, "-c", "import web.cli"], env)),
            "worker": _median("worker", runs, lambda: _cpu_of([CLI, "worker", "--once"], env)),
        }
        served = [_serve(env) for _ in range(runs)]
        medians["serve"] = statistics.median(cpu for _, cpu in served)
        medians["serve_wall"] = statistics.median(wall for wall, _ in served)
        print(f"  serve    {medians['serve']:.2f} s CPU, {medians['serve_wall']:.2f} s wall to the first answer")
        print(f"  (load average after: {os.getloadavg()[0]:.1f})")
    return medians


if __name__ == "__main__":
    run()
