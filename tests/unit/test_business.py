"""The fake business behind the mock APIs: deterministic, at the promised scale, coherent.

Everything here is checked on the generated data directly (no HTTP); expected values are
recomputed from the raw arrays, not read back from the code that produced them.
"""

from __future__ import annotations

import hashlib
import re
import time
from datetime import date

import numpy as np
import pytest

from revenue_os_mock_apis.business import BusinessView, generate_business
from revenue_os_mock_apis.business.core import DAY_MS, NEVER, date_to_ms
from revenue_os_mock_apis.business.marketing import (
    KIND_BRAND,
    KIND_DISPLAY,
    KIND_LINKEDIN,
    KIND_NONBRAND,
)
from revenue_os_mock_apis.business.people import CHANNELS, STAGE_SQL
from revenue_os_mock_apis.business.touches import AD_CLICK
from revenue_os_mock_apis.business.view import diff_views

AS_OF = date(2026, 11, 1)
# Targets at scale 1 (the brief): contacts, touches, opportunities, invoice lines, ad rows.
TARGETS = {
    "hubspot.contacts": 50_000,
    "hubspot.events": 500_000,
    "salesforce.opportunities": 10_000,
    "netsuite.invoice_lines": 100_000,
    "ad_rows": 100_000,
}


@pytest.fixture(scope="module")
def business():
    return generate_business(7, 0.1, AS_OF)


@pytest.fixture(scope="module")
def view(business):
    return BusinessView(business, business.calendar.now_ms)


def _rows(view, name, include_deleted=True):
    frame = view.frame(name)
    return frame, frame.visible_rows(include_deleted)


def _values(frame, rows, column):
    return frame.column(column).values[rows]


def _checksum(business) -> str:
    digest = hashlib.sha256()
    c, p, f, t = business.contacts, business.pipeline, business.finance, business.touches
    for array in (
        c.created_ms,
        c.stage_ms,
        t.occurred_ms,
        t.id_hi,
        t.program,
        p.hist_amount,
        p.opp_created_ms,
        f.line_rate,
        f.line_trandate,
        business.programs.days.cost,
    ):
        digest.update(np.ascontiguousarray(array).tobytes())
    for strings in (c.email, c.utm_campaign, p.con_email, business.account_id, f.cust_name):
        digest.update("\x1f".join(map(str, strings)).encode())
    return digest.hexdigest()


def test_same_seed_gives_identical_data_and_another_seed_differs():
    first = generate_business(11, 0.02, AS_OF)
    second = generate_business(11, 0.02, AS_OF)
    other = generate_business(12, 0.02, AS_OF)
    assert _checksum(first) == _checksum(second)
    assert _checksum(first) != _checksum(other)


def test_scale_point_one_is_a_tenth_of_the_targets(view):
    counts = view.counts()
    counts["ad_rows"] = {
        "total": counts["google_ads.campaign_days"]["total"]
        + counts["linkedin_ads.campaign_days"]["total"]
    }
    for name, target in TARGETS.items():
        measured = counts[name]["total"] * 10
        assert 0.8 * target <= measured <= 1.2 * target, (name, measured, target)


def test_generation_is_fast(business):
    assert business.generation_seconds < 10  # scale 0.1; scale 1 is measured in the docs


def test_three_years_of_history_with_growth_and_seasonality(business):
    calendar = business.calendar
    created = business.contacts.created_ms[business.contacts.created_ms < calendar.now_ms]
    assert created.min() >= date_to_ms(date(2023, 11, 1))
    yearly = [
        ((created >= date_to_ms(date(y, 11, 1))) & (created < date_to_ms(date(y + 1, 11, 1)))).sum()
        for y in (2023, 2024, 2025)
    ]
    assert yearly[0] < yearly[1] < yearly[2]
    months = created.astype("datetime64[ms]").astype("datetime64[M]").astype(int) % 12
    per_month = np.bincount(months, minlength=12)
    assert per_month[7] < per_month[9] and per_month[7] < per_month[10]  # August dip, Q4 peak


def test_every_opportunity_points_at_an_existing_account(view):
    accounts, account_rows = _rows(view, "salesforce.accounts")
    opps, opp_rows = _rows(view, "salesforce.opportunities")
    account_ids = set(_values(accounts, account_rows, "Id"))
    assert opp_rows.size > 0
    assert set(_values(opps, opp_rows, "AccountId")) <= account_ids
    live_accounts = set(_values(accounts, account_rows[~accounts.deleted[account_rows]], "Id"))
    live_opps = opp_rows[~opps.deleted[opp_rows]]
    assert set(_values(opps, live_opps, "AccountId")) <= live_accounts  # children move on merge


def test_primary_contacts_and_campaigns_exist_and_some_opportunities_have_none(view):
    contacts, contact_rows = _rows(view, "salesforce.contacts")
    campaigns, campaign_rows = _rows(view, "salesforce.campaigns")
    opps, opp_rows = _rows(view, "salesforce.opportunities")
    contact_ids = _values(opps, opp_rows, "ContactId")
    with_contact = [c for c in contact_ids if c is not None]
    assert set(with_contact) <= set(_values(contacts, contact_rows, "Id"))
    assert 0.05 < 1 - len(with_contact) / len(contact_ids) < 0.5
    campaign_ids = [c for c in _values(opps, opp_rows, "CampaignId") if c is not None]
    assert campaign_ids and set(campaign_ids) <= set(_values(campaigns, campaign_rows, "Id"))


def test_netsuite_customers_link_to_accounts_only_by_externalid(view):
    customers, customer_rows = _rows(view, "netsuite.customers")
    accounts, account_rows = _rows(view, "salesforce.accounts")
    account_ids = set(_values(accounts, account_rows, "Id"))
    external = [x for x in _values(customers, customer_rows, "externalid") if x is not None]
    assert external and set(external) <= account_ids
    assert len(external) < customer_rows.size  # some customers exist only in the ERP
    # Names differ between the systems: the ERP keeps the legal name.
    by_id = dict(
        zip(
            _values(accounts, account_rows, "Id"),
            _values(accounts, account_rows, "Name"),
            strict=True,
        )
    )
    names = dict(
        zip(
            _values(customers, customer_rows, "externalid"),
            _values(customers, customer_rows, "companyname"),
            strict=True,
        )
    )
    differing = sum(1 for ext, name in names.items() if ext and by_id[ext] != name)
    assert differing > 0.5 * len(external)
    # Salesforce's own back-link is filled for most customer accounts, not all.
    back_links = [x for x in _values(accounts, account_rows, "External_Id__c") if x is not None]
    assert 0 < len(back_links) < len(external) + 5


def test_hubspot_contacts_synced_to_salesforce_point_at_real_contacts(view):
    hub, hub_rows = _rows(view, "hubspot.contacts")
    contacts, contact_rows = _rows(view, "salesforce.contacts")
    synced = [x for x in _values(hub, hub_rows, "salesforcecontactid") if x is not None]
    assert synced and set(synced) <= set(_values(contacts, contact_rows, "Id"))


def test_paid_touches_carry_utm_campaigns_of_real_ad_campaigns(business, view):
    touches = business.touches
    upper = view.events_upper()
    paid = np.flatnonzero((touches.type[:upper] == AD_CLICK) & (touches.utm_source[:upper] >= 0))
    assert paid.size > 100
    names = business.programs.name[
        np.isin(business.programs.kind, (KIND_BRAND, KIND_NONBRAND, KIND_DISPLAY, KIND_LINKEDIN))
    ]
    slugs = {re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") for name in names}
    values = business.programs.campaign_variants[touches.program[paid], touches.utm_variant[paid]]
    folded = [re.sub(r"[^a-z0-9]+", "-", str(v).lower()).strip("-") for v in values]
    matched = sum(1 for v in folded if v in slugs)
    assert 0.9 < matched / len(folded) < 1.0  # most match; typos do not
    assert any(v != v.lower() for v in values)  # case mess survives to the API


def test_salesforce_campaigns_are_named_like_the_ad_campaigns(business, view):
    campaigns, rows = _rows(view, "salesforce.campaigns")
    crm_names = set(_values(campaigns, rows, "Name"))
    programs = business.programs
    ad = np.flatnonzero(
        np.isin(programs.kind, (KIND_NONBRAND, KIND_LINKEDIN)) & (programs.created_ms < view.now_ms)
    )
    assert {programs.name[i] for i in ad} <= crm_names


def test_emails_differ_in_case_or_spaces_between_hubspot_and_salesforce(business):
    pipeline, contacts = business.pipeline, business.contacts
    linked = np.flatnonzero(pipeline.con_hs >= 0)
    hub = contacts.email[pipeline.con_hs[linked]]
    crm = pipeline.con_email[linked]
    differs = [(h, c) for h, c in zip(hub, crm, strict=True) if c is not None and c != h]
    assert differs
    assert all(c.strip().lower() == h for h, c in differs)
    assert any(c != c.strip() for _, c in differs)


def test_duplicate_hubspot_contacts_are_the_same_person(business):
    contacts = business.contacts
    duplicates = np.flatnonzero(contacts.duplicate_of >= 0)
    assert duplicates.size > 0.01 * contacts.size
    originals = contacts.duplicate_of[duplicates]
    assert (contacts.first[duplicates] == contacts.first[originals]).all()
    assert (contacts.company[duplicates] == contacts.company[originals]).all()
    assert (contacts.email[duplicates] != contacts.email[originals]).all()


def test_merged_salesforce_records_point_at_a_surviving_master(view):
    for name in ("salesforce.accounts", "salesforce.contacts"):
        frame, rows = _rows(view, name)
        masters = _values(frame, rows, "MasterRecordId")
        merged = rows[[m is not None for m in masters]]
        assert merged.size > 0, name
        assert frame.column("IsDeleted").values[merged].all()
        live_ids = set(_values(frame, rows[~frame.deleted[rows]], "Id"))
        assert {m for m in masters if m is not None} <= live_ids


def test_invoices_in_three_currencies_with_negative_net_amounts(view):
    lines, rows = _rows(view, "netsuite.invoice_lines")
    currency = _values(lines, rows, "currency")
    rate = _values(lines, rows, "exchangerate")
    assert set(currency) == {"USD", "EUR", "GBP"}
    assert (rate[currency == "USD"] == 1.0).all()
    assert 0.95 < rate[currency == "EUR"].mean() < 1.25
    assert 1.1 < rate[currency == "GBP"].mean() < 1.45
    expected = -np.round(_values(lines, rows, "quantity") * _values(lines, rows, "rate"), 2)
    assert np.allclose(_values(lines, rows, "netamount"), expected)
    assert (_values(lines, rows, "netamount") < 0).all()


def test_products_have_clearly_different_margins(view):
    items, rows = _rows(view, "netsuite.items")
    margin = 1 - _values(items, rows, "cost") / _values(items, rows, "baseprice")
    assert margin.max() - margin.min() > 0.5


def test_customers_renew_expand_and_churn(view):
    opps, rows = _rows(view, "salesforce.opportunities", include_deleted=False)
    kind = _values(opps, rows, "Type")
    stage = _values(opps, rows, "StageName")
    for name in ("Renewal", "Expansion"):
        assert ((kind == name) & (stage == "Closed Won")).sum() > 5, name
    lost_renewals = ((kind == "Renewal") & (stage == "Closed Lost")).sum()
    won_renewals = ((kind == "Renewal") & (stage == "Closed Won")).sum()
    assert 0.03 < lost_renewals / (lost_renewals + won_renewals) < 0.4
    assert (~_values(opps, rows, "IsClosed")).sum() > 0  # open pipeline at as-of


def test_linkedin_burns_money_and_brand_search_is_efficient(business, view):
    contacts, now = business.contacts, view.now_ms
    cost_per_sql = {}
    for platform, kind, channel in (
        ("google_ads", KIND_BRAND, "brand"),
        ("linkedin_ads", KIND_LINKEDIN, "linkedin"),
    ):
        ads = view.ad_rows(platform)
        in_kind = business.programs.kind[ads.program] == kind
        eur = business.programs.region[ads.program] == 1
        spend_usd = (ads.cost * np.where(eur & (kind != KIND_LINKEDIN), 1.08, 1.0))[in_kind].sum()
        sqls = (
            (contacts.channel == CHANNELS.index(channel)) & (contacts.stage_ms[:, STAGE_SQL] < now)
        ).sum()
        cost_per_sql[channel] = spend_usd / max(sqls, 1)
    assert cost_per_sql["linkedin"] > 4 * cost_per_sql["brand"]


def test_some_records_arrive_late(business):
    contacts = business.contacts
    late = contacts.visible_ms - contacts.created_ms >= 2 * DAY_MS
    assert 0.01 < late.mean() < 0.06


def test_a_later_view_only_adds_and_changes_and_the_diff_is_the_incremental_delta(business, view):
    later = BusinessView(business, view.now_ms + 5 * DAY_MS)
    changes = diff_views(view, later)
    since = later.modified_since(view.now_ms)
    for name in (
        "hubspot.contacts",
        "salesforce.opportunities",
        "netsuite.invoice_lines",
        "hubspot.events",
    ):
        assert changes[name]["created"] > 0, name
        assert changes[name]["changed"] == since[name], name
        assert (
            (later.frame(name).visible >= view.frame(name).visible).all()
            if name != "hubspot.events"
            else True
        )
    assert changes["salesforce.opportunities"]["updated"] > 0  # stage changes of open deals
    assert changes["google_ads.campaign_days"]["restated"] > 0
    assert changes["google_ads.campaign_days"]["created"] > 0


def test_restatement_touches_only_the_last_days(business, view):
    later = BusinessView(business, view.now_ms + DAY_MS)
    before, after = view.ad_rows("google_ads"), later.ad_rows("google_ads")
    common = np.isin(after.row, before.row)
    position = np.searchsorted(before.row, after.row[common])
    changed = after.cost[common] != before.cost[position]
    days_changed = after.day[common][changed]
    assert changed.any()
    assert days_changed.min() >= view.now_day - 7


def test_as_of_is_the_configured_date_not_the_clock():
    earlier = generate_business(7, 0.01, date(2025, 3, 1))
    view = BusinessView(earlier, earlier.calendar.now_ms)
    frame = view.frame("salesforce.opportunities")
    stamps = frame.column("SystemModstamp").values[frame.visible]
    assert stamps.max() < date_to_ms(date(2025, 3, 1)) <= stamps.max() + 30 * DAY_MS
    assert earlier.calendar.start == date(2022, 3, 1)


@pytest.mark.parametrize("scale", [0.01])
def test_tiny_scale_keeps_every_structure(scale):
    started = time.perf_counter()
    tiny = generate_business(3, scale, AS_OF)
    assert time.perf_counter() - started < 5
    counts = BusinessView(tiny, tiny.calendar.now_ms).counts()
    for name, value in counts.items():
        assert value["total"] > 0, name
    assert tiny.pipeline.acct_ext_ms.min() < NEVER
