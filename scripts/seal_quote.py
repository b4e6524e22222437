"""Seal a quote for a sealed job (marketseal-v1, "Sealing a quote") on your own machine, for API clients.

    python scripts/seal_quote.py https://market.example.cn/jobs/J2026-00001 --agency-code 91330100MA2XXXXX0X \\
        --price 85000.00 --service-days 30 --note "…"            # prints the envelope JSON
    python scripts/seal_quote.py notice.json --agency-code … --price … --service-days …   # a saved notice
    … --post --cookie "session=…" --csrf-token …                 # and submit it: POST /api/jobs/{job}/quote

The notice (the job's JSON, `GET /api/jobs/{job_no}`, or a file holding it) must carry `sealing`. The script
refuses to seal unless every holder's register statement verifies under its signing key and names the
notice's platform, job and deadline (the core's `notice_problem`); it prints the holders' ids on stderr.
Only the envelope is printed or sent: the price never leaves this machine in the clear. Standard library,
`cryptography` and the sealing core (``marketplace.domain.sealing``) only.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from marketplace.domain.sealing import canonical, envelope_digest, notice_holders, notice_problem, seal_quote
from marketplace.domain.sealing_notice import holder_deadline

JOB_URL = re.compile(r"^(?P<base>https?://[^/]+)(?:/api)?/jobs/(?P<job>[^/?#]+)")
PRICE = re.compile(r"(0|[1-9][0-9]*)(\.[0-9]{1,2})?")


class Refused(Exception):
    """A reason not to seal (or not to send)."""


def api_url(job: str) -> str | None:
    """`https://host/api/jobs/J…` for a job page or API URL; None for a file path."""
    m = JOB_URL.match(job)
    return f"{m['base']}/api/jobs/{m['job']}" if m else None


def load_notice(job: str) -> dict[str, Any]:
    """The notice JSON from its URL or a file."""
    url = api_url(job)
    if url is None:
        return json.loads(Path(job).read_text(encoding="utf-8"))
    with urllib.request.urlopen(urllib.request.Request(url, headers={"accept": "application/json"}),
                                timeout=30) as answer:
        return json.loads(answer.read())


def normal_price(text: str) -> str:
    """`85000` or `85000.5` as the protocol's `85000.00`; refuses anything else."""
    text = text.strip().lstrip("0") or "0"
    if text.startswith("."):
        text = "0" + text
    if not PRICE.fullmatch(text):
        raise Refused(f"the price {text!r} is not a number with at most 2 decimals")
    whole, _, frac = text.partition(".")
    return f"{whole}.{(frac + '00')[:2]}"


def cents(price: str) -> int:
    whole, _, frac = price.partition(".")
    return int(whole) * 100 + int(frac or "0")


def seal(notice: dict[str, Any], *, agency_code: str, price: str, service_days: int, note: str) -> dict[str, Any]:
    """Check the notice and the price rules, and seal: the envelope (a JSON-ready dict)."""
    sealing = notice.get("sealing")
    if not sealing:
        raise Refused("this job is not sealed (the notice has no `sealing`): quote with the plain price")
    job_id = notice["job_id"]
    deadline = holder_deadline(datetime.fromisoformat(notice["quote_deadline"]))
    problem = notice_problem(sealing, job_id=job_id, deadline=deadline)
    if problem is not None:
        raise Refused(f"the notice's key holder statements do not verify: {problem}")
    price = normal_price(price)
    cap = notice.get("budget_cap")
    if cents(price) <= 0 or (cap is not None and cents(price) > cents(normal_price(str(cap)))):
        raise Refused(f"the price must be above 0 and not above the cap {cap}")
    if not 0 <= service_days <= 36500:
        raise Refused("service days must be 0..36500")
    print(f"sealing to {job_id}: holders {', '.join(h['id'] for h in sealing['holders'])}, "
          f"threshold {sealing['threshold']}, deadline {deadline}", file=sys.stderr)
    return seal_quote(job_id=job_id, agency_code=agency_code, holders=notice_holders(sealing),
                      threshold=sealing["threshold"], price=price, service_days=service_days, note=note).envelope


def post(url: str, envelope: dict[str, Any], cookie: str, csrf_token: str) -> tuple[int, str]:
    """POST `{"envelope": …}` to the job's quote endpoint; (status, body)."""
    request = urllib.request.Request(f"{url}/quote", data=canonical({"envelope": envelope}), method="POST",
                                     headers={"content-type": "application/json", "accept": "application/json",
                                              "cookie": cookie, "x-csrf-token": csrf_token})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("job", help="the job's page or API URL, or a file holding the notice JSON")
    parser.add_argument("--agency-code", required=True, help="your agency's unified social credit code")
    parser.add_argument("--price", required=True, help="yuan, at most 2 decimals, e.g. 85000.00")
    parser.add_argument("--service-days", required=True, type=int)
    parser.add_argument("--note", default="")
    parser.add_argument("--post", action="store_true", help="submit the envelope (needs --cookie, --csrf-token)")
    parser.add_argument("--cookie", default="", help='the signed-in session cookie header, e.g. "session=…"')
    parser.add_argument("--csrf-token", default="", help="the CSRF token of that session")
    args = parser.parse_args(argv)
    try:
        notice = load_notice(args.job)
        envelope = seal(notice, agency_code=args.agency_code, price=args.price, service_days=args.service_days,
                        note=args.note)
        if not args.post:
            print(canonical(envelope).decode("utf-8"))
            return 0
        url = api_url(args.job)
        if url is None or not args.cookie or not args.csrf_token:
            raise Refused("--post needs the job's URL, --cookie and --csrf-token")
        status, body = post(url, envelope, args.cookie, args.csrf_token)
    except Refused as e:
        print(f"refused: {e}", file=sys.stderr)
        return 2
    print(f"envelope_digest {envelope_digest(envelope)}", file=sys.stderr)
    print(body)
    return 0 if status == 201 else 1


if __name__ == "__main__":
    sys.exit(main())
