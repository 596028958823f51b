"""A real IMAP server for the tests: Debian's Dovecot (`dovecot-imapd`, installed by `make test`), run from a
configuration of its own in a temporary folder, on a free port of 127.0.0.1. One server per test process
(`tests/workers/conftest.py`: starting and stopping it cost 2–3 s a test); each test gets a mailbox user of its
own, whose mailbox is empty and seen by no other test."""
from __future__ import annotations

import contextlib
import grp
import imaplib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

DOVECOT = "/usr/sbin/dovecot"
PASSWORD = "mailbox-test-password"
#: Mailbox users written into the server's password file at its start: one per test, and the file never changes
#: while the server runs (no question of when Dovecot reads it again).
USERS = 1000

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_login_user = {login}
first_valid_uid = 0
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
mail_location = maildir:~/Maildir
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


@dataclass(frozen=True)
class ImapServer:
    """One test's mailbox on the running server: its IMAP_URL, and a client to put messages in and look at their
    flags."""

    url: str
    port: int
    user: str

    def client(self) -> imaplib.IMAP4:
        imap = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        imap.login(self.user, PASSWORD)
        imap.select("INBOX")
        return imap

    def deliver(self, raw: bytes) -> None:
        """Put a message in the inbox, unseen (as a delivery agent would)."""
        imap = self.client()
        try:
            status, data = imap.append("INBOX", None, None, raw)
            assert status == "OK", data
        finally:
            imap.logout()

    def unseen(self) -> int:
        imap = self.client()
        try:
            return len(imap.uid("SEARCH", None, "UNSEEN")[1][0].split())
        finally:
            imap.logout()

    def mark_all_unseen(self) -> None:
        """As if every worker so far had died after its commit and before flagging the message."""
        imap = self.client()
        try:
            imap.uid("STORE", "1:*", "-FLAGS", "(\\Seen)")
        finally:
            imap.logout()


@dataclass
class Dovecot:
    """The running server; `mailbox()` hands out the next unused mailbox user."""

    port: int
    _handed_out: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def mailbox(self) -> ImapServer:
        with self._lock:
            assert self._handed_out < USERS, f"more than {USERS} mailboxes asked of one IMAP server"
            self._handed_out += 1
            user = _user(self._handed_out)
        return ImapServer(url=f"imap://{user}:{PASSWORD}@127.0.0.1:{self.port}/INBOX", port=self.port, user=user)


def _user(number: int) -> str:
    return f"box{number}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _accounts() -> tuple[str, str, int, int]:
    """Dovecot's own users when run as root (it will not serve mail as root), else the current user."""
    if os.geteuid() == 0:
        try:
            internal, login = pwd.getpwnam("dovecot"), pwd.getpwnam("dovenull")
        except KeyError:
            pytest.skip("dovecot-imapd is installed without its dovecot/dovenull users")
        return internal.pw_name, login.pw_name, internal.pw_uid, internal.pw_gid
    me = pwd.getpwuid(os.getuid())
    return me.pw_name, me.pw_name, me.pw_uid, grp.getgrgid(os.getgid()).gr_gid


@contextlib.contextmanager
def dovecot() -> Iterator[Dovecot]:
    """Start Dovecot in a folder of its own; skip (with the reason) when it is not installed or does not start.

    Not under pytest's tmp_path: that is private to the test's user, and Dovecot's mail processes run as
    Dovecot's user when the tests run as root."""
    root = Path(tempfile.mkdtemp(prefix="imap-test-"))
    try:
        with _serve(root) as server:
            yield server
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def _serve(root: Path) -> Iterator[Dovecot]:
    if not os.access(DOVECOT, os.X_OK):
        pytest.skip(f"no IMAP server: {DOVECOT} is missing (apt-get install dovecot-imapd; `make test` does)")
    internal, login, uid, gid = _accounts()
    port = _free_port()
    for folder in ("run", "state", "home"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "passwd").write_text("".join(f"{_user(n)}:{{PLAIN}}{PASSWORD}\n" for n in range(USERS + 1)))
    config = root / "dovecot.conf"
    config.write_text(CONFIG.format(root=root, internal=internal, login=login, uid=uid, gid=gid, port=port))
    if os.geteuid() == 0:
        os.chmod(root, 0o755)
        shutil.chown(root / "home", uid, gid)
    # Dovecot goes to the background: its output goes to a file, so that no pipe waits for the daemon to end.
    with (root / "start.log").open("w") as output:
        started = subprocess.run([DOVECOT, "-c", str(config)], stdout=output, stderr=subprocess.STDOUT, timeout=30)
    if started.returncode != 0:
        pytest.skip(f"the IMAP server did not start: {(root / 'start.log').read_text().strip()}")
    server = Dovecot(port)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                ImapServer("", port, _user(0)).client().logout()  # box0: only ever asked whether it answers
                break
            except (OSError, imaplib.IMAP4.error) as err:
                if time.monotonic() > deadline:
                    log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
                    pytest.skip(f"the IMAP server does not answer: {err}; {log[-500:]}")
                time.sleep(0.1)
        yield server
    finally:
        _stop(root / "run" / "master.pid")


def _stop(pid_file: Path) -> None:
    """Stop Dovecot: SIGTERM to its master, which stops the rest, and a look every 50 ms whether it has ended
    (1.2 s; `dovecot stop` took 2.2 s)."""
    if not pid_file.exists():  # it never came up
        return
    pid = int(pid_file.read_text())
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while _running(pid):
        assert time.monotonic() < deadline, "Dovecot did not stop"
        time.sleep(0.05)


def _running(pid: int) -> bool:
    """Whether process `pid` still runs (a zombie has ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"
