"""The key holder service of marketseal-v1 (``../shared/marketseal-v1.md``, "Key holders").

A key holder is an independent service run by a different institution: its own process,
port, key file and small store, never the platform's database. Modules: ``keys`` (the key
file: holder id, ``master``, Ed25519 signing seed, authorised platforms), ``store`` (the
recorded deadlines, a stdlib sqlite3 file), ``auth`` (how the platform signs a register
request), ``service`` (the HTTP endpoints, plain ASGI), ``cli`` (``python -m app keyholder``)
and ``local`` (three local holders for the embedded default). The protocol's rules and
crypto are the pure core's (``marketplace.domain.sealing.holders``).
"""
