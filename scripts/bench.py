"""Every benchmark of issue 9 in one run, on PostgreSQL + Redis, and one table of values, limits and ratios.

    .venv/bin/python scripts/bench.py            # everything (about 10 minutes on 2 cores)
    .venv/bin/python scripts/bench.py --quick    # shorter loads and smaller datasets (about 4 minutes)
    .venv/bin/python scripts/bench.py --only http pages

The full run measures quote submissions with 1, 2 and 4 web processes, --quick with 2 only (a benchmark's quick
options come after its full-run ones, so the later --workers wins).

Each benchmark is its own script (run it alone for its full table and options); this runs them one after the
other — never side by side, so that one does not take CPU from another — each loading its own dataset into its
own database and dropping it at the end (PostgreSQL on 127.0.0.1:5432, Redis on 127.0.0.1:6379; only loopback
traffic). Ratios are taken inside one script's run, against the baselines it measured in the same run (pgbench
TPC-B, the app's bare JSON endpoint, a plain Litestar + asyncpg endpoint). The full output of each goes to
var/bench/<name>.log; the figures are a report, never a test: the exit status is 0 unless a script failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.bench_report import parse, shown  # noqa: E402


@dataclass(frozen=True)
class Bench:
    name: str
    script: str
    what: str
    args: tuple[str, ...] = ()
    quick: tuple[str, ...] = ()


BENCHES = (
    Bench("http", "bench_http.py", "quote submissions vs pgbench TPC-B, the bare endpoint and a plain peer",
          args=("--workers", "1,2,4"), quick=("--workers", "2", "--seconds", "6", "--pgbench-seconds", "6")),
    Bench("pages", "bench_pages.py", "uncached public pages vs the bare endpoint", quick=("--seconds", "4")),
    Bench("rankings", "bench_rankings.py", "the anonymous (cached) ranking page vs the bare endpoint",
          quick=("--agencies", "2000", "--ratings", "40000", "--seconds", "4")),
    Bench("feeds", "bench_feeds.py", "draws.jsonl and OCDS bulk at 10x the demo"),
    Bench("core", "bench_core.py", "the draw and its verification at 10k and 100k candidates"),
    Bench("audit", "bench_audit.py", "audit chain verification: events/s and memory by length",
          quick=("--events", "20000", "100000")),
    Bench("logins", "bench_logins.py", "web process memory after 200 logins (argon2id, 8 at a time)",
          quick=("--logins", "100")),
    Bench("sweeper", "faults.py", "the sweeper over a backlog of due jobs vs the deadline tasks",
          args=("--catch-up", "320"), quick=("--catch-up", "80")),
)


def run(bench: Bench, quick: bool, log_dir: Path, timeout: int) -> tuple[list[dict], str]:
    """Run one benchmark; its measures, and "ok", "failed (exit n)" or "timed out"."""
    script = ROOT / "scripts" / bench.script
    if not script.exists():
        return [], "missing"
    cmd = [sys.executable, str(script), *bench.args, *(bench.quick if quick else ())]
    log = log_dir / f"{bench.name}.log"
    rows: list[dict] = []
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + timeout
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            if (row := parse(line.rstrip("\n"))) is not None:
                rows.append(row)
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                return rows, "timed out"
        rc = proc.wait()
    return rows, "ok" if rc == 0 else f"failed (exit {rc})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="shorter loads, smaller datasets")
    parser.add_argument("--only", nargs="+", choices=[b.name for b in BENCHES], help="run only these")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per benchmark (default 900)")
    args = parser.parse_args()
    log_dir = ROOT / "var" / "bench"
    log_dir.mkdir(parents=True, exist_ok=True)
    chosen = [b for b in BENCHES if not args.only or b.name in args.only]
    table: list[tuple[str, dict]] = []
    status: dict[str, str] = {}
    for bench in chosen:
        t0 = time.perf_counter()
        print(f"[{bench.name}] {bench.what} …", flush=True)
        rows, status[bench.name] = run(bench, args.quick, log_dir, args.timeout)
        print(f"[{bench.name}] {status[bench.name]} in {time.perf_counter() - t0:.0f} s, {len(rows)} measures "
              f"(var/bench/{bench.name}.log)", flush=True)
        table += [(bench.name, r) for r in rows]
    width = max([len(r["measure"]) for _, r in table] + [20])
    print(f"\n{'bench':<9} {'measure':<{width}} {'value':>16}  {'limit':<14} verdict")
    print("-" * (width + 52))
    for name, r in table:
        verdict = {True: "met", False: "NOT MET", None: ""}[r.get("ok")]
        note = f"  ({r['note']})" if r.get("note") else ""
        print(f"{name:<9} {r['measure']:<{width}} {shown(r['value'], r['unit']):>16}  {r.get('limit', ''):<14} "
              f"{verdict}{note}")
    failed = [n for n, s in status.items() if s != "ok"]
    if failed:
        print("\nnot finished: " + ", ".join(f"{n} ({status[n]})" for n in failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
