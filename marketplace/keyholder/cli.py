"""``python -m app keyholder``: run one key holder in its own process (uvicorn on its own port).

    python -m app keyholder --id notary --port 8711 --key-file /etc/holder/notary.key \\
        --store /var/lib/holder/notary.db --platform-key gd-market=<hex Ed25519 public key>

The key file is created on first start (fresh ``master`` and signing seed, mode 0600) and
its signing key printed, for the institution to publish. ``--platform-key`` (repeatable)
names a platform allowed to register and its public key; the key file's ``platforms`` adds
more.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from marketplace.domain.sealing.codec import is_hex, is_id
from marketplace.keyholder.keys import KeyFileError, load_or_create
from marketplace.keyholder.service import HolderService
from marketplace.keyholder.store import HolderStore, StoreError


def parse_platform_keys(values: list[str]) -> dict[str, str]:
    """``["P=HEX", …]`` as ``{P: HEX}``; ``ValueError`` with the reason on a bad entry."""
    out: dict[str, str] = {}
    for value in values:
        platform, sep, key = value.partition("=")
        if not sep or not is_id(platform) or not is_hex(key, 32):
            raise ValueError(f"--platform-key {value!r} is not PLATFORM=HEX (an id [a-z0-9-]{{1,32}} and a 32-byte "
                             "lowercase hex Ed25519 public key)")
        if out.get(platform, key) != key:
            raise ValueError(f"--platform-key gives two keys for platform {platform}")
        out[platform] = key
    return out


def build(holder: str, key_file: Path, store_path: Path, platform_keys: list[str]) -> HolderService:
    """Load (or create) the keys, open the store and build the service; ``SystemExit`` with a message."""
    if not is_id(holder):
        sys.exit("keyholder: --id must match [a-z0-9-]{1,32}")
    try:
        platforms = parse_platform_keys(platform_keys)
    except ValueError as exc:
        sys.exit(f"keyholder: {exc}")
    if key_file.resolve() == store_path.resolve():
        sys.exit("keyholder: --key-file and --store must be different files")
    try:
        keys, created = load_or_create(key_file, holder)
    except (KeyFileError, OSError) as exc:
        sys.exit(f"keyholder: refusing to start: {exc}")
    try:
        store = HolderStore(store_path)
    except (StoreError, OSError) as exc:
        sys.exit(f"keyholder: refusing to start: {exc}")
    service = HolderService(keys, store, platforms)
    if created:
        print(f"keyholder {holder}: created key file {key_file} (mode 0600); publish the signing key below",
              flush=True)
    print(f"keyholder {holder}: signing key {service.signing_key}", flush=True)
    if not service.platform_keys:
        print(f"keyholder {holder}: no platform key configured: every register request will be refused (403)",
              file=sys.stderr, flush=True)
    else:
        print(f"keyholder {holder}: platforms {', '.join(sorted(service.platform_keys))}", flush=True)
    return service


def parser() -> argparse.ArgumentParser:
    """The command's options."""
    p = argparse.ArgumentParser(prog="python -m app keyholder", description="Run one marketseal-v1 key holder.")
    p.add_argument("--id", required=True, dest="holder", help="the holder's id, [a-z0-9-]{1,32}")
    p.add_argument("--port", required=True, type=int, help="the port to listen on")
    p.add_argument("--key-file", required=True, type=Path, help="the holder's key file (created, mode 0600, if absent)")
    p.add_argument("--store", required=True, type=Path,
                   help="the holder's own sqlite3 store (created if absent; never the platform's database)")
    p.add_argument("--host", default="127.0.0.1", help="the address to bind (default 127.0.0.1)")
    p.add_argument("--platform-key", action="append", default=[], metavar="PLATFORM=HEX",
                   help="a platform allowed to register and its Ed25519 public key (repeatable)")
    return p


def main(argv: list[str] | None = None) -> None:
    """Parse the options and run the holder."""
    run(parser().parse_args(argv))


def run(args: argparse.Namespace) -> None:
    """Run the holder until stopped (SIGINT/SIGTERM)."""
    import uvicorn

    if not 0 < args.port < 65536:
        sys.exit("keyholder: --port must be 1..65535")
    service = build(args.holder, args.key_file, args.store, args.platform_key)
    try:
        uvicorn.run(service, host=args.host, port=args.port, log_level="info", server_header=False,
                    limit_concurrency=128, timeout_keep_alive=5)
    finally:
        service.store.close()
