"""The key holder's key file (marketplace.keyholder.keys), the platform's register signature
(marketplace.keyholder.auth) and the holder command's option checks (marketplace.keyholder.cli)."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from marketplace.domain.sealing.primitives import ed25519_public
from marketplace.keyholder.auth import (
    NONCE_HEADER,
    SENT_AT_HEADER,
    SIGNATURE_HEADER,
    PlatformAuth,
    request_signature_valid,
    sign_register_request,
)
from marketplace.keyholder.cli import build, parse_platform_keys
from marketplace.keyholder.keys import KeyFileError, load_key_file, load_or_create, parse_key_file

V = json.loads((Path(__file__).resolve().parents[2] / "data" / "marketseal-v1-vectors.json").read_text("utf-8"))
NOTARY = V["keys"]["holders"][0]


def _write(path: Path, data: object, mode: int = 0o600) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    path.chmod(mode)
    return path


def test_created_on_first_start_private_and_stable(tmp_path: Path):
    path = tmp_path / "sub" / "notary.key"
    keys, created = load_or_create(path, "notary")
    assert created and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(keys.master) == 32 and len(keys.signing_seed) == 32 and keys.master != keys.signing_seed
    again, created_again = load_or_create(path, "notary")
    assert not created_again and again == keys
    assert sorted(json.loads(path.read_text())) == ["holder", "master", "signing_seed", "v"]
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_the_vectors_keys_load_and_publish_their_signing_key(tmp_path: Path):
    path = _write(tmp_path / "k", {"v": 1, "holder": "notary", "master": NOTARY["master"],
                                   "signing_seed": NOTARY["signing_seed"], "platforms": {"gd-market": "11" * 32}})
    keys = load_key_file(path, "notary")
    assert keys.signing_key == NOTARY["signing_key"]
    assert keys.platforms == {"gd-market": "11" * 32}
    assert repr(keys.master) not in repr(keys) and repr(keys.signing_seed) not in repr(keys)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o602])
def test_a_key_file_others_may_read_or_write_is_refused(tmp_path: Path, mode: int):
    path = tmp_path / "k"
    load_or_create(path, "notary")
    path.chmod(mode)
    with pytest.raises(KeyFileError, match="group or others.*chmod 600"):
        load_or_create(path, "notary")


GOOD = {"v": 1, "holder": "notary", "master": "ab" * 32, "signing_seed": "cd" * 32}


@pytest.mark.parametrize(("text", "why"), [
    ("", "not valid JSON"),
    ("{not json", "not valid JSON"),
    ("[1, 2]", "not a JSON object"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "master"}), "missing: master"),
    (json.dumps({**GOOD, "extra": 1}), "unknown: extra"),
    (json.dumps({**GOOD, "v": 2}), "v must be 1"),
    (json.dumps({**GOOD, "v": True}), "v must be 1"),
    (json.dumps({**GOOD, "holder": "Notary"}), "holder must match"),
    (json.dumps({**GOOD, "master": "ab" * 31}), "master must be 32 bytes"),
    (json.dumps({**GOOD, "master": "AB" * 32}), "master must be 32 bytes"),
    (json.dumps({**GOOD, "signing_seed": 5}), "signing_seed must be 32 bytes"),
    (json.dumps({**GOOD, "platforms": []}), "platforms must be an object"),
    (json.dumps({**GOOD, "platforms": {"gd-market": "zz"}}), "platforms must map"),
])
def test_a_malformed_key_file_is_refused_with_the_reason(tmp_path: Path, text: str, why: str):
    with pytest.raises(KeyFileError, match=why):
        parse_key_file(text)
    path = _write(tmp_path / "k", text)
    with pytest.raises(KeyFileError, match=why):
        load_or_create(path, "notary")


def test_a_key_file_of_another_holder_is_refused(tmp_path: Path):
    path = _write(tmp_path / "k", GOOD)
    with pytest.raises(KeyFileError, match="for holder 'notary', not 'supervisor'"):
        load_or_create(path, "supervisor")


def test_a_key_file_that_is_not_utf8_is_refused(tmp_path: Path):
    path = tmp_path / "k"
    path.write_bytes(b"\xff\xfe{}")
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match="not UTF-8"):
        load_key_file(path)


def test_the_command_refuses_to_start_with_a_message(tmp_path: Path, capsys):
    key = tmp_path / "k"
    load_or_create(key, "notary")
    os.chmod(key, 0o644)
    with pytest.raises(SystemExit, match="refusing to start: key file .* group or others"):
        build("notary", key, tmp_path / "s.db", [])
    with pytest.raises(SystemExit, match="--id must match"):
        build("No Such", key, tmp_path / "s.db", [])
    with pytest.raises(SystemExit, match="different files"):
        build("notary", key, key, [])
    with pytest.raises(SystemExit, match="is not PLATFORM=HEX"):
        build("notary", key, tmp_path / "s.db", ["gd-market"])


def test_the_command_builds_a_holder(tmp_path: Path, capsys):
    service = build("notary", tmp_path / "k", tmp_path / "s.db", [f"gd-market={'11' * 32}"])
    try:
        assert service.platform_keys == {"gd-market": "11" * 32}
        out = capsys.readouterr().out
        assert "created key file" in out and service.signing_key in out
    finally:
        service.store.close()


def test_platform_keys_option():
    assert parse_platform_keys([f"a={'11' * 32}", f"b={'22' * 32}", f"a={'11' * 32}"]) == {"a": "11" * 32,
                                                                                           "b": "22" * 32}
    for bad in ["a", f"A={'11' * 32}", "a=11", f"={'11' * 32}", f"a={'1G' * 32}"]:
        with pytest.raises(ValueError, match="not PLATFORM=HEX"):
            parse_platform_keys([bad])
    with pytest.raises(ValueError, match="two keys"):
        parse_platform_keys([f"a={'11' * 32}", f"a={'22' * 32}"])


def test_the_register_signature_binds_holder_platform_job_deadline_time_and_nonce():
    auth = PlatformAuth("gd-market", bytes(range(32)))
    assert auth.public_key == ed25519_public(bytes(range(32))).hex()
    at = datetime(2026, 3, 10, 8, tzinfo=UTC)
    headers = sign_register_request(auth, "notary", "J2026-00101", "2026-03-20T02:00:00Z", now=at, nonce="ab" * 16)
    assert headers[SENT_AT_HEADER] == "2026-03-10T08:00:00Z" and headers[NONCE_HEADER] == "ab" * 16
    args = {"holder": "notary", "platform": "gd-market", "job_id": "J2026-00101", "deadline": "2026-03-20T02:00:00Z",
            "sent_at": "2026-03-10T08:00:00Z", "nonce": "ab" * 16}
    sig = headers[SIGNATURE_HEADER]
    assert request_signature_valid(auth.public_key, signature=sig, **args)
    for name, other in [("holder", "supervisor"), ("platform", "other-platform"), ("job_id", "J2026-00102"),
                        ("deadline", "2026-03-21T02:00:00Z"), ("sent_at", "2026-03-10T08:00:01Z"),
                        ("nonce", "cd" * 16)]:
        assert not request_signature_valid(auth.public_key, signature=sig, **{**args, name: other}), name
    assert not request_signature_valid("22" * 32, signature=sig, **args)
    assert not request_signature_valid(auth.public_key, signature="00" * 64, **args)
    assert not request_signature_valid(auth.public_key, signature="zz", **args)
    fresh = sign_register_request(auth, "notary", "J2026-00101", "2026-03-20T02:00:00Z")
    assert fresh[NONCE_HEADER] != headers[NONCE_HEADER]
