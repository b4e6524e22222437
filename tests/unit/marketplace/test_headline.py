"""The home page's headline figures (marketplace.domain.headline): DESIGN "Savings report" arithmetic."""

from decimal import Decimal

from marketplace.domain.headline import headline, savings_rate


def test_saved_and_rate_over_the_awarded_jobs():
    h = headline(5, 2, Decimal("150000.00"), Decimal("119000.50"))
    assert (h.published, h.awarded) == (5, 2)
    assert h.total_saved == Decimal("30999.50") and h.savings_rate == Decimal("0.2067") and h.savings_percent == "20.67"


def test_sums_as_the_database_returns_them_are_taken_to_the_cent():
    h = headline(1, 1, 100000.00000001, "79000.5")
    assert h.awarded_caps == Decimal("100000.00") and h.total_awarded == Decimal("79000.50")
    assert h.savings_rate == Decimal("0.2100")  # 0.209995 half-up


def test_no_awarded_job_has_no_rate():
    h = headline(3, 0, 0, None)
    assert h.total_saved == Decimal("0.00") and h.savings_rate is None and h.savings_percent is None
    assert savings_rate(Decimal(0), Decimal(0)) is None
    assert savings_rate(Decimal("200.00"), Decimal("200.00")) == Decimal("0.0000")
