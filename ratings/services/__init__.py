"""Ratings services: one module per capability; every query and every change, each committing its own transaction."""
