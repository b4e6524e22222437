"""Benchmark the pure draw core at 10,000 eligible candidates.

    python scripts/bench_core.py [--candidates N] [--check]

Times (time.perf_counter, best of 5):
* ``marketplace.selection.select`` for each of the six methods (target < 50 ms);
* ``verify_record`` of scripts/verify_draw.py on the record of each method, on
  the parsed record and from the JSON text (target < 100 ms).
Building the ``Candidate`` objects is timed on its own: it is the caller's
validation of quotes, not part of the selection.
With ``--check`` the exit status is 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import random
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from marketplace.domain.draw import Candidate
from marketplace.domain.methods import GRADE_WEIGHTS, METHODS, select
from marketplace.domain.records import draw_record

SELECT_TARGET_MS = 50.0
VERIFY_TARGET_MS = 100.0


def load_verifier() -> Any:
    spec = importlib.util.spec_from_file_location("verify_draw", ROOT / "scripts" / "verify_draw.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def best_ms(fn: Callable[[], object], repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=10_000)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    n = args.candidates
    verifier = load_verifier()

    rng = random.Random(2026)
    rows = [
        (f"q{i:05d}", f"91{rng.randrange(10**16):016d}", Decimal(rng.randrange(100, 10**8)).scaleb(-2),
         rng.choice("ABCD"))
        for i in range(n)
    ]
    build_ms = best_ms(lambda: [Candidate(q, a, p) for q, a, p, _ in rows])
    plain = [Candidate(q, a, p) for q, a, p, _ in rows]
    weighted = [Candidate(q, a, p, GRADE_WEIGHTS[g]) for q, a, p, g in rows]
    credit = {q: Decimal(rng.randrange(0, 10001)).scaleb(-2) for q, _, _, _ in rows}
    server_seed = hashlib.sha256(b"bench").hexdigest()
    beacon = "round-123456:" + hashlib.sha256(b"beacon").hexdigest()

    print(f"marketdraw-v1 core, {n} eligible candidates, best of 5 (ms)")
    print(f"  building {n} Candidate objects (caller side): {build_ms:.1f}")
    print(f"  {'method':<16}{'select':>9}{'verify':>9}{'parse+verify':>14}")
    missed = []
    for method in METHODS:
        cands = weighted if method == "random_weighted" else plain
        inputs: dict[str, Any] = {}
        if method == "best_value":
            inputs = {"credit_scores": credit}
        elif method == "direct":
            inputs = {"chosen_quote_id": rows[n // 2][0], "reason": "bench"}
        selection = select(method, "J-BENCH", server_seed, beacon, cands, inputs)
        select_ms = best_ms(lambda: select(method, "J-BENCH", server_seed, beacon, cands, inputs))

        excluded = [] if method == "direct" else [{"quote_id": q, "reason": "bench"} for q in selection.ranking[:2]]
        record = draw_record(selection, job_id="J-BENCH", server_seed_hex=server_seed, beacon=beacon,
                             selected_at="2026-01-01T00:00:00Z", excluded=excluded)
        text = json.dumps(record, ensure_ascii=False)
        verifier.verify_record(json.loads(text))  # must pass before it is timed
        parsed = [json.loads(text) for _ in range(5)]
        verify_ms = best_ms(lambda: verifier.verify_record(parsed.pop()))
        parse_verify_ms = best_ms(lambda: verifier.verify_record(json.loads(text)))

        print(f"  {method:<16}{select_ms:>9.1f}{verify_ms:>9.1f}{parse_verify_ms:>14.1f}")
        if select_ms >= SELECT_TARGET_MS:
            missed.append(f"select {method} {select_ms:.1f} ms")
        if parse_verify_ms >= VERIFY_TARGET_MS:
            missed.append(f"verify {method} {parse_verify_ms:.1f} ms")
    print(f"  targets: select < {SELECT_TARGET_MS:.0f} ms, verify < {VERIFY_TARGET_MS:.0f} ms: "
          + ("met" if not missed else "MISSED: " + "; ".join(missed)))
    return 1 if missed and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
