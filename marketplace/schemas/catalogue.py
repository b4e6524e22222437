"""Schemas of the service catalogue (中介服务事项清单): the admins' departments and items (in), the public
catalogue API (out)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, field_validator

from app.i18n import gettext as _
from app.schemas import InputModel
from marketplace.domain.catalogue import LEVELS, valid_code
from marketplace.schemas.fields import Str100, Str200

Code = Annotated[str, Field(min_length=1, max_length=32)]
Order = Annotated[int, Field(ge=0, le=10000)]


def _code(v: str) -> str:
    v = v.upper()
    if not valid_code(v):
        raise ValueError(_("Use capital letters and digits, in parts joined by dashes (for example EIA-01)."))
    return v


class DepartmentIn(InputModel):
    code: Code
    name_zh: Str100
    name_en: Str200
    active: bool = True
    sort_order: Order = 0

    @field_validator("code")
    @classmethod
    def _check_code(cls, v: str) -> str:
        return _code(v)


class ItemIn(InputModel):
    code: Code
    name_zh: Str200
    name_en: Annotated[str, Field(min_length=1, max_length=300)]
    category_code: Code
    approval_item_zh: Annotated[str, Field(min_length=1, max_length=300)]
    approval_item_en: Annotated[str, Field(max_length=400)] = ""
    department_code: Code
    legal_basis: Annotated[str, Field(max_length=2000)] = ""
    min_level: int = 3
    active: bool = True
    sort_order: Order = 0

    @field_validator("code")
    @classmethod
    def _check_code(cls, v: str) -> str:
        return _code(v)

    @field_validator("min_level", mode="before")
    @classmethod
    def _level_text(cls, v):
        return int(v) if isinstance(v, str) and v.strip().lstrip("-").isdigit() else v

    @field_validator("min_level")
    @classmethod
    def _level(cls, v: int) -> int:
        if v not in LEVELS:
            raise ValueError(_("The level must be 1 (Class A), 2 (Class B) or 3 (Class C)."))
        return v


# ---- outputs ----------------------------------------------------------------

class DepartmentOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    active: bool
    sort_order: int


class ItemOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    category: str
    approval_item_zh: str
    approval_item_en: str
    department: DepartmentOut
    legal_basis: str
    min_level: int
    active: bool
    sort_order: int
    url: str


class ItemListOut(BaseModel):
    items: list[ItemOut]
    total: int
    page: int
    per_page: int


class ItemStatsOut(BaseModel):
    """Over the item's public jobs; savings over the awarded ones (`savings_rate` = Σ saved / Σ cap, 4 places)."""
    jobs: int
    total_caps: str
    awarded: int
    awarded_caps: str
    total_awarded: str
    total_saved: str
    savings_rate: str | None


class ItemJobOut(BaseModel):
    job_id: str
    title: str
    status: str
    budget_cap: str
    min_level: int
    published_at: str | None
    url: str


class ItemDetailOut(ItemOut):
    statistics: ItemStatsOut
    jobs: list[ItemJobOut]
    jobs_total: int
    page: int
    per_page: int


class DepartmentListOut(BaseModel):
    items: list[DepartmentOut]
