"""The processes the kill tests start and kill: `complaints serve` (gunicorn) and `complaints worker`, each in a
session of its own so that a kill or the teardown reaches its whole process group, with their logs, and what
each of them is doing in the database (PostgreSQL's pg_stat_activity), so that a kill lands on a process that
has started. They are started as forks of a process that has imported their code (`tests/workers/prestarted.py`):
a restart costs milliseconds of CPU instead of 1.2 s, which the load under test would otherwise go without."""
from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import time
import uuid
from datetime import datetime
from pathlib import Path

import requests
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from tests.workers.prestarted import Command

#: A process with no database session yet: still importing, or not yet asked for anything.
STARTING = "starting"
#: How often the tests look again at a condition they wait for.
POLL = 0.05


def free_port() -> int:
    """A free port below the kernel's range for outgoing connections. A port in that range can be taken while
    the server is down by one of the staff's connections to it (the kernel may give a connection to a local
    port that very port: a TCP self-connect), and the server's next start finds it in use."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    draw = random.SystemRandom()
    for _ in range(100):
        port = draw.randrange(max(1024, low - 10000), low)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise AssertionError(f"no free port below {low}")


def _children(pid: int) -> list[int]:
    """Live (not zombie) child processes of `pid`, read from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == pid and state != "Z":
            found.append(int(entry))
    return found


def _port_taken(port: int) -> bool:
    """Whether the server's port is still taken, tried as `complaints serve` tries it before it starts."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _socket_inodes(pid: int) -> set[str]:
    """The inodes of the sockets process `pid` holds (none once it is gone)."""
    inodes = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return inodes
    for fd in fds:
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[len("socket:["):-1])
    return inodes


def _tcp_local_ports() -> dict[str, int]:
    """Socket inode → local port of every TCP socket on this machine (/proc/net/tcp and tcp6)."""
    ports = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            ports[fields[9]] = int(fields[1].rsplit(":", 1)[1], 16)
    return ports


def _doing(states: list[str]) -> str:
    """What a process is doing in the database, from the states of its sessions."""
    if not states:
        return STARTING
    return "inside a transaction" if {"active", "idle in transaction"} & set(states) else "idle"


class Cluster:
    """The processes under test, each started in its own session so teardown can kill what is left."""

    def __init__(self, database_url: str, instance: Path):
        self.database_url = database_url
        self.postgres = not database_url.startswith("sqlite")
        #: Web workers are told apart in pg_stat_activity by their sockets' ports: over TCP only.
        self.tcp = self.postgres and bool(make_url(database_url).host)
        self.logs = instance / "logs"
        self.logs.mkdir(parents=True)
        #: Prefix of the servers' database session names (pg_stat_activity.application_name).
        self.application_name = f"kill_{uuid.uuid4().hex[:10]}"
        self.base_env = {k: v for k, v in os.environ.items()
                         if k not in ("COMPLAINTS_NOW", "COMPLAINTS_ALLOW_CLOCK_OVERRIDE")}
        # XDG_RUNTIME_DIR: gunicorn's control socket goes there, not into a path shared with other servers.
        self.base_env.update(SECRET_KEY="kill-under-load", COMPLAINTS_INSTANCE=str(instance),
                             XDG_RUNTIME_DIR=str(instance))
        self.port = free_port()
        self.api = f"http://127.0.0.1:{self.port}/api/v1"
        self.arbiter: Command | None = None
        self.timer_workers: list[Command] = []
        self._started: list[Command] = []
        self._names: dict[int, str] = {}

    def session_name(self, proc: Command) -> str:
        return f"{self.application_name}_{self._names[proc.pid]}"

    def _spawn(self, args: list[str], name: str, now: datetime | None) -> Command:
        url = self.database_url
        if self.postgres:
            url += f"{'&' if '?' in url else '?'}application_name={self.application_name}_{name}"
        env = dict(self.base_env, DATABASE_URL=url)
        if now is not None:
            env.update(COMPLAINTS_ALLOW_CLOCK_OVERRIDE="1", COMPLAINTS_NOW=now.isoformat())
        proc = Command(args, env, self.logs / f"{name}.log")
        self._started.append(proc)
        self._names[proc.pid] = name
        return proc

    def start_web(self, workers: int, threads: int, timer_thread: bool, now: datetime | None = None) -> None:
        """Start `complaints serve` and wait until it answers."""
        args = ["serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers),
                "--threads", str(threads)] + ([] if timer_thread else ["--no-timer-worker"])
        self.arbiter = self._spawn(args, f"web{len(self._started)}", now)
        deadline = time.monotonic() + 60
        while True:
            assert self.arbiter.poll() is None, "the server stopped\n" + self.tail(self.arbiter) + self._port_users()
            try:
                if requests.get(self.api + "/", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "the server did not start\n" + self.tail(self.arbiter)
            time.sleep(POLL)

    def _port_users(self) -> str:
        """What holds the server's port (ss), for a failure's message."""
        done = subprocess.run(["ss", "-tanpe", f"sport = :{self.port}"], capture_output=True, text=True, check=False)
        return "\n" + done.stdout + done.stderr

    def start_timer_worker(self, now: datetime) -> None:
        self.timer_workers.append(self._spawn(["worker", "--poll", "0.2"], f"timer{len(self._started)}", now))

    def replace_timer_workers(self, now: datetime) -> None:
        """Stop the timer workers gracefully and start as many on the clock `now`."""
        count = len(self.timer_workers)
        for proc in self.timer_workers:
            proc.send_signal(signal.SIGTERM)
        for proc in self.timer_workers:
            proc.wait(timeout=60)
        self.timer_workers = []
        for _ in range(count):
            self.start_timer_worker(now)

    def web_workers(self) -> list[int]:
        """gunicorn's worker processes (the only children of its arbiter)."""
        return _children(self.arbiter.pid)

    def timer_worker_states(self, engine: Engine) -> dict[Command, str]:
        """What each timer worker is doing in the database (STARTING before its first session)."""
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT application_name, state FROM pg_stat_activity "
                                     "WHERE application_name LIKE :prefix"),
                                {"prefix": self.application_name + "%"}).all()
        return {proc: _doing([state for name, state in rows if name == self.session_name(proc)])
                for proc in self.timer_workers}

    def web_worker_states(self, engine: Engine) -> dict[int, str]:
        """What each gunicorn worker is doing in the database: STARTING until it has served a request (its
        first one opens its database session). Its sessions are the ones whose client port is one of its
        sockets'. Without TCP (a Unix socket) that cannot be told: every worker is "unknown"."""
        workers = self.web_workers()
        if not self.tcp:
            return dict.fromkeys(workers, "unknown")
        with engine.connect() as conn:
            sessions = dict(conn.execute(text("SELECT client_port, state FROM pg_stat_activity "
                                              "WHERE application_name = :name"),
                                         {"name": self.session_name(self.arbiter)}).all())
        ports = _tcp_local_ports()
        return {pid: _doing([sessions[ports[inode]] for inode in _socket_inodes(pid)
                             if ports.get(inode) in sessions]) for pid in workers}

    def check_alive(self) -> None:
        for proc in (self.arbiter, *self.timer_workers):
            assert proc.poll() is None, "a server process died by itself\n" + self.tail(proc)

    def tail(self, proc: Command, lines: int = 40) -> str:
        path = self.logs / f"{self._names[proc.pid]}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def tracebacks(self) -> list[str]:
        """The logs in which a server process reported an unexpected exception (a 500, a failed timer pass)."""
        return sorted(path.name for path in self.logs.iterdir() if "Traceback" in path.read_text(errors="replace"))

    def kill_server(self) -> None:
        """SIGKILL `complaints serve` with its workers (its process group), like a crash of its host."""
        os.killpg(self.arbiter.pid, signal.SIGKILL)
        self.arbiter.wait(timeout=30)
        # The listening socket outlives the reaped arbiter as long as a thread of its worker is still dying
        # (one in the middle of an fsync), and the next start refuses a port in use.
        deadline = time.monotonic() + 30
        while _port_taken(self.port):
            assert time.monotonic() < deadline, "the killed server's port stayed in use" + self._port_users()
            time.sleep(POLL)

    def stop(self) -> None:
        """Stop gracefully (SIGTERM), as an operator would."""
        running = [p for p in (self.arbiter, *self.timer_workers) if p.poll() is None]
        for proc in running:
            proc.send_signal(signal.SIGTERM)
        for proc in running:
            proc.wait(timeout=60)

    def kill_all(self) -> None:
        """Kill the process group of every process this test started that still runs (gunicorn's
        workers are in their arbiter's group)."""
        for proc in self._started:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
