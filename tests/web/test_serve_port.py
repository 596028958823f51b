"""`complaints serve` on a port another program holds: one clear line, nothing started."""
from __future__ import annotations

import socket

from click.testing import CliRunner

from web.cli import main


def test_busy_port_is_refused_with_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'c.db'}")
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        monkeypatch.setenv("PORT", str(port))
        result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 1
    assert f"port {port} on 127.0.0.1 is already in use" in result.output
    assert "make run PORT=N" in result.output
    assert not (tmp_path / "c.db").exists(), "nothing is started when the port is taken"
