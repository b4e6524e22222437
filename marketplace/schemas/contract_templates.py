"""The contract templates' outputs (admins' API)."""

from __future__ import annotations

from pydantic import BaseModel


class ContractTemplateOut(BaseModel):
    """A service category's contract template: the built-in `default` or an `uploaded` .docx."""
    category: str
    category_id: int
    source: str  # default | uploaded
    filename: str
    size: int
    sha256: str
    updated_at: str | None
    updated_by: str
    download_url: str
