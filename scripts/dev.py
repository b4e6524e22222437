#!/usr/bin/env python3
"""The two commands of README's Quick start, with nothing else to set up.

    python3 scripts/dev.py run    # set up .venv, migrate, load demo data, serve on :8000
    python3 scripts/dev.py test   # set up .venv and run every test suite
    python3 scripts/dev.py seed   # migrate and load the demo data only (new one-time passwords)

Standard library only: it creates (or reuses) .venv, installs the pinned
project into it when pyproject.toml changed, and re-runs itself inside it.

`test` runs unit, integration and worker suites on the embedded default
(SQLite, in-process jobs). With TEST_DATABASE_URL (PostgreSQL) and
TEST_REDIS_URL set, it runs the integration and worker suites again against
them, side by side with the embedded run (TEST_SERIAL=1: one after the
other). Browser tests run in their own pytest processes (Playwright's event
loop clashes with pytest-asyncio), the two backends side by side too; they
are skipped, with the reason, where no Chromium is found.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
VPY = VENV / "bin" / "python"
STAMP = VENV / ".installed-pyproject.sha256"


def _in_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def ensure_venv() -> None:
    if sys.version_info[:2] != (3, 11):
        sys.exit(f"Python 3.11 is required (this is {sys.version.split()[0]}).")
    if not VPY.exists():
        print("creating .venv ...", flush=True)
        subprocess.check_call([sys.executable, "-m", "venv", str(VENV)])
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not STAMP.exists() or STAMP.read_text().strip() != want:
        print("installing pinned dependencies into .venv ...", flush=True)
        subprocess.check_call([str(VPY), "-m", "pip", "install", "-q", "--upgrade", "pip"])
        subprocess.check_call([str(VPY), "-m", "pip", "install", "-q", "-e", f"{ROOT}[test]"])
        STAMP.write_text(want)


def _start_pytest(args: list[str], env: dict[str, str], label: str) -> tuple[subprocess.Popen, Path, Path]:
    """Start one suite in its own pytest process, its output going to var/test-<label>.log."""
    xml = ROOT / "var" / f"junit-{label}.xml"
    log = ROOT / "var" / f"test-{label}.log"
    xml.parent.mkdir(exist_ok=True)
    xml.unlink(missing_ok=True)
    out = log.open("wb")
    proc = subprocess.Popen([str(VPY), "-m", "pytest", *args, f"--junitxml={xml}", "-q"], cwd=ROOT, env=env,
                            stdout=out, stderr=subprocess.STDOUT)
    out.close()
    return proc, xml, log


def _counts(xml: Path) -> dict[str, int]:
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    if xml.exists():
        root = ET.parse(xml).getroot()
        suites = [root] if root.tag == "testsuite" else list(root)
        for s in suites:
            for k in counts:
                counts[k] += int(s.get(k, 0))
    return counts


def _run_together(suites: list[tuple[list[str], dict[str, str], str]], results: list) -> None:
    """Run suites side by side (each on its own database: SQLite files, or the PostgreSQL test database and
    its Redis), then print each one's whole output in turn. The machine's cores are the limit: two suites
    at a time keep CI well inside its time budget. TEST_SERIAL=1 runs them one after another."""
    serial = os.environ.get("TEST_SERIAL") == "1"
    batches = [[s] for s in suites] if serial else [suites]
    for batch in batches:
        running = [(label, *_start_pytest(args, env, label)) for args, env, label in batch]
        print("\n=== running: " + ", ".join(label for label, *_ in running) + " ===", flush=True)
        for label, proc, xml, log in running:
            rc = proc.wait()
            print(f"\n=== {label} (exit {rc}) ===", flush=True)
            sys.stdout.write(log.read_text(errors="replace"))
            sys.stdout.flush()
            results.append((label, rc, _counts(xml)))


def run_tests(extra: list[str]) -> int:
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    base["PYTHONPATH"] = str(ROOT)
    results: list = []
    embedded = dict(base)
    embedded.pop("TEST_DATABASE_URL", None)
    embedded.pop("TEST_REDIS_URL", None)
    pg, redis = os.environ.get("TEST_DATABASE_URL"), os.environ.get("TEST_REDIS_URL")
    both = bool(pg or redis)
    _run_together([(["tests/unit", "tests/integration", "tests/worker", *extra], embedded, "embedded")]
                  + ([(["tests/integration", "tests/worker", *extra], dict(base), "postgres+redis")] if both else []),
                  results)
    _run_together([(["tests/browser", *extra], embedded, "browser-embedded")]
                  + ([(["tests/browser", *extra], dict(base), "browser-postgres+redis")] if both else []),
                  results)
    print("\n=== summary ===")
    passed = failed = skipped = 0
    for label, rc, c in results:
        p = c["tests"] - c["failures"] - c["errors"] - c["skipped"]
        f = c["failures"] + c["errors"] + (1 if rc not in (0, 5) and not (c["failures"] + c["errors"]) else 0)
        print(f"{label:<24} {p:>5} passed {f:>3} failed {c['skipped']:>3} skipped  (exit {rc})")
        passed, failed, skipped = passed + p, failed + f, skipped + c["skipped"]
    print(f"total: {passed} passed, {failed} failed, {skipped} skipped")
    return 0 if failed == 0 and all(rc in (0, 5) for _, rc, _ in results) and passed > 0 else 1


def run_demo(serve_after: bool, extra: list[str]) -> None:
    """Migrate, load the demo data (scripts/seed_demo.py), print one-time passwords, then serve."""
    import argparse
    import asyncio

    from app.__main__ import migrate, serve
    from app.db import make_sessionmaker
    from app.settings import get_settings
    from scripts.seed_demo import reset_demo_passwords, seed
    from scripts.seed_engine import make_seed_engine

    parser = argparse.ArgumentParser(prog=f"scripts/dev.py {'run' if serve_after else 'seed'}")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(extra)
    s = get_settings()
    print(f"database: {s.database_url.split('@')[-1]}")
    print(f"background jobs: {'arq on ' + s.redis_url.split('@')[-1] if s.redis_url else 'in-process'}")
    migrate()

    async def load() -> dict:
        engine = make_seed_engine(s.database_url)  # SQLite's calls inline: the seed is one task
        try:
            sm = make_sessionmaker(engine)
            await seed(sm, progress=True)
            return await reset_demo_passwords(sm)
        finally:
            await engine.dispose()

    creds = asyncio.run(load())
    print("\nDemo accounts (new one-time passwords, shown only now):")
    for role, (username, password) in creds.items():
        print(f"  {role:<10} {username:<10} {password}")
    if serve_after:
        holders = start_local_keyholders(Path(s.var_dir) / "keyholders")
        try:
            print(f"\nOpen http://{s.host}:{s.port}/  (API docs: http://{s.host}:{s.port}/schema)\n", flush=True)
            serve(args.workers)
        finally:
            holders.stop()


def start_local_keyholders(directory: Path):
    """Start the three local marketseal-v1 key holders (var/keyholders/, ports 8711-8713 or KEYHOLDER_PORTS)
    before the web server; they demonstrate the mechanism only (README, "Key holders")."""
    from marketplace.keyholder.local import start_local_holders

    running = start_local_holders(directory)
    print(f"\nkey holders (platform {running.auth.platform}; local demo, one operator):")
    for h in running.holders:
        print(f"  {h.id:<10} {h.url:<24} signing key {h.signing_key}"
              + (f"  NOT RUNNING: {running.problems[h.id]}" if h.id in running.problems else ""))
    return running


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in ("run", "test", "seed"):
        sys.exit(__doc__)
    if not _in_venv():
        ensure_venv()
        os.execv(str(VPY), [str(VPY), str(Path(__file__).resolve()), *sys.argv[1:]])
    cmd, extra = sys.argv[1], sys.argv[2:]
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    if cmd in ("run", "seed"):
        run_demo(serve_after=cmd == "run", extra=extra)
    else:
        sys.exit(run_tests(extra))


if __name__ == "__main__":
    main()
