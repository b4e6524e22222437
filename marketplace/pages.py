"""HTML pages of the marketplace loop (owners, agencies, public, regulators)."""

route_handlers: list = []
