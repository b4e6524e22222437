"""Open data: OCDS 1.1 releases of every job (public JSON API)."""

from __future__ import annotations

route_handlers: list = []
