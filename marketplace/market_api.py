"""JSON API of the marketplace loop."""

route_handlers: list = []
