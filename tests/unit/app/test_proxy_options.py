"""Behind a reverse proxy, the bidder's address comes from X-Forwarded-For only when the proxy is trusted."""

import pytest
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app.__main__ import proxy_options
from app.settings import Settings


def settings(trusted: str) -> Settings:
    return Settings(database_url="sqlite+aiosqlite://", redis_url=None, secret_key="k", var_dir=".",
                    trusted_proxies=trusted)


async def client_seen(options: dict, peer: str, forwarded: str | None) -> str:
    seen = {}

    async def app(scope, receive, send):
        seen["client"] = scope["client"][0]

    wrapped = ProxyHeadersMiddleware(app, trusted_hosts=options["forwarded_allow_ips"]) \
        if options["proxy_headers"] else app
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    await wrapped({"type": "http", "client": (peer, 5000), "headers": headers, "scheme": "http"}, None, None)
    return seen["client"]


async def test_no_trusted_proxy_by_default_the_header_is_ignored():
    options = proxy_options(settings(""))
    assert options == {"proxy_headers": False}
    assert await client_seen(options, "203.0.113.9", "198.51.100.1") == "203.0.113.9"


@pytest.mark.parametrize("peer, forwarded, expected", [
    ("10.1.2.3", "198.51.100.7", "198.51.100.7"),               # trusted proxy: the bidder's address
    ("10.1.2.3", "198.51.100.7, 10.9.9.9", "198.51.100.7"),     # through two trusted hops
    ("203.0.113.9", "198.51.100.7", "203.0.113.9"),             # not a trusted proxy: header ignored
])
async def test_trusted_proxies_take_the_first_untrusted_forwarded_address(peer, forwarded, expected):
    options = proxy_options(settings("10.0.0.0/8"))
    assert options == {"proxy_headers": True, "forwarded_allow_ips": "10.0.0.0/8"}
    assert await client_seen(options, peer, forwarded) == expected
