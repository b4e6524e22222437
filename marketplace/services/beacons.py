"""Beacon sources: where the public randomness of a draw comes from (protocol step 4).

A job names its source at publication. At selection time the source either
gives the beacon string or says the selection must wait for it. A network
beacon (e.g. a public randomness-beacon round fetched after the deadline) is
one more class registered here; nothing else in the selection changes.
"""

from __future__ import annotations

from typing import Protocol

from marketplace.models import Job


class BeaconSource(Protocol):
    code: str
    needs_label: bool  # the notice must name the public value in advance

    def value(self, job: Job) -> str | None:
        """The beacon string for the draw, or None while it is not yet available."""


class NoBeacon:
    code = "none"
    needs_label = False

    def value(self, job: Job) -> str | None:
        return ""


class ManualBeacon:
    """A regulator enters the value named on the notice (an audited event)."""

    code = "manual"
    needs_label = True

    def value(self, job: Job) -> str | None:
        return job.beacon_value or None


SOURCES: dict[str, BeaconSource] = {s.code: s for s in (NoBeacon(), ManualBeacon())}


def source_of(job: Job) -> BeaconSource:
    return SOURCES[job.beacon_source]
