"""The ERP side: NetSuite customers, items, invoice lines, inventory and exchange rates.

Invoices come from the billing plan the pipeline recorded (one invoice per customer and billing
date, one line per item); a few customers exist only in the ERP (web-shop hardware orders) and
have no CRM link at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from revenue_os_mock_apis.business.core import (
    DAY_MS,
    HOUR_MS,
    MINUTE_MS,
    NEVER,
    Calendar,
    obj_array,
    rng_for,
    truncate_to_minute,
)
from revenue_os_mock_apis.business.people import CURRENCIES, Companies
from revenue_os_mock_apis.business.pipeline import (
    GATEWAY,
    ITEMS,
    PRICE_BOOK,
    SENSORS,
    BillingPlan,
    Pipeline,
)

SUBSIDIARY_BY_CURRENCY = {"USD": "1", "GBP": "2", "EUR": "3"}
USD_PER = {"EUR": 1.08, "GBP": 1.27}
INVENTORY_ITEMS = (GATEWAY, SENSORS)


@dataclass
class Finance:
    cust_company: np.ndarray
    cust_id: np.ndarray
    cust_name: np.ndarray
    cust_email: np.ndarray
    cust_account: np.ndarray  # Salesforce account index behind externalid, -1 for ERP-only
    cust_currency: np.ndarray
    cust_created_ms: np.ndarray
    cust_inactive_ms: np.ndarray
    cust_reactivated_ms: np.ndarray
    cust_edit_ms: np.ndarray
    item_id: np.ndarray
    item_created_ms: np.ndarray
    item_modified_ms: np.ndarray
    line_customer: np.ndarray
    line_item: np.ndarray
    line_qty: np.ndarray
    line_rate: np.ndarray
    line_trandate: np.ndarray  # days since 1970
    line_transaction: np.ndarray
    line_tranid: np.ndarray
    line_seq: np.ndarray
    line_id: np.ndarray
    line_created_ms: np.ndarray
    line_edit_ms: np.ndarray
    line_exchange_rate: np.ndarray
    line_cost: np.ndarray
    snap_item: np.ndarray
    snap_day: np.ndarray
    snap_quantity: np.ndarray
    snap_average_cost: np.ndarray
    snap_created_ms: np.ndarray
    snap_edit_ms: np.ndarray
    rate_currency: np.ndarray
    rate_day: np.ndarray
    rate_value: np.ndarray
    rate_created_ms: np.ndarray
    daily_rates: dict


def generate_finance(
    seed: int, calendar: Calendar, companies: Companies, pipeline: Pipeline
) -> Finance:
    rng = rng_for(seed, "finance")
    daily = _daily_rates(seed, calendar)
    start_day = calendar.start_ms // DAY_MS
    end = calendar.end_ms

    # Customers: the CRM's won accounts, plus a few that exist only in the ERP.
    company = pipeline.cust_company.tolist()
    created = pipeline.cust_created_ms.tolist()
    inactive = pipeline.cust_inactive_ms.tolist()
    reactivated = pipeline.cust_reactivated_ms.tolist()
    currency = pipeline.cust_currency.tolist()
    billing = BillingPlan(**{k: list(v) for k, v in vars(pipeline.billing).items()})
    crm_companies = set(pipeline.acct_company.tolist())
    outsiders = [c for c in range(companies.size) if c not in crm_companies]
    erp_only = max(1, round(0.05 * len(company)))
    picked = (
        rng.choice(len(outsiders), min(erp_only, len(outsiders)), replace=False)
        if outsiders
        else []
    )
    for k in sorted(int(p) for p in picked):
        co = outsiders[k]
        moment = (
            calendar.start_ms + int(rng.integers(0, calendar.total_days)) * DAY_MS + 10 * HOUR_MS
        )
        index = len(company)
        company.append(co)
        created.append(moment)
        inactive.append(NEVER)
        reactivated.append(NEVER)
        ccy = CURRENCIES[companies.currency[co]]
        currency.append(ccy)
        day = moment // DAY_MS
        for _ in range(int(rng.integers(1, 4))):
            order_day = day + int(rng.integers(0, 300))
            item = GATEWAY if rng.random() < 0.4 else SENSORS
            rate = round(ITEMS[item][4] * PRICE_BOOK[ccy], 2)
            billing.add(index, item, int(rng.integers(1, 12)), rate, order_day, 0, 1)
    n_cust = len(company)
    cust_created = truncate_to_minute(np.array(created, dtype=np.int64))
    order = np.argsort(cust_created, kind="stable")
    cust_id = np.empty(n_cust, dtype=np.int64)
    cust_id[order] = 1000 + np.cumsum(rng.integers(1, 4, n_cust))
    cust_company = np.array(company, dtype=np.int64)
    legal = companies.legal_name[cust_company]
    shout = rng.random(n_cust) < 0.05
    cust_name = obj_array(name.upper() if s else name for name, s in zip(legal, shout, strict=True))
    boxes = ("ap", "accounts.payable", "billing", "finance", "invoices")
    pick = rng.integers(0, len(boxes), n_cust)
    cust_email = obj_array(
        None if u < 0.1 else f"{boxes[p]}@{companies.domain[c]}"
        for u, p, c in zip(rng.random(n_cust), pick, cust_company, strict=True)
    )
    # The externalid is the Salesforce account of the company when the ERP customer was made;
    # if that account was later merged away the ERP keeps the stale id (a real-world gotcha).
    cust_account = np.full(n_cust, -1, dtype=np.int64)
    crm = np.arange(n_cust) < pipeline.cust_company.size
    accounts = pipeline.company_account[cust_company[crm]]
    merged = pipeline.acct_merged_into[accounts]
    moved_before = (merged >= 0) & (pipeline.acct_deleted_ms[accounts] <= cust_created[crm])
    cust_account[crm] = np.where(moved_before, merged, accounts)

    # Invoice lines: expand each billing segment month by month.
    seg_customer = np.array(billing.customer, dtype=np.int64)
    seg_item = np.array(billing.item, dtype=np.int64)
    seg_qty = np.array(billing.qty, dtype=np.float64)
    seg_rate = np.array(billing.rate, dtype=np.float64)
    seg_anchor = np.array(billing.anchor_day, dtype=np.int64)
    seg_first = np.array(billing.first, dtype=np.int64)
    counts = np.maximum(np.array(billing.last, dtype=np.int64) - seg_first, 0)
    rows = np.repeat(np.arange(seg_customer.size), counts)
    month = seg_first[rows] + (np.arange(rows.size) - np.repeat(np.cumsum(counts) - counts, counts))
    anchor = seg_anchor[rows].astype("datetime64[D]")
    anchor_month = anchor.astype("datetime64[M]")
    day_of_month = (anchor - anchor_month.astype("datetime64[D]")).astype(np.int64)
    trandate = (anchor_month + month).astype("datetime64[D]").astype(np.int64) + day_of_month
    keep = (trandate * DAY_MS < end) & (trandate >= start_day - 400)
    rows, trandate = rows[keep], trandate[keep]
    line_customer = seg_customer[rows]
    line_item = seg_item[rows]
    order = np.lexsort((line_item, line_customer, trandate))
    rows, trandate, line_customer, line_item = (
        rows[order],
        trandate[order],
        line_customer[order],
        line_item[order],
    )
    new_invoice = np.r_[
        True, (trandate[1:] != trandate[:-1]) | (line_customer[1:] != line_customer[:-1])
    ]
    invoice = np.cumsum(new_invoice) - 1
    first_line = np.flatnonzero(new_invoice)
    seq = np.arange(rows.size) - first_line[invoice] + 1
    n_invoices = first_line.size
    transaction = 20_000 + np.cumsum(rng.integers(1, 5, n_invoices))
    tranid = np.array([f"INV{100000 + k:07d}" for k in range(n_invoices)], dtype=object)
    invoice_created = trandate[first_line] * DAY_MS + rng.integers(
        HOUR_MS, 30 * HOUR_MS, n_invoices
    )
    late = rng.random(n_invoices) < 0.03  # entered days after their transaction date
    invoice_created[late] += rng.integers(3 * DAY_MS, 20 * DAY_MS, late.sum())
    invoice_created = truncate_to_minute(invoice_created)
    edited = rng.random(n_invoices) < 0.06
    invoice_edit = np.where(
        edited,
        truncate_to_minute(invoice_created + rng.integers(DAY_MS, 45 * DAY_MS, n_invoices)),
        NEVER,
    )
    invoice_edit[invoice_edit >= end] = NEVER
    line_currency_idx = np.array([CURRENCIES.index(c) for c in currency], dtype=np.int64)[
        line_customer
    ]
    rate_index = np.clip(trandate - start_day, 0, calendar.total_days - 1)
    exchange = np.ones(rows.size)
    for ccy, series in daily.items():
        sel = line_currency_idx == CURRENCIES.index(ccy)
        exchange[sel] = series[rate_index[sel]]
    unit_cost = np.array([item[3] for item in ITEMS])[line_item]
    line_qty = seg_qty[rows]
    line_id = obj_array(f"{t}-{s}" for t, s in zip(tranid[invoice], seq, strict=True))

    snapshots = _inventory(rng, calendar, line_item, line_qty, trandate)
    rate_rows = _rate_rows(calendar, daily)
    items_created = calendar.start_ms - 400 * DAY_MS + np.arange(len(ITEMS)) * DAY_MS
    return Finance(
        cust_company=cust_company,
        cust_id=cust_id,
        cust_name=cust_name,
        cust_email=cust_email,
        cust_account=cust_account,
        cust_currency=obj_array(currency),
        cust_created_ms=cust_created,
        cust_inactive_ms=np.array(inactive, dtype=np.int64),
        cust_reactivated_ms=np.array(reactivated, dtype=np.int64),
        cust_edit_ms=_minute_edits(rng, cust_created, end),
        item_id=np.arange(len(ITEMS), dtype=np.int64) * 3 + 201,
        item_created_ms=items_created,
        item_modified_ms=calendar.start_ms
        + rng.integers(30, max(31, calendar.history_days // 2), len(ITEMS)) * DAY_MS,
        line_customer=line_customer,
        line_item=line_item,
        line_qty=line_qty,
        line_rate=seg_rate[rows],
        line_trandate=trandate,
        line_transaction=transaction[invoice],
        line_tranid=tranid[invoice],
        line_seq=seq,
        line_id=line_id,
        line_created_ms=invoice_created[invoice],
        line_edit_ms=invoice_edit[invoice],
        line_exchange_rate=exchange,
        line_cost=np.round(line_qty * unit_cost, 2),
        snap_item=snapshots[0],
        snap_day=snapshots[1],
        snap_quantity=snapshots[2],
        snap_average_cost=snapshots[3],
        snap_created_ms=snapshots[4],
        snap_edit_ms=snapshots[5],
        rate_currency=rate_rows[0],
        rate_day=rate_rows[1],
        rate_value=rate_rows[2],
        rate_created_ms=rate_rows[3],
        daily_rates=daily,
    )


def _minute_edits(rng, base, end) -> np.ndarray:
    gaps = (rng.exponential(200.0, (base.size, 2)) * DAY_MS).astype(np.int64) + HOUR_MS
    times = truncate_to_minute(base[:, None] + np.cumsum(gaps, axis=1))
    how_many = rng.integers(0, 3, base.size)
    times[np.arange(2)[None, :] >= how_many[:, None]] = NEVER
    times[times >= end] = NEVER
    return times


def _daily_rates(seed: int, calendar: Calendar) -> dict[str, np.ndarray]:
    """USD per unit of each foreign currency: a mean-reverting random walk per day."""
    rng = rng_for(seed, "fx")
    rates = {}
    for ccy, centre in USD_PER.items():
        log_rate = np.empty(calendar.total_days)
        level = np.log(centre)
        shocks = rng.normal(0, 0.0045, calendar.total_days)
        for d in range(calendar.total_days):
            level += shocks[d] - 0.01 * (level - np.log(centre))
            log_rate[d] = level
        rates[ccy] = np.round(np.exp(log_rate), 6)
    return rates


def _rate_rows(calendar: Calendar, daily: dict[str, np.ndarray]):
    start_day = calendar.start_ms // DAY_MS
    currencies, days, values = [], [], []
    for d in range(calendar.total_days):
        for ccy in sorted(daily):
            currencies.append(ccy)
            days.append(start_day + d)
            values.append(daily[ccy][d])
    days_arr = np.array(days, dtype=np.int64)
    return obj_array(currencies), days_arr, np.array(values), days_arr * DAY_MS + 5 * MINUTE_MS


def _inventory(rng, calendar: Calendar, line_item, line_qty, trandate):
    """Month-end stock of each hardware item: sold units out, replenishment in."""
    months = np.unique(
        (np.datetime64(calendar.start, "D") + np.arange(calendar.total_days)).astype(
            "datetime64[M]"
        )
    )
    tran_month = trandate.astype("datetime64[D]").astype("datetime64[M]")
    items, days, quantity, average, created, edited = [], [], [], [], [], []
    for item in INVENTORY_ITEMS:
        sold_by_month = {}
        sel = line_item == item
        for m, q in zip(tran_month[sel], line_qty[sel], strict=True):
            sold_by_month[m] = sold_by_month.get(m, 0.0) + q
        typical = max(np.mean(list(sold_by_month.values())) if sold_by_month else 10.0, 5.0)
        on_hand = 4 * typical
        cost = ITEMS[item][3]
        for m in months:
            sold = sold_by_month.get(m, 0.0)
            if on_hand - sold < 1.5 * typical:
                received = round(4 * typical)
                cost = cost * 0.7 + ITEMS[item][3] * rng.uniform(0.95, 1.08) * 0.3
                on_hand += received
            on_hand -= sold
            month_end = ((m + 1).astype("datetime64[D]") - 1).astype(np.int64)
            items.append(item)
            days.append(int(month_end))
            quantity.append(float(round(on_hand)))
            average.append(round(cost, 2))
            made = (month_end + 1) * DAY_MS + 2 * HOUR_MS
            created.append(made)
            edited.append(made + int(rng.integers(1, 10)) * DAY_MS if rng.random() < 0.1 else NEVER)
    order = np.lexsort((np.array(items), np.array(days)))
    return (
        np.array(items, dtype=np.int64)[order],
        np.array(days, dtype=np.int64)[order],
        np.array(quantity)[order],
        np.array(average)[order],
        np.array(created, dtype=np.int64)[order],
        np.array(edited, dtype=np.int64)[order],
    )
