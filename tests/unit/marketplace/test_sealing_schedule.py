"""marketseal-v1 "Opening" step 2 as `opening_state` decides it: open with all n, or with k once the grace period
is over; never before the deadline; fewer than k after the grace period is an alert, never an opening."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from marketplace.domain.sealing.schedule import (
    COLLECTING,
    KEYS_MISSING,
    NOT_DUE,
    OPEN,
    WAITING_GRACE,
    opening_state,
)

D = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)
GRACE = timedelta(minutes=10)
HOLDERS = ["a", "b", "c", "d"]


def state(kept, now, k=2, holders=HOLDERS, grace=GRACE):
    return opening_state(holders=holders, kept=set(kept), threshold=k, now=now, deadline=D, grace=grace)


@pytest.mark.parametrize("k", [2, 3, 4])
def test_every_subset_at_every_moment(k):
    moments = {"before": D - timedelta(seconds=1), "at": D, "within": D + GRACE - timedelta(seconds=1),
               "end": D + GRACE, "after": D + GRACE * 3}
    for size in range(len(HOLDERS) + 1):
        for kept in itertools.combinations(HOLDERS, size):
            for name, now in moments.items():
                s = state(kept, now, k=k)
                assert s.missing == tuple(h for h in HOLDERS if h not in kept)
                if name == "before":
                    expected = NOT_DUE
                elif size == len(HOLDERS):
                    expected = OPEN
                elif name in ("end", "after"):
                    expected = OPEN if size >= k else KEYS_MISSING
                else:
                    expected = WAITING_GRACE if size >= k else COLLECTING
                assert s.state == expected, (k, kept, name)
                assert s.retry_at == {NOT_DUE: D, WAITING_GRACE: D + GRACE, COLLECTING: D + GRACE}.get(expected)


def test_zero_grace_opens_with_k_at_the_deadline_and_never_with_fewer():
    assert state(["a", "b"], D, grace=timedelta(0)).state == OPEN
    assert state(["a"], D, grace=timedelta(0)).state == KEYS_MISSING
    assert state([], D + timedelta(days=30), grace=timedelta(0)).state == KEYS_MISSING


def test_the_missing_holders_keep_notice_order():
    assert state(["c"], D).missing == ("a", "b", "d")


@pytest.mark.parametrize("kwargs", [
    {"threshold": 1}, {"threshold": 5}, {"holders": ["a"], "threshold": 2}, {"holders": [f"h{i}" for i in range(17)]},
    {"kept": {"z"}}, {"grace": timedelta(seconds=-1)},
])
def test_refuses_impossible_inputs(kwargs):
    args = {"holders": HOLDERS, "kept": set(), "threshold": 2, "now": D, "deadline": D, "grace": GRACE, **kwargs}
    with pytest.raises(ValueError):
        opening_state(**args)
