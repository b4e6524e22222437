"""Inputs of ratings, appeals, violations and list decisions."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


Stars = Annotated[int, Field(ge=1, le=5)]


class RatingIn(_In):
    quality: Stars
    timeliness: Stars
    fee_compliance: Stars
    attitude: Stars
    comment: Annotated[str, Field(min_length=1, max_length=2000)]


class AppealIn(_In):
    reason: Annotated[str, Field(min_length=1, max_length=5000)]


class AppealDecisionIn(_In):
    decision: Literal["uphold", "dismiss"]
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class ViolationIn(_In):
    agency_code: Annotated[str, Field(min_length=18, max_length=18)]
    severity: Literal["minor", "major", "severe"]
    kind: Annotated[str, Field(min_length=1, max_length=40)]
    description: Annotated[str, Field(min_length=1, max_length=5000)]
    evidence: Annotated[str, Field(min_length=1, max_length=5000)]


class LiftIn(_In):
    reason: Annotated[str, Field(min_length=1, max_length=1000)]
