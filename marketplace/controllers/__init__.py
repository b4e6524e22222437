"""Marketplace controllers: pages and JSON API by area, each handler parse -> service -> render."""
