"""The layering of docs/architecture.md holds: scripts/import_graph.py finds no problem, and finds each kind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "import_graph.py"


def run(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--root", str(root)], capture_output=True, text=True)


def test_the_project_has_no_cycle_no_wrong_way_arrow_and_a_pure_core():
    result = run(ROOT)
    assert result.returncode == 0, result.stdout
    assert result.stdout.strip().endswith("0 problems")


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_a_cycle_hidden_in_a_function_is_found(tmp_path):
    write(tmp_path, {"app/__init__.py": "", "app/a.py": "import app.b\n",
                     "app/b.py": "def f():\n    from app import a\n",
                     "marketplace/__init__.py": "", "ratings/__init__.py": ""})
    result = run(tmp_path)
    assert result.returncode == 1
    assert "module cycle: app.a <-> app.b" in result.stdout


def test_app_importing_a_domain_outside_the_composition_root_is_found(tmp_path):
    write(tmp_path, {"app/__init__.py": "", "app/main.py": "import marketplace.x\n",
                     "app/web.py": "from marketplace.x import y\n",
                     "marketplace/__init__.py": "", "marketplace/x.py": "y = 1\n", "ratings/__init__.py": ""})
    result = run(tmp_path)
    assert result.returncode == 1
    assert "forbidden arrow app -> marketplace: app.web -> marketplace.x" in result.stdout
    assert "app.main" not in result.stdout.split("forbidden arrow")[1]


def test_marketplace_importing_ratings_is_found(tmp_path):
    write(tmp_path, {"app/__init__.py": "", "marketplace/__init__.py": "", "marketplace/s.py": "import ratings.m\n",
                     "ratings/__init__.py": "", "ratings/m.py": ""})
    result = run(tmp_path)
    assert result.returncode == 1
    assert "forbidden arrow marketplace -> ratings: marketplace.s -> ratings.m" in result.stdout


def test_a_pure_module_importing_the_database_is_found(tmp_path):
    write(tmp_path, {"app/__init__.py": "", "app/db.py": "", "app/canonical.py": "",
                     "marketplace/__init__.py": "", "marketplace/domain/__init__.py": "",
                     "marketplace/domain/ok.py": "import json\nfrom app.canonical import x\n",
                     "marketplace/domain/bad.py": "import sqlmodel\nfrom app import db\n",
                     "ratings/__init__.py": ""})
    result = run(tmp_path)
    assert result.returncode == 1
    assert "pure module marketplace.domain.bad imports: app.db, sqlmodel" in result.stdout
    assert "marketplace.domain.ok" not in result.stdout
