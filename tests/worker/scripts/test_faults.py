"""The small run of scripts/faults.py: a deadline storm of tens of jobs while workers are killed with
kill -9, PostgreSQL is restarted fast and immediate and Redis is restarted, all under quote load.

It starts its own PostgreSQL cluster and Redis (own ports, own temporary directory), so it runs once,
in the PostgreSQL suite (TEST_DATABASE_URL set), and needs initdb and redis-server on the machine.
The script fails on any lost acknowledged quote, duplicate or missing selection, 5xx other than 503,
a fault the product did not recover from by itself, or a broken audit chain; this test checks its
exit code and the figures it prints.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ON_POSTGRES

ROOT = Path(__file__).resolve().parents[3]

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not ON_POSTGRES, reason="runs once, with the PostgreSQL suite (it starts its own cluster)"),
    pytest.mark.skipif(not (shutil.which("redis-server") and (shutil.which("pg_config") or
                                                              Path("/usr/lib/postgresql").exists())),
                       reason="needs PostgreSQL's server binaries and redis-server"),
]


def test_a_small_fault_storm_loses_nothing_and_selects_every_job_once():
    proc = subprocess.run([sys.executable, "scripts/faults.py", "--jobs", "30", "--kills", "3", "--storm", "30",
                           "--agencies", "10", "--settle", "120"], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "PYTHONPATH": str(ROOT)})
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    figures = dict(re.findall(r"^(\w[\w ()]*?)\s{2,}(.+)$", proc.stdout, re.M))
    assert figures["kills"].startswith("3 × kill -9"), out
    assert figures["restarts"] == "pg-fast, redis, pg-immediate", out
    acked, stored, lost = map(int, re.match(r"(\d+); stored (\d+); acknowledged but not stored (\d+)",
                                            figures["quotes acknowledged"]).groups())
    assert acked > 100 and stored >= acked and lost == 0, out  # quotes kept flowing around the faults
    assert figures["5xx (not 503)"] == "0" and figures["duplicate selections"] == "0", out
    assert figures["missing selections"] == "0", out
    assert "'awarded': 30" in figures["jobs"], out
    assert figures["audit chain"].startswith("OK"), out
    assert proc.stdout.rstrip().endswith("OK"), out
