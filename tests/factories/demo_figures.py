"""The headline figures the demo practice implies, computed from its records in plain Python.

This is a second, independent implementation of the metric definitions in docs/metrics.md, used to
check the whole chain (files -> importers -> database -> dbt) end to end: `crm demo` must show
exactly these numbers. It works from the generator's records, never from the database.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from consulting_crm.demo.practice import Practice, Project

STAGE_PROBABILITY = {
    "qualification": Decimal("0.10"),
    "proposal": Decimal("0.40"),
    "negotiation": Decimal("0.70"),
    "won": Decimal("1.00"),
    "lost": Decimal("0.00"),
}
OPEN_STAGES = ("qualification", "proposal", "negotiation")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class HeadlineFigures:
    open_opportunity_count: int
    open_pipeline_amount: Decimal
    weighted_pipeline_amount: Decimal
    won_count_ttm: int
    lost_count_ttm: int
    won_amount_ttm: Decimal
    lost_amount_ttm: Decimal
    win_rate_count_ttm: Decimal | None
    revenue_ttm: Decimal
    paying_clients_ttm: int
    top1_share: Decimal | None
    hhi: Decimal | None
    clients_for_80pct: int | None


def _month(day: date) -> date:
    return day.replace(day=1)


def _months_between(first: date, last: date) -> int:
    return (last.year - first.year) * 12 + last.month - first.month + 1


def _add_month(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def monthly_revenue(project: Project) -> dict[date, Decimal]:
    """A won project's amount spread evenly over its delivery months (the last month takes the
    rounding remainder); without both dates, all of it in the close month."""
    if project.stage != "won":
        return {}
    amount = Decimal(project.amount)
    if project.start_date and project.end_date:
        first, last = _month(project.start_date), _month(project.end_date)
    else:
        first = last = _month(project.close_date)
    count = _months_between(first, last)
    share = (amount / count).quantize(CENT, rounding=ROUND_HALF_UP)
    spread, month = {}, first
    for number in range(1, count + 1):
        spread[month] = share if number < count else amount - share * (count - 1)
        month = _add_month(month)
    return spread


def headline_figures(practice: Practice, projects: list[Project] | None = None) -> HeadlineFigures:
    """Pipeline and revenue-concentration figures as of ``practice.as_of``."""
    as_of = practice.as_of
    projects = practice.projects if projects is None else projects
    open_deals = [p for p in projects if p.stage in OPEN_STAGES and p.created_at.date() <= as_of]
    window_start = as_of - timedelta(days=365)
    closed = [
        p for p in projects if p.stage in ("won", "lost") and window_start < p.close_date <= as_of
    ]
    won = [p for p in closed if p.stage == "won"]
    lost = [p for p in closed if p.stage == "lost"]
    weighted = sum((Decimal(p.amount) * STAGE_PROBABILITY[p.stage] for p in open_deals), Decimal(0))

    ttm_last = _month(as_of)
    ttm_first = ttm_last
    for _ in range(11):
        ttm_first = (ttm_first - timedelta(days=1)).replace(day=1)
    by_client: dict[int, Decimal] = defaultdict(Decimal)
    for project in projects:
        for month, value in monthly_revenue(project).items():
            if ttm_first <= month <= ttm_last:
                by_client[project.account.key] += value
    revenues = sorted((v for v in by_client.values() if v > 0), reverse=True)
    total = sum(revenues, Decimal(0))
    hhi = top1 = None
    clients_for_80 = None
    if total > 0:
        top1 = (revenues[0] / total).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)
        hhi = sum(((100 * v / total) ** 2 for v in revenues), Decimal(0)).quantize(
            CENT, rounding=ROUND_HALF_UP
        )
        running = Decimal(0)
        for rank, value in enumerate(revenues, start=1):
            running += value
            if running >= Decimal("0.8") * total:
                clients_for_80 = rank
                break
    decided = len(won) + len(lost)
    return HeadlineFigures(
        open_opportunity_count=len(open_deals),
        open_pipeline_amount=Decimal(sum(p.amount for p in open_deals)).quantize(CENT),
        weighted_pipeline_amount=weighted.quantize(CENT, rounding=ROUND_HALF_UP),
        won_count_ttm=len(won),
        lost_count_ttm=len(lost),
        won_amount_ttm=Decimal(sum(p.amount for p in won)).quantize(CENT),
        lost_amount_ttm=Decimal(sum(p.amount for p in lost)).quantize(CENT),
        win_rate_count_ttm=(
            (Decimal(len(won)) / decided).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)
            if decided
            else None
        ),
        revenue_ttm=total.quantize(CENT),
        paying_clients_ttm=len(revenues),
        top1_share=top1,
        hhi=hhi,
        clients_for_80pct=clients_for_80,
    )
