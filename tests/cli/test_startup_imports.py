"""The `complaints` command and its workers start without the libraries they do not use: the web framework
(only `serve` builds an app), jieba's dictionary (only a classification rule's whole word needs it), the
spreadsheet and QR code libraries (pages of the app). Checked by what a fresh process has in `sys.modules`,
not by timing it: a loaded machine makes any time limit fail by luck (docs/ARCHITECTURE.md, "Start-up")."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # every test starts a Python process

#: Top-level packages a command other than `serve` must not import.
HEAVY = ("flask", "flask_babel", "flask_login", "flask_wtf", "flask_limiter", "wtforms", "jinja2", "marshmallow",
         "apispec", "gunicorn", "rjieba", "openpyxl", "segno")

#: Prints, as the process ends, which of HEAVY it imported.
_REPORT = ("import atexit, json, sys\n"
           f"atexit.register(lambda: print(json.dumps([m for m in {HEAVY!r} if m in sys.modules])))\n")


def _heavy_imports(code: str, **env: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", _REPORT + code], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, **env))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_the_command_line_and_the_web_package_import_no_web_framework():
    assert _heavy_imports("import web, web.cli") == []


def test_the_workers_modules_import_no_web_framework():
    code = ("import web.cli\n"
            "from engine.complaints import evidence, mailbox, notifications, timer_worker, timers\n"
            "from web import mail, secret\n")
    assert _heavy_imports(code) == []


def test_a_pass_of_the_timer_worker_imports_no_web_framework(database_url, tmp_path):
    code = "from web.cli import main\nmain(['worker', '--once'])\n"
    assert _heavy_imports(code, DATABASE_URL=database_url, COMPLAINTS_INSTANCE=str(tmp_path)) == []


def test_the_check_sees_what_the_app_imports():
    assert {"flask", "jinja2", "marshmallow"} <= set(_heavy_imports("import web.app"))
