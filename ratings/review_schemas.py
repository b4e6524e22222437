"""Inputs of reviews by approving departments and of reviewer accounts (ratings.services.reviews)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.schemas import NewAccount

Stars = Annotated[int, Field(ge=1, le=5)]


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    result_quality: Stars
    compliance: Stars
    comment: Annotated[str, Field(min_length=1, max_length=2000)]


class ReviewerIn(NewAccount):
    """A reviewer account: user name, initial password, name and the approving department's code."""

    display_name: Annotated[str, Field(min_length=1, max_length=100)]
    department_code: Annotated[str, Field(min_length=1, max_length=32)]
