"""ASGI entry point: `uvicorn app.asgi:app` (add `--workers N` on PostgreSQL + Redis)."""

from app.main import create_app

app = create_app()
