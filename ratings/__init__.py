"""Ratings, appeals, violations, credit scores, red and black lists, rankings, savings report.

domain/ is the pure core, services/ the capabilities, controllers/ the pages and API; see docs/architecture.md.
"""
