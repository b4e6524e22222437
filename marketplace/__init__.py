"""The marketplace: registry, jobs, sealed quotes, the verifiable draw and selection, what follows the award, open data, collusion signals.

domain/ is the pure core, services/ the capabilities, controllers/ the pages and API; see docs/architecture.md.
"""
