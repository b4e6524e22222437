"""Settings read once from the environment."""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLATFORM_ID = re.compile(r"[a-z0-9-]{1,32}")


def _secret_key(var_dir: Path) -> str:
    """SECRET_KEY from the environment, else generated once and kept in var/."""
    env = os.environ.get("SECRET_KEY")
    if env:
        return env
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def normalise_database_url(url: str) -> str:
    """Accept plain postgres:// and sqlite:/// URLs and pick the async drivers."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        return "postgresql+asyncpg://" + url[len("postgresql://") :]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    return url


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: str | None
    secret_key: str
    var_dir: Path
    default_locale: str = "zh_CN"
    display_timezone: str = "Asia/Shanghai"
    host: str = "127.0.0.1"
    port: int = 8000
    session_idle_seconds: int = 30 * 60
    session_absolute_seconds: int = 12 * 3600
    secure_cookies: bool = False
    login_max_failures_account: int = 5
    login_max_failures_ip: int = 30
    login_failure_window_seconds: int = 15 * 60
    max_body_bytes: int = 12 * 1024 * 1024
    sweeper_interval_seconds: int = 30
    debug: bool = False
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "noreply@localhost"
    # Reverse proxies (IPs or CIDR ranges, comma-separated) whose X-Forwarded-For is believed:
    # quotes record the bidder's address (collusion signals) and login limits count per address.
    trusted_proxies: str = ""
    # marketseal-v1: the platform's id P towards the key holders, and the file of its Ed25519 register key
    # (``{"v": 1, "platform", "signing_seed"}``, 0600; the local demo's var/keyholders/platform.key by default).
    platform_id: str = "local-market"
    platform_key_file: Path | None = None
    extra: dict = field(default_factory=dict)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        var_dir = Path(os.environ.get("MARKET_VAR_DIR", ROOT / "var"))
        default_db = f"sqlite+aiosqlite:///{var_dir / 'market.db'}"
        values = dict(
            database_url=normalise_database_url(os.environ.get("DATABASE_URL") or default_db),
            redis_url=os.environ.get("REDIS_URL") or None,
            secret_key=_secret_key(var_dir),
            var_dir=var_dir,
            default_locale=os.environ.get("DEFAULT_LOCALE", "zh_CN"),
            display_timezone=os.environ.get("DISPLAY_TIMEZONE", "Asia/Shanghai"),
            host=os.environ.get("HOST", "127.0.0.1"),
            port=int(os.environ.get("PORT", "8000")),
            secure_cookies=os.environ.get("SECURE_COOKIES", "") == "1",
            debug=os.environ.get("DEBUG", "") == "1",
            smtp_host=os.environ.get("SMTP_HOST") or None,
            smtp_port=int(os.environ.get("SMTP_PORT", "25")),
            smtp_from=os.environ.get("SMTP_FROM", "noreply@localhost"),
            trusted_proxies=os.environ.get("TRUSTED_PROXIES", "").strip(),
            platform_id=os.environ.get("MARKET_PLATFORM_ID", "local-market"),
            platform_key_file=Path(os.environ.get("MARKET_PLATFORM_KEY_FILE")
                                   or var_dir / "keyholders" / "platform.key"),
        )
        values.update(overrides)
        if not PLATFORM_ID.fullmatch(values["platform_id"]):
            raise ValueError(f"MARKET_PLATFORM_ID={values['platform_id']!r} is not [a-z0-9-]{{1,32}}")
        return cls(**values)

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
