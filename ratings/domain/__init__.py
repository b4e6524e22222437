"""The ratings pure core: standard library only (and marketplace.domain), no database, no web."""
