"""The fake business behind the mock APIs: one company's marketing, sales and finance data.

`generate_business(seed, scale, as_of)` builds three years of history up to `as_of` plus a
horizon beyond it, all at once and deterministically. `BusinessView(business, now_ms)` is the
business as the vendors' APIs show it at one moment: what exists, its current state, and when it
last changed. Moving time forward (/_admin/advance) is therefore just a later view: new records
appear, existing ones change, recent ad days are restated, and nothing is lost.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np

from revenue_os_mock_apis.business.core import Calendar, salesforce_ids
from revenue_os_mock_apis.business.finance import Finance, generate_finance
from revenue_os_mock_apis.business.marketing import Programs, generate_programs
from revenue_os_mock_apis.business.people import (
    Companies,
    Contacts,
    add_duplicates_and_archive,
    generate_companies,
    generate_contacts,
)
from revenue_os_mock_apis.business.pipeline import Pipeline, generate_pipeline
from revenue_os_mock_apis.business.touches import Touches, generate_touches
from revenue_os_mock_apis.business.view import BusinessView

__all__ = ["Business", "BusinessView", "generate_business"]


@dataclass
class Business:
    seed: int
    scale: float
    calendar: Calendar
    companies: Companies
    programs: Programs
    contacts: Contacts
    touches: Touches
    pipeline: Pipeline
    finance: Finance
    hs_id: np.ndarray
    hs_order: np.ndarray
    account_id: np.ndarray
    contact_id: np.ndarray
    opportunity_id: np.ndarray
    history_id: np.ndarray
    campaign_id: np.ndarray
    generation_seconds: float

    @property
    def as_of(self) -> date:
        return self.calendar.as_of


class _Progress:
    """Step timings on stderr, so a long generation (scale 10) shows it is alive."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.started = time.perf_counter()

    def __call__(self, message: str) -> None:
        if self.enabled:
            elapsed = time.perf_counter() - self.started
            print(f"[mock-apis] {elapsed:6.1f} s  {message}", file=sys.stderr, flush=True)


def _ids_in_order(prefix: str, created: np.ndarray, seed: int) -> np.ndarray:
    """Salesforce ids increase with insertion time, as on the platform."""
    order = np.argsort(created, kind="stable")
    ids = np.empty(created.size, dtype=object)
    ids[order] = salesforce_ids(prefix, created.size, seed)
    return ids


def generate_business(
    seed: int,
    scale: float,
    as_of: date,
    horizon_days: int = 92,
    *,
    progress: bool | Callable[[str], None] = False,
) -> Business:
    report = progress if callable(progress) else _Progress(bool(progress))
    started = time.perf_counter()
    calendar = Calendar(as_of, horizon_days)
    companies, pools = generate_companies(seed, scale)
    report(f"{companies.size} companies")
    programs = generate_programs(seed, scale, calendar)
    report(f"{programs.size} campaigns, {programs.days.day.size} ad campaign-days")
    contacts = generate_contacts(seed, scale, calendar, companies, pools, programs)
    contacts = add_duplicates_and_archive(seed, contacts, calendar, pools)
    report(f"{contacts.size} HubSpot contacts")
    pipeline = generate_pipeline(seed, scale, calendar, companies, contacts, programs, pools)
    report(
        f"{pipeline.acct_company.size} accounts, {pipeline.opp_type.size} opportunities, "
        f"{pipeline.hist_opp.size} stage changes"
    )
    touches = generate_touches(seed, calendar, contacts, programs, companies.region)
    report(f"{touches.size} marketing touches")
    finance = generate_finance(seed, calendar, companies, pipeline)
    report(f"{finance.cust_id.size} ERP customers, {finance.line_id.size} invoice lines")

    hs_order = np.argsort(contacts.visible_ms, kind="stable")
    hs_id = np.empty(contacts.size, dtype=np.int64)
    gaps = np.random.default_rng([seed, 41]).integers(1, 4, contacts.size)
    hs_id[hs_order] = 1_000_000 + (seed % 997) * 10_000 + np.cumsum(gaps) * 50
    business = Business(
        seed=seed,
        scale=scale,
        calendar=calendar,
        companies=companies,
        programs=programs,
        contacts=contacts,
        touches=touches,
        pipeline=pipeline,
        finance=finance,
        hs_id=hs_id,
        hs_order=hs_order,
        account_id=_ids_in_order("001", pipeline.acct_created_ms, seed),
        contact_id=_ids_in_order("003", pipeline.con_visible_ms, seed),
        opportunity_id=_ids_in_order("006", pipeline.opp_visible_ms, seed),
        history_id=_ids_in_order("008", pipeline.hist_ms, seed),
        campaign_id=_ids_in_order("701", programs.created_ms, seed),
        generation_seconds=0.0,
    )
    business.generation_seconds = time.perf_counter() - started
    report(f"ready in {business.generation_seconds:.1f} s")
    return business
