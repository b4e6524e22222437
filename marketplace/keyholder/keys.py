"""A key holder's key file: its id, its secret ``master`` and its Ed25519 signing seed.

The file is JSON ``{"v": 1, "holder": id, "master": hex(32 bytes), "signing_seed": hex(32 bytes)}``,
optionally with ``"platforms": {P: hex(Ed25519 public key)}`` (the platforms allowed to
register, see ``marketplace.keyholder.auth``). It is created with ``secrets`` on first start
when absent, mode 0600, and never rewritten. A malformed file, a file for another holder id
or a file that group or others may read or write is refused with a message saying why.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marketplace.domain.sealing.codec import is_hex, is_id
from marketplace.domain.sealing.primitives import ed25519_public

KEY_FILE_KEYS = frozenset({"v", "holder", "master", "signing_seed"})
OPTIONAL_KEYS = frozenset({"platforms"})
MAX_KEY_FILE_BYTES = 64 * 1024


class KeyFileError(Exception):
    """The key file cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class HolderKeys:
    """What a holder's key file holds (raw bytes) and the public half it publishes."""

    holder: str
    master: bytes = field(repr=False)
    signing_seed: bytes = field(repr=False)
    platforms: dict[str, str] = field(default_factory=dict)

    @property
    def signing_key(self) -> str:
        """The hex Ed25519 public key the institution publishes."""
        return ed25519_public(self.signing_seed).hex()


def parse_key_file(text: str, *, where: str = "key file") -> HolderKeys:
    """The keys of a key file's text; ``KeyFileError`` when it is not exactly of the form above."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise KeyFileError(f"{where} is not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise KeyFileError(f"{where} is not a JSON object")
    missing = sorted(KEY_FILE_KEYS - set(data))
    unknown = sorted(set(data) - KEY_FILE_KEYS - OPTIONAL_KEYS)
    if missing or unknown:
        raise KeyFileError(f"{where} must have the keys v, holder, master, signing_seed (and optionally platforms)"
                           + (f"; missing: {', '.join(missing)}" if missing else "")
                           + (f"; unknown: {', '.join(unknown)}" if unknown else ""))
    if type(data["v"]) is not int or data["v"] != 1:
        raise KeyFileError(f"{where}: v must be 1")
    if not is_id(data["holder"]):
        raise KeyFileError(f"{where}: holder must match [a-z0-9-]{{1,32}}")
    for name in ("master", "signing_seed"):
        if not is_hex(data[name], 32):
            raise KeyFileError(f"{where}: {name} must be 32 bytes of lowercase hex (64 characters)")
    platforms = data.get("platforms", {})
    if not isinstance(platforms, dict):
        raise KeyFileError(f"{where}: platforms must be an object {{platform id: hex Ed25519 public key}}")
    for platform, key in platforms.items():
        if not is_id(platform) or not is_hex(key, 32):
            raise KeyFileError(f"{where}: platforms must map ids [a-z0-9-]{{1,32}} to 32-byte lowercase hex keys")
    return HolderKeys(holder=data["holder"], master=bytes.fromhex(data["master"]),
                      signing_seed=bytes.fromhex(data["signing_seed"]), platforms=dict(platforms))


def key_file_text(keys: HolderKeys) -> str:
    """The JSON text of a key file."""
    data: dict[str, Any] = {"v": 1, "holder": keys.holder, "master": keys.master.hex(),
                            "signing_seed": keys.signing_seed.hex()}
    if keys.platforms:
        data["platforms"] = dict(sorted(keys.platforms.items()))
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def check_private(path: Path) -> None:
    """Refuse a key file that is not a regular file or that group or others may access."""
    st = path.stat()
    if not stat.S_ISREG(st.st_mode):
        raise KeyFileError(f"key file {path} is not a regular file")
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077:
        raise KeyFileError(f"key file {path} may be read or written by group or others (mode {mode:04o}); "
                           f"it holds the holder's secrets: chmod 600 {path}")


def load_key_file(path: Path, holder: str | None = None) -> HolderKeys:
    """Read and check an existing key file (for ``holder`` when given)."""
    check_private(path)
    raw = path.read_bytes()[: MAX_KEY_FILE_BYTES + 1]
    if len(raw) > MAX_KEY_FILE_BYTES:
        raise KeyFileError(f"key file {path} is larger than {MAX_KEY_FILE_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise KeyFileError(f"key file {path} is not UTF-8") from exc
    keys = parse_key_file(text, where=f"key file {path}")
    if holder is not None and keys.holder != holder:
        raise KeyFileError(f"key file {path} is for holder {keys.holder!r}, not {holder!r}")
    return keys


def create_key_file(path: Path, holder: str) -> HolderKeys:
    """Create a new key file with fresh secrets (mode 0600); ``FileExistsError`` when one is there."""
    if not is_id(holder):
        raise KeyFileError("holder id must match [a-z0-9-]{1,32}")
    keys = HolderKeys(holder=holder, master=secrets.token_bytes(32), signing_seed=secrets.token_bytes(32))
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(key_file_text(keys))
            fh.flush()
            os.fsync(fh.fileno())
        os.link(tmp, path)  # fails if another process created the file meanwhile: never overwrite secrets
    finally:
        tmp.unlink(missing_ok=True)
    return keys


def load_or_create(path: Path, holder: str) -> tuple[HolderKeys, bool]:
    """The holder's keys from ``path``, creating the file first when absent; ``(keys, created)``."""
    if not path.exists():
        try:
            return create_key_file(path, holder), True
        except FileExistsError:
            pass
    return load_key_file(path, holder), False
