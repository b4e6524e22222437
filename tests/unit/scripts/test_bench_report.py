"""The BENCH lines the benchmarks print (scripts/bench_report.py) and their reading by scripts/bench.py."""

from __future__ import annotations

import pytest

from scripts.bench_report import PREFIX, emit, parse, shown


@pytest.mark.parametrize(("value", "unit", "limit", "ok"), [
    (0.2734, "ratio", "≥ 25%", True),
    (87.5, "ms", "< 100 ms", False),
    (167434, "events/s", "≥ 100,000/s", True),
    (1.01, "×", "≤ 1.5 ×", None),
    ("not measured", "", "≥ 25%", None),
])
def test_an_emitted_line_parses_back(capsys, value, unit, limit, ok):
    emit("quote ÷ pgbench TPC-B (2 web processes)", value, unit, limit=limit, ok=ok, note="quote 110.0 req/s")
    line = capsys.readouterr().out
    assert line.startswith(PREFIX) and line.endswith("\n") and line.count("\n") == 1
    assert parse(line.rstrip("\n")) == {"measure": "quote ÷ pgbench TPC-B (2 web processes)", "value": value,
                                        "unit": unit, "limit": limit, "ok": ok, "note": "quote 110.0 req/s"}


@pytest.mark.parametrize("line", ["", "quote: 110 req/s", "BENCH", "BENCH {not json", 'BENCH ["a list"]',
                                  'BENCH {"value": 1}', ' BENCH {"measure": "indented"}'])
def test_other_lines_are_not_measures(line):
    assert parse(line) is None


@pytest.mark.parametrize(("value", "unit", "text"), [
    (0.2734, "ratio", "27.3%"),
    (1, "ratio", "100.0%"),
    (87.54, "ms", "87.5 ms"),
    (3.14159, "ms", "3.14 ms"),
    (167434, "events/s", "167,434 events/s"),
    (1.01, "×", "1.01 ×"),
    (4379.2, "tps", "4,379.2 tps"),
    ("not measured", "", "not measured"),
])
def test_values_are_shown_with_their_unit(value, unit, text):
    assert shown(value, unit) == text


def test_the_full_run_measures_quotes_at_one_two_and_four_web_processes():
    from scripts.bench import BENCHES

    http = next(b for b in BENCHES if b.name == "http")
    assert "--workers" in http.args and http.args[http.args.index("--workers") + 1] == "1,2,4"
