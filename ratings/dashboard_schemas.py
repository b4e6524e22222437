"""The savings dashboard's API output (GET /api/reports/savings/dashboard)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from ratings.schemas import SavingsSummaryOut

if TYPE_CHECKING:
    from ratings.services.savings_dashboard import Dashboard


class SelectionTimeOut(BaseModel):
    """Days from publication to award over a set of awarded jobs (0.01 day, rounded half-up; null for none)."""

    count: int
    median_days: str | None = Field(description="The middle job's days, or the mean of the two middle ones.")
    mean_days: str | None
    shortest_days: str | None
    longest_days: str | None


class SelectionTimesOut(BaseModel):
    overall: SelectionTimeOut
    by_month: dict[str, SelectionTimeOut] = Field(description="By month of award (YYYY-MM, Beijing time).")


class AgencyAwardsOut(SavingsSummaryOut):
    """A winning agency's awarded jobs, summarised like a group of the savings report."""

    credit_code: str
    name: str


class SavingsDashboardOut(BaseModel):
    """The savings report's figures for the filters, grouped four ways (each group equals the same group of
    `/api/reports/savings?group_by=...`), the selection time per month and the top 10 agencies by awarded amount.
    Money as decimal strings, rates to 4 places."""

    baseline: str
    overall: SavingsSummaryOut
    by_month: dict[str, SavingsSummaryOut]
    by_method: dict[str, SavingsSummaryOut]
    by_category: dict[str, SavingsSummaryOut]
    by_district: dict[str, SavingsSummaryOut] = Field(description='"-" for jobs without a district.')
    selection_time: SelectionTimesOut
    top_agencies: list[AgencyAwardsOut] = Field(description="By total awarded, descending; ties by credit code.")

    @classmethod
    def of(cls, dashboard: Dashboard) -> SavingsDashboardOut:
        return cls.model_validate(dashboard.to_json())
