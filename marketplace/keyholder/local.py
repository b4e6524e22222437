"""Three local key holders for the embedded default (``python3 scripts/dev.py run``).

They demonstrate the mechanism only: all three run on this machine under one operator, so
they do not give the protocol's trust claim, which needs holders run by separate
institutions on their own machines (README, "Key holders"). Each has its key file and
store under ``var/keyholders/`` and listens on a fixed local port (8711, 8712, 8713;
``KEYHOLDER_PORTS=p1,p2,p3`` overrides). The platform's own register key is kept there
too (``platform.key``, mode 0600) and given to each holder as ``--platform-key``.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import httpx

from marketplace.domain.sealing.codec import is_hex, is_id
from marketplace.keyholder.auth import PlatformAuth
from marketplace.keyholder.keys import KeyFileError, check_private, load_or_create
from marketplace.services.keyholder_client import Holder

LOCAL_IDS = ("holder-a", "holder-b", "holder-c")
DEFAULT_PORTS = (8711, 8712, 8713)
DEFAULT_PLATFORM = "local-market"
START_TIMEOUT = 20.0


def local_ports() -> tuple[int, ...]:
    """The ports of the local holders (``KEYHOLDER_PORTS``, comma-separated, else 8711-8713)."""
    raw = os.environ.get("KEYHOLDER_PORTS", "")
    if not raw.strip():
        return DEFAULT_PORTS
    try:
        ports = tuple(int(p) for p in raw.split(","))
    except ValueError:
        raise ValueError(f"KEYHOLDER_PORTS={raw!r} is not {len(LOCAL_IDS)} comma-separated ports") from None
    if len(ports) != len(LOCAL_IDS) or not all(0 < p < 65536 for p in ports) or len(set(ports)) != len(ports):
        raise ValueError(f"KEYHOLDER_PORTS={raw!r} is not {len(LOCAL_IDS)} distinct ports 1..65535")
    return ports


def platform_auth(directory: Path, platform: str = DEFAULT_PLATFORM) -> PlatformAuth:
    """The platform's register key, ``directory/platform.key`` (created with ``secrets`` if absent, 0600)."""
    return platform_key_file(directory / "platform.key", platform)


def platform_key_file(path: Path, platform: str = DEFAULT_PLATFORM) -> PlatformAuth:
    """The platform's register key in ``path`` (created for ``platform`` with ``secrets`` if absent, 0600)."""
    directory = path.parent
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        text = json.dumps({"v": 1, "platform": platform, "signing_seed": secrets.token_hex(32)}, indent=2) + "\n"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
    check_private(path)
    try:
        data = json.loads(path.read_text("utf-8"))
    except ValueError as exc:
        raise KeyFileError(f"{path} is not valid JSON") from exc
    if not isinstance(data, dict) or set(data) != {"v", "platform", "signing_seed"} or data["v"] != 1 \
            or not is_id(data["platform"]) or not is_hex(data["signing_seed"], 32):
        raise KeyFileError(f"{path} is not {{v: 1, platform, signing_seed}}")
    return PlatformAuth(platform=data["platform"], signing_seed=bytes.fromhex(data["signing_seed"]))


def ensure_local_holders(directory: Path, ports: tuple[int, ...] | None = None,
                         host: str = "127.0.0.1") -> list[Holder]:
    """The three local holders (key files created when absent), as the platform configures them."""
    ports = ports or local_ports()
    holders = []
    for holder_id, port in zip(LOCAL_IDS, ports, strict=True):
        keys, _ = load_or_create(directory / f"{holder_id}.key", holder_id)
        holders.append(Holder(id=holder_id, signing_key=keys.signing_key, url=f"http://{host}:{port}"))
    return holders


@dataclass
class LocalHolders:
    """Running local holders: the platform's view of them and their processes."""

    holders: list[Holder]
    auth: PlatformAuth
    processes: list[subprocess.Popen] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the processes this started (SIGTERM, then SIGKILL after ``timeout``)."""
        for proc in self.processes:
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + timeout
        for proc in self.processes:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        self.processes.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def holder_command(holder_id: str, port: int, directory: Path, platform_keys: dict[str, str],
                   host: str = "127.0.0.1") -> list[str]:
    """The command line of one holder process."""
    cmd = [sys.executable, "-m", "app", "keyholder", "--id", holder_id, "--port", str(port), "--host", host,
           "--key-file", str(directory / f"{holder_id}.key"), "--store", str(directory / f"{holder_id}.db")]
    for platform, key in sorted(platform_keys.items()):
        cmd += ["--platform-key", f"{platform}={key}"]
    return cmd


def wait_until_up(holders: list[Holder], processes: list[subprocess.Popen], timeout: float) -> dict[str, str]:
    """Poll each holder's ``/info`` until it answers with its own signing key; the holders that did not."""
    waiting = {h.id: (h, p) for h, p in zip(holders, processes, strict=True)}
    problems: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=1.0, trust_env=False) as client:
        while waiting and time.monotonic() < deadline:
            for holder_id, (holder, proc) in list(waiting.items()):
                if proc.poll() is not None:
                    problems[holder_id] = f"exited with code {proc.returncode}"
                    del waiting[holder_id]
                    continue
                try:
                    info = client.get(holder.endpoint("info")).json()
                except (httpx.HTTPError, ValueError):
                    continue
                if info.get("holder") == holder.id and info.get("signing_key") == holder.signing_key:
                    del waiting[holder_id]
                else:
                    problems[holder_id] = f"another service answers at {holder.url}"
                    del waiting[holder_id]
            time.sleep(0.1)
    problems.update({h: f"did not answer within {timeout:.0f} s" for h in waiting})
    return problems


def start_local_holders(directory: Path, *, platform: str = DEFAULT_PLATFORM, ports: tuple[int, ...] | None = None,
                        timeout: float = START_TIMEOUT, log_dir: Path | None = None) -> LocalHolders:
    """Start the three local holders as subprocesses and wait (bounded) until each answers.

    A holder that does not come up (its port taken, say) is named in ``problems`` with its
    log file; the others keep running. Call ``stop()`` (or use it as a context manager).
    """
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    auth = platform_auth(directory, platform)
    holders = ensure_local_holders(directory, ports)
    log_dir = log_dir or directory
    running = LocalHolders(holders=holders, auth=auth)
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])))
    for holder in holders:
        port = int(holder.url.rsplit(":", 1)[1])
        log = open(log_dir / f"{holder.id}.log", "ab")  # noqa: SIM115 (the child writes it until it stops)
        try:
            running.processes.append(subprocess.Popen(
                holder_command(holder.id, port, directory, {auth.platform: auth.public_key}),
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=root, env=env))
        finally:
            log.close()
    problems = wait_until_up(holders, running.processes, timeout)
    running.problems = {h: f"{why} (log: {log_dir / f'{h}.log'})" for h, why in problems.items()}
    return running
