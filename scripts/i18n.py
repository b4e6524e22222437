"""Extract translatable strings into the Babel catalogs and report gaps.

    python scripts/i18n.py extract   # update app/locale/*/LC_MESSAGES/messages.po
    python scripts/i18n.py check     # exit 1 if any string lacks a zh_CN translation
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE_DIR = ROOT / "app" / "locale"
METHOD_MAP = [
    ("app/**.py", "python"), ("marketplace/**.py", "python"), ("ratings/**.py", "python"),
    ("templates/**.html", "jinja2"),
]
# ngettext's singular and plural are looked up as two plain messages (app.i18n.ngettext), so both are extracted so.
KEYWORDS = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None, "ngettext": (1, 2)}


def extract() -> Catalog:
    cat = Catalog(project="intermediary-market", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT), METHOD_MAP, keywords=KEYWORDS, options_map={"templates/**.html": {}}
    ):
        if filename.startswith(("tests", ".venv", "scripts")):
            continue
        for text in (message[:2] if isinstance(message, tuple) else (message,)):
            cat.add(text, None, [(filename, lineno)], auto_comments=comments, context=context)
    return cat


def po_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"


def load(locale: str) -> Catalog:
    path = po_path(locale)
    if not path.exists():
        return Catalog(locale=locale)
    with path.open("rb") as fh:
        return read_po(fh, locale=locale)


def update(locale: str, template: Catalog) -> Catalog:
    cat = load(locale)
    cat.update(template, no_fuzzy_matching=True)
    path = po_path(locale)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        write_po(fh, cat, sort_output=False, omit_header=False, ignore_obsolete=True, width=0)
    return cat


def missing(locale: str = "zh_CN") -> list[str]:
    template = extract()
    cat = load(locale)
    out = []
    for msg in template:
        if not msg.id:
            continue
        entry = cat.get(msg.id)
        if entry is None or not entry.string or entry.fuzzy:
            out.append(msg.id)
    return out


def main() -> None:
    cmd = sys.argv[1] if len(sys.argv) > 1 else "check"
    if cmd == "extract":
        template = extract()
        for locale in ("zh_CN",):
            update(locale, template)
        print(f"{len(template)} messages; zh_CN missing: {len(missing())}")
    else:
        gaps = missing()
        for m in gaps:
            print("missing zh_CN:", m)
        sys.exit(1 if gaps else 0)


if __name__ == "__main__":
    main()
