"""Collusion signals (围标串标) for regulators: pages and API (flag, never block)."""

from __future__ import annotations

route_handlers: list = []
