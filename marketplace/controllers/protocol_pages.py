"""The draw protocol and its reference verifier, served by the site itself (so a draw page can say
"download this and run it" without sending anyone to a code repository)."""

from __future__ import annotations

from functools import cache

from litestar import Request, Response, get
from litestar.response import Template
from markdown_it import MarkdownIt

from app.auth import PUBLIC, roles
from app.settings import ROOT
from marketplace.controllers.page_helpers import render_page

VERIFIER = ROOT / "scripts" / "verify_draw.py"
SEAL_VERIFIER = ROOT / "scripts" / "verify_seal.py"
PROTOCOL = ROOT / "docs" / "marketdraw-v1.md"
VECTORS = ROOT / "tests" / "data" / "marketdraw-v1-vectors.json"


@cache
def protocol_html() -> str:
    """docs/marketdraw-v1.md as HTML (CommonMark with tables; raw HTML in the source is escaped)."""
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    return md.render(PROTOCOL.read_text("utf-8"))


def _file(path, media_type: str, filename: str) -> Response:
    return Response(path.read_bytes(), media_type=media_type, headers={
        "content-disposition": f'attachment; filename="{filename}"', "x-content-type-options": "nosniff",
        "cache-control": "public, max-age=3600"})


@get("/verify/verify_draw.py", opt=roles(PUBLIC), include_in_schema=False)
async def download_verifier() -> Response:
    """The reference verifier: one file, Python 3 standard library only."""
    return _file(VERIFIER, "text/x-python; charset=utf-8", "verify_draw.py")


@get("/verify/verify_seal.py", opt=roles(PUBLIC), include_in_schema=False)
async def download_seal_verifier() -> Response:
    """Its companion for sealed records (marketseal-v1): Python 3 plus the cryptography package; it goes in the
    same directory as verify_draw.py, which imports it."""
    return _file(SEAL_VERIFIER, "text/x-python; charset=utf-8", "verify_seal.py")


@get("/protocol/marketdraw-v1.md", opt=roles(PUBLIC), include_in_schema=False)
async def download_protocol() -> Response:
    return _file(PROTOCOL, "text/markdown; charset=utf-8", "marketdraw-v1.md")


@get("/protocol/marketdraw-v1-vectors.json", opt=roles(PUBLIC), include_in_schema=False)
async def download_vectors() -> Response:
    """Known answers of the protocol, for anyone writing a verifier of their own."""
    return _file(VECTORS, "application/json", "marketdraw-v1-vectors.json")


@get("/protocol/marketdraw-v1", opt=roles(PUBLIC))
async def protocol_page(request: Request) -> Template:
    return await render_page(request, "marketplace/jobs/protocol.html", body=protocol_html())


route_handlers = [download_verifier, download_seal_verifier, download_protocol, download_vectors, protocol_page]
