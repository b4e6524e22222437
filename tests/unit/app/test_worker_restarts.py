"""`python -m app worker` starts arq again after a Redis outage, backing off, and only then."""

from __future__ import annotations

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from app.__main__ import run_worker_through_outages


def test_it_starts_again_after_each_outage_backing_off_up_to_the_cap():
    runs, slept = [], []

    def run():
        runs.append(1)
        if len(runs) < 6:
            raise RedisConnectionError("Connection refused")

    run_worker_through_outages(run, first_delay=1, max_delay=4, sleep=slept.append)
    assert len(runs) == 6 and slept == [1, 2, 4, 4, 4]


def test_a_normal_stop_ends_it_and_other_errors_are_not_swallowed():
    slept = []
    run_worker_through_outages(lambda: None, sleep=slept.append)
    assert slept == []

    def broken():
        raise ValueError("a bug, not an outage")

    with pytest.raises(ValueError):
        run_worker_through_outages(broken, sleep=slept.append)
    assert slept == []
