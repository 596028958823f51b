"""`python -m bench load` keeps working: a short run against the embedded default, its figures printed and
no request failing. (Speed is the benchmark's business, not this test's: nothing here is timed.)"""
from __future__ import annotations

import os
import re
import subprocess
import sys

from engine.config import PROJECT_ROOT


def test_a_short_load_run_prints_figures_and_fails_nothing():
    env = dict(os.environ, BENCH_BACKENDS="sqlite", BENCH_COMPLAINTS="300", BENCH_USERS="8",
               BENCH_WARMUP_SECONDS="4", BENCH_LOAD_SECONDS="8", BENCH_CAPACITY_SECONDS="4")
    done = subprocess.run([sys.executable, "-m", "bench", "load"], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-5000:]
    out = done.stdout
    assert "300 complaints" in out and "errors 0 (target 0; 5xx in the server log 0)" in out, out + done.stderr
    counts = dict(re.findall(r"^  (task list|task submit|complaint page) +(\d+) +0 ", out, re.M))
    assert set(counts) == {"task list", "task submit", "complaint page"}, out
    assert all(int(n) > 0 for n in counts.values()), out
    assert re.search(r"capacity \(.*\): \d+ requests/s", out), out
