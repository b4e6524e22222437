"""The one line a benchmark prints per measure, so that scripts/bench.py can gather the figures of every benchmark
into one table (each benchmark still prints its own, fuller, table).

    emit("quote ÷ pgbench", 0.27, "ratio", limit="≥ 25%", ok=True)

prints ``BENCH {"measure": …, "value": …, …}`` on stdout. Standard library only.
"""

from __future__ import annotations

import json
from typing import Any

PREFIX = "BENCH "


def emit(measure: str, value: float | int | str, unit: str = "", *, limit: str = "", ok: bool | None = None,
         note: str = "") -> None:
    """One measure: its value and unit, the issue's limit as text ("≥ 25%", "< 100 ms") and whether it is met
    (None: no limit)."""
    print(PREFIX + json.dumps({"measure": measure, "value": value, "unit": unit, "limit": limit, "ok": ok,
                               "note": note}, ensure_ascii=False), flush=True)


def parse(line: str) -> dict[str, Any] | None:
    """The measure a line of a benchmark's output carries, or None."""
    if not line.startswith(PREFIX):
        return None
    try:
        row = json.loads(line[len(PREFIX):])
    except ValueError:
        return None
    return row if isinstance(row, dict) and "measure" in row else None


def shown(value: Any, unit: str) -> str:
    if unit == "ratio" and isinstance(value, (int, float)):
        return f"{value:.1%}"
    if isinstance(value, float):
        return f"{value:,.1f} {unit}".strip() if value >= 10 else f"{value:,.3g} {unit}".strip()
    if isinstance(value, int):
        return f"{value:,} {unit}".strip()
    return f"{value} {unit}".strip()
