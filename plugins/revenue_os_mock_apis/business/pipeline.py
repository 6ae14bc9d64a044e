"""The CRM side: accounts, contacts, opportunities with their stage history, and customers.

Sales-qualified HubSpot contacts become Salesforce contacts (and their company an account);
the first of a company opens a New Business opportunity. A won deal starts a customer life:
yearly terms, a renewal opportunity before each term ends (some lost: churn), expansions in
between. The billing plan of every term is recorded here and invoiced in `finance`.

This part is a Python loop over SQL contacts and customer terms (thousands, not millions):
the order of events matters more than speed here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from revenue_os_mock_apis.business.core import (
    DAY_MS,
    HOUR_MS,
    MINUTE_MS,
    NEVER,
    NULL_INT,
    Calendar,
    ascii_fold,
    obj_array,
    rng_for,
    salesforce_id,
)
from revenue_os_mock_apis.business.marketing import Programs
from revenue_os_mock_apis.business.people import (
    CHANNELS,
    COUNTRIES,
    CURRENCIES,
    INDUSTRIES,
    SOURCES,
    STAGE_CUSTOMER,
    STAGE_OPPORTUNITY,
    STAGE_SQL,
    Companies,
    Contacts,
)

STAGES = (
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
)
WON, LOST = 5, 6
# Salesforce's default forecast category of each stage; a rep can override it (Commit).
FORECAST_CATEGORIES = (
    "Pipeline",
    "Pipeline",
    "Pipeline",
    "Best Case",
    "Commit",
    "Closed",
    "Omitted",
)
NEXT_STEPS = (
    "Send proposal",
    "Schedule demo",
    "Security review",
    "Pricing call with finance",
    "Legal redlines",
    "Executive sponsor meeting",
)
LOSS_REASONS = ("Price", "Competitor", "No Decision", "Timing", "Product Fit")
NEW_BUSINESS, RENEWAL, EXPANSION = "New Business", "Renewal", "Expansion"
LEAD_SOURCE_BY_SOURCE = {
    "ORGANIC_SEARCH": "Web",
    "PAID_SEARCH": "Paid Search",
    "PAID_SOCIAL": "Paid Social",
    "EMAIL_MARKETING": "Email",
    "REFERRALS": "Partner Referral",
    "DIRECT_TRAFFIC": "Web",
    "SOCIAL_MEDIA": "Social Media",
    "OFFLINE": "Trade Show",
    "OTHER_CAMPAIGNS": "Advertisement",
}
P_WIN_BY_CHANNEL = dict(
    zip(
        CHANNELS,
        (0.32, 0.42, 0.31, 0.16, 0.36, 0.46, 0.32, 0.22, 0.31, 0.18, 0.25),
        strict=True,
    )
)
SEGMENT_WIN_FACTOR = (1.05, 1.0, 0.9)
CYCLE_MEDIAN_DAYS = (32.0, 58.0, 96.0)
RENEWAL_RATE = (0.80, 0.87, 0.93)
EXPANSIONS_PER_YEAR = (0.35, 0.6, 0.9)

# Products: (itemid, display name, NetSuite item type, unit cost USD, list price USD).
ITEMS = (
    ("PLAT-SUB", "Northwind Platform Subscription (unit, monthly)", "Service", 55.0, 450.0),
    ("SEAT-PRO", "Pro User Seat (monthly)", "Service", 4.0, 45.0),
    ("SUP-PREM", "Premium Support (monthly)", "Service", 42.0, 110.0),
    ("HW-GW-100", "Edge Gateway GW-100", "InvtPart", 612.0, 890.0),
    ("HW-SNS-20", "Sensor Pack SNS-20 (10 sensors)", "InvtPart", 88.0, 149.0),
    ("SVC-IMPL", "Implementation Services (hour)", "Service", 112.0, 175.0),
    ("CONN-LTE", "LTE Connectivity per Gateway (monthly)", "Service", 7.5, 12.0),
)
PLATFORM, SEAT, SUPPORT, GATEWAY, SENSORS, SERVICES, CONNECTIVITY = range(len(ITEMS))
# Price book per currency (list prices are set per market, not converted daily).
PRICE_BOOK = {"USD": 1.0, "EUR": 0.93, "GBP": 0.79}
PLATFORM_UNITS = ((1, 2), (3, 5), (8, 15))
SEATS_MEDIAN = (12.0, 45.0, 220.0)
SERVICE_HOURS = (24.0, 80.0, 240.0)


@dataclass
class BillingPlan:
    """Invoice line generators: `item` billed `qty` x `rate` monthly for months [first, last)
    of a term starting on `anchor_day` (days since 1970-01-01). One-off charges are a
    one-month segment."""

    customer: list[int] = field(default_factory=list)
    item: list[int] = field(default_factory=list)
    qty: list[float] = field(default_factory=list)
    rate: list[float] = field(default_factory=list)
    anchor_day: list[int] = field(default_factory=list)
    first: list[int] = field(default_factory=list)
    last: list[int] = field(default_factory=list)

    def add(self, customer, item, qty, rate, anchor_day, first, last) -> None:
        self.customer.append(customer)
        self.item.append(item)
        self.qty.append(qty)
        self.rate.append(rate)
        self.anchor_day.append(anchor_day)
        self.first.append(first)
        self.last.append(last)


@dataclass
class Pipeline:
    # Accounts
    acct_company: np.ndarray
    acct_name: np.ndarray
    acct_created_ms: np.ndarray
    acct_owner: np.ndarray
    acct_ext_ms: np.ndarray  # when External_Id__c was filled
    acct_ext_customer: np.ndarray  # NetSuite customer index behind External_Id__c
    acct_deleted_ms: np.ndarray
    acct_merged_into: np.ndarray
    acct_edit_ms: np.ndarray
    acct_website: np.ndarray
    acct_industry: np.ndarray
    acct_employees: np.ndarray
    acct_country: np.ndarray
    acct_revenue: np.ndarray
    acct_currency: np.ndarray
    # Contacts
    con_hs: np.ndarray
    con_company: np.ndarray
    con_account_before: np.ndarray
    con_account_after: np.ndarray
    con_reparent_ms: np.ndarray
    con_first: np.ndarray
    con_last: np.ndarray
    con_email: np.ndarray
    con_lead_source: np.ndarray
    con_created_ms: np.ndarray
    con_visible_ms: np.ndarray
    con_deleted_ms: np.ndarray
    con_merged_into: np.ndarray
    con_edit_ms: np.ndarray
    # Opportunities
    opp_account_before: np.ndarray
    opp_account_after: np.ndarray
    opp_reparent_ms: np.ndarray
    opp_name: np.ndarray
    opp_type: np.ndarray
    opp_lead_source: np.ndarray
    opp_program: np.ndarray
    opp_contact: np.ndarray
    opp_owner: np.ndarray
    opp_currency: np.ndarray
    opp_created_ms: np.ndarray
    opp_visible_ms: np.ndarray
    opp_deleted_ms: np.ndarray
    opp_edit_ms: np.ndarray
    opp_hist_start: np.ndarray
    # Renewal_Date__c: the day the term a renewal renews ends (NULL_INT on other deals).
    opp_renewal_day: np.ndarray
    # CRM hygiene as reps keep it: a next step (missing on some), a loss reason code (missing
    # on some closed-lost deals) and a forecast category a rep moved to Commit by hand.
    opp_next_step: np.ndarray
    opp_loss_reason: np.ndarray
    opp_committed_by_hand: np.ndarray
    # Stage history, grouped by opportunity and time-ordered within it
    hist_opp: np.ndarray
    hist_ms: np.ndarray
    hist_stage: np.ndarray
    hist_amount: np.ndarray
    hist_close_day: np.ndarray
    # NetSuite customers from won deals (ERP-only customers are added in finance)
    cust_company: np.ndarray
    cust_created_ms: np.ndarray
    cust_currency: np.ndarray
    cust_inactive_ms: np.ndarray
    cust_reactivated_ms: np.ndarray
    billing: BillingPlan
    owners: np.ndarray
    company_account: np.ndarray  # the company's first Salesforce account, -1 when none


def _day_number(ms: int) -> int:
    return ms // DAY_MS


def _add_months(day_number: int, months: int) -> int:
    """Days since 1970 of the same day-of-month `months` later (terms start on day <= 28)."""
    start = np.datetime64(day_number, "D")
    month_start = start.astype("datetime64[M]")
    offset = (start - month_start.astype("datetime64[D]")).astype(int)
    return int(((month_start + months).astype("datetime64[D]") + offset).astype(int))


class _Builder:
    """Append-only columns, turned into numpy arrays at the end."""

    def __init__(self, *names: str):
        self.columns: dict[str, list] = {name: [] for name in names}

    def add(self, **values) -> int:
        index = len(next(iter(self.columns.values())))
        for name, column in self.columns.items():
            column.append(values[name])
        return index

    def __len__(self) -> int:
        return len(next(iter(self.columns.values())))


def generate_pipeline(
    seed: int,
    scale: float,
    calendar: Calendar,
    companies: Companies,
    contacts: Contacts,
    programs: Programs,
    pools: dict,
) -> Pipeline:
    rng = rng_for(seed, "pipeline")
    end = calendar.end_ms
    n_reps = max(3, round(16 * scale**0.6))
    owners = obj_array(salesforce_id("005", 9_000 + seed % 500 + k * 37) for k in range(n_reps))

    accounts = _Builder(
        "company", "name", "created", "owner", "ext_ms", "ext_customer", "deleted", "merged_into"
    )
    sf_contacts = _Builder(
        "hs", "company", "account", "first", "last", "email", "lead_source", "created", "visible"
    )
    opps = _Builder(
        "account",
        "name",
        "type",
        "lead_source",
        "program",
        "contact",
        "owner",
        "currency",
        "created",
        "visible",
        "deleted",
        "renewal_day",
    )
    history = _Builder("opp", "ms", "stage", "amount", "close_day")
    customers = _Builder("company", "created", "currency", "inactive", "reactivated")
    billing = BillingPlan()

    company_account = [-1] * companies.size
    company_customer = [-1] * companies.size
    busy_until = [0] * companies.size
    customer_until = [0] * companies.size  # a customer (paying) until this moment
    company_name = companies.name.tolist()
    company_segment = companies.segment.tolist()
    company_currency = [CURRENCIES[c] for c in companies.currency.tolist()]
    company_region = companies.region.tolist()

    sql_ms = contacts.stage_ms[:, STAGE_SQL]
    sql_rows = np.flatnonzero(sql_ms < end)
    order = sql_rows[np.argsort(sql_ms[sql_rows], kind="stable")]
    draws = rng.random((order.size, 16)).tolist()
    normals = rng.standard_normal((order.size, 4)).tolist()
    contact_company = contacts.company.tolist()
    contact_channel = contacts.channel.tolist()
    contact_source = contacts.source.tolist()
    contact_program = contacts.program.tolist()

    def account_for(company: int, moment: int, u: float) -> int:
        if company_account[company] < 0:
            region_reps = [k for k in range(n_reps) if k % 2 == company_region[company]] or [0]
            company_account[company] = accounts.add(
                company=company,
                name=company_name[company],
                created=moment + int(u * 30 * MINUTE_MS) + MINUTE_MS,
                owner=owners[region_reps[int(u * 997) % len(region_reps)]],
                ext_ms=NEVER,
                ext_customer=-1,
                deleted=NEVER,
                merged_into=-1,
            )
        return company_account[company]

    lifecycle = _CustomerLife(
        rng=rng,
        end=end,
        opps=opps,
        history=history,
        customers=customers,
        billing=billing,
        accounts=accounts,
        company_customer=company_customer,
        company_segment=company_segment,
        company_currency=company_currency,
        company_name=company_name,
    )

    for j, c in enumerate(order.tolist()):
        t = int(sql_ms[c])
        u = draws[j]
        z = normals[j]
        company = contact_company[c]
        account = account_for(company, t, u[0])
        source_name = SOURCES[contact_source[c]]
        lead_source = LEAD_SOURCE_BY_SOURCE[source_name] if u[11] > 0.05 else None
        sf_created = max(
            t + int(u[1] * 20 * MINUTE_MS) + 2 * MINUTE_MS,
            accounts.columns["created"][account] + MINUTE_MS,
        )
        sf_index = sf_contacts.add(
            hs=c,
            company=company,
            account=account,
            first=contacts.first[c],
            last=contacts.last[c],
            email=contacts.email[c],
            lead_source=lead_source,
            created=sf_created,
            visible=sf_created,
        )
        contacts.sf_contact[c] = sf_index
        contacts.sync_ms[c] = sf_created + int(u[1] * 5 * MINUTE_MS) + MINUTE_MS
        if t < customer_until[company] or t < busy_until[company] or u[2] > 0.93:
            continue
        # A New Business opportunity.
        segment = company_segment[company]
        created = sf_created + int(u[3] * 3 * DAY_MS) + 10 * MINUTE_MS
        if created >= end:
            continue
        cycle_days = CYCLE_MEDIAN_DAYS[segment] * math.exp(0.45 * z[0])
        close = created + int(max(cycle_days, 4.0) * DAY_MS)
        p_win = P_WIN_BY_CHANNEL[CHANNELS[contact_channel[c]]] * SEGMENT_WIN_FACTOR[segment]
        won = u[4] < p_win
        deal = lifecycle.new_deal(segment, company_currency[company], u, z)
        program = contact_program[c] if (contact_program[c] >= 0 and u[6] < 0.7) else -1
        opp = opps.add(
            account=account,
            name=f"{company_name[company]} - {NEW_BUSINESS}",
            type=NEW_BUSINESS,
            lead_source=lead_source,
            program=program,
            contact=sf_index if u[7] < 0.9 else -1,
            owner=accounts.columns["owner"][account]
            if u[8] < 0.9
            else owners[int(u[8] * 1e6) % n_reps],
            currency=company_currency[company],
            created=created,
            visible=created,
            deleted=NEVER,
            renewal_day=NULL_INT,
        )
        lost_stage = 1 + int(u[5] * 4)  # the last open stage a lost deal reached
        _stage_history(
            history,
            opp,
            created,
            close,
            deal.first_year_amount,
            won,
            ladder=(0, 1, 2, 3, 4) if won else tuple(range(lost_stage + 1)),
            u=u[9],
            z=z[1],
        )
        contacts.stage_ms[c, STAGE_OPPORTUNITY] = created
        busy_until[company] = close + (0 if won else 120 * DAY_MS)
        if won and close < end:
            contacts.stage_ms[c, STAGE_CUSTOMER] = close
            customer_until[company] = lifecycle.run(company, account, close, deal, u[15])

    pipeline = _assemble(
        seed,
        calendar,
        companies,
        contacts,
        programs,
        pools,
        owners,
        accounts,
        sf_contacts,
        opps,
        history,
        customers,
        billing,
    )
    pipeline.company_account = np.array(company_account, dtype=np.int64)
    return pipeline


@dataclass
class Deal:
    platform_units: int
    platform_rate: float
    seats: int
    seat_rate: float
    support_rate: float  # 0 when no premium support
    gateways: int
    gateway_rate: float
    sensor_packs: int
    sensor_rate: float
    service_hours: int
    service_rate: float
    connectivity_rate: float

    @property
    def monthly(self) -> float:
        return (
            self.platform_units * self.platform_rate
            + self.seats * self.seat_rate
            + self.support_rate
            + self.gateways * self.connectivity_rate
        )

    @property
    def one_off(self) -> float:
        return (
            self.gateways * self.gateway_rate
            + self.sensor_packs * self.sensor_rate
            + self.service_hours * self.service_rate
        )

    @property
    def first_year_amount(self) -> float:
        return round(12 * self.monthly + self.one_off, 2)


def _stage_history(history, opp, created, close, amount, won, ladder, u, z) -> None:
    """Stage changes from creation to close, with the amount firming up and dates slipping."""
    span = close - created
    steps = len(ladder)
    fractions = sorted(
        ((k + 0.5 + 0.4 * math.sin(7.3 * k + 11 * u)) / (steps + 0.5)) for k in range(1, steps)
    )
    estimate = round(amount * (0.75 + 0.6 * u) / 100) * 100 or 100.0
    planned_close = (created + int(span * (0.7 + 0.25 * u))) // DAY_MS
    history.add(
        opp=opp, ms=created, stage=ladder[0], amount=float(estimate), close_day=planned_close
    )
    current_amount = float(estimate)
    for k, fraction in zip(ladder[1:], fractions, strict=True):
        moment = created + int(span * fraction)
        if k >= 3:
            current_amount = float(amount if won else round(amount * (0.8 + 0.3 * u), 2))
        if z > 0.6 and k == ladder[len(ladder) // 2]:
            planned_close = max(planned_close, moment // DAY_MS) + 14 + int(20 * u)  # slipped
        history.add(opp=opp, ms=moment, stage=k, amount=current_amount, close_day=planned_close)
    history.add(
        opp=opp,
        ms=close,
        stage=WON if won else LOST,
        amount=float(amount) if won else current_amount,
        close_day=close // DAY_MS,
    )


class _CustomerLife:
    """Terms, renewals, expansions and churn of one customer, decided when the deal is won."""

    def __init__(
        self,
        *,
        rng,
        end,
        opps,
        history,
        customers,
        billing,
        accounts,
        company_customer,
        company_segment,
        company_currency,
        company_name,
    ):
        self.rng = rng
        self.end = end
        self.opps = opps
        self.history = history
        self.customers = customers
        self.billing = billing
        self.accounts = accounts
        self.company_customer = company_customer
        self.company_segment = company_segment
        self.company_currency = company_currency
        self.company_name = company_name

    def new_deal(self, segment: int, currency: str, u: list[float], z: list[float]) -> Deal:
        book = PRICE_BOOK[currency]
        discount = (0.05, 0.12, 0.2)[segment] * (0.5 + u[12])
        low, high = PLATFORM_UNITS[segment]
        units = low + int(u[13] * (high - low + 1))
        seats = max(3, round(SEATS_MEDIAN[segment] * math.exp(0.5 * z[2])))
        support = u[14] < (0.2, 0.35, 0.6)[segment]
        hours = max(8, round(SERVICE_HOURS[segment] * math.exp(0.4 * z[3])))

        def price(item: int, off: float = 0.0) -> float:
            return round(ITEMS[item][4] * book * (1 - off), 2)

        return Deal(
            platform_units=units,
            platform_rate=price(PLATFORM, discount),
            seats=seats,
            seat_rate=price(SEAT, discount),
            support_rate=round(ITEMS[SUPPORT][4] * book * units, 2) if support else 0.0,
            gateways=max(1, math.ceil(seats / 12)),
            gateway_rate=price(GATEWAY, discount / 2),
            sensor_packs=max(1, seats // 5),
            sensor_rate=price(SENSORS, discount / 2),
            service_hours=hours,
            service_rate=price(SERVICES),
            connectivity_rate=price(CONNECTIVITY),
        )

    def _customer(self, company: int, account: int, won_ms: int) -> int:
        existing = self.company_customer[company]
        rng = self.rng
        if existing >= 0:
            self.customers.columns["reactivated"][existing] = won_ms + DAY_MS
            return existing
        created = won_ms + int(rng.integers(DAY_MS, 5 * DAY_MS))
        created -= created % MINUTE_MS
        index = self.customers.add(
            company=company,
            created=created,
            currency=self.company_currency[company],
            inactive=NEVER,
            reactivated=NEVER,
        )
        self.company_customer[company] = index
        if rng.random() < 0.88:
            self.accounts.columns["ext_ms"][account] = created + int(
                rng.integers(HOUR_MS, 3 * DAY_MS)
            )
            self.accounts.columns["ext_customer"][account] = index
        return index

    def run(self, company: int, account: int, won_ms: int, deal: Deal, u: float) -> int:
        """Bill the customer term by term; return when it stops paying (NEVER if it does not)."""
        rng = self.rng
        customer = self._customer(company, account, won_ms)
        segment = self.company_segment[company]
        currency = self.company_currency[company]
        owner = self.accounts.columns["owner"][account]
        start = _day_number(won_ms) + int(rng.integers(0, 8))
        dom = int(
            (np.datetime64(start, "D") - np.datetime64(start, "D").astype("datetime64[M]")).astype(
                int
            )
        )
        if dom > 27:
            start -= dom - 27
        billing = self.billing
        billing.add(customer, GATEWAY, deal.gateways, deal.gateway_rate, start, 0, 1)
        billing.add(customer, SENSORS, deal.sensor_packs, deal.sensor_rate, start, 0, 1)
        billing.add(customer, SERVICES, deal.service_hours, deal.service_rate, start, 0, 1)
        seats, units = deal.seats, deal.platform_units
        platform_rate, seat_rate, support = deal.platform_rate, deal.seat_rate, deal.support_rate
        while start * DAY_MS < self.end:
            term_end = _add_months(start, 12)
            billing.add(customer, PLATFORM, units, platform_rate, start, 0, 12)
            billing.add(customer, SEAT, seats, seat_rate, start, 0, 12)
            if support:
                billing.add(customer, SUPPORT, 1, support, start, 0, 12)
            billing.add(customer, CONNECTIVITY, deal.gateways, deal.connectivity_rate, start, 0, 12)
            # Expansions during the term.
            for _ in range(int(rng.poisson(EXPANSIONS_PER_YEAR[segment]))):
                created = (start + int(rng.integers(20, 250))) * DAY_MS + int(
                    rng.integers(8, 18)
                ) * HOUR_MS
                close = created + int(rng.integers(12, 60)) * DAY_MS
                if created >= self.end or close >= (term_end - 20) * DAY_MS:
                    continue
                added = max(2, int(seats * rng.uniform(0.1, 0.45)))
                packs = max(1, added // 5)
                month = 1
                while _add_months(start, month) * DAY_MS < close:
                    month += 1
                amount = round(added * seat_rate * (12 - month) + packs * deal.sensor_rate, 2)
                won = rng.random() < 0.62
                opp = self._opp(account, company, EXPANSION, created, owner, currency)
                _stage_history(
                    self.history,
                    opp,
                    created,
                    close,
                    amount,
                    won,
                    ladder=(1, 3, 4) if won else (1, 3),
                    u=float(rng.random()),
                    z=float(rng.standard_normal()),
                )
                if won and month < 12:
                    billing.add(customer, SEAT, added, seat_rate, start, month, 12)
                    billing.add(customer, SENSORS, packs, deal.sensor_rate, start, month, month + 1)
                    seats += added
            # The renewal, opened 90 days before the term ends.
            renewal_created = (term_end - 90) * DAY_MS + int(rng.integers(8, 18)) * HOUR_MS
            if renewal_created >= self.end:
                return NEVER
            renews = rng.random() < RENEWAL_RATE[segment] * (0.92 + 0.16 * u)
            if renews:
                if rng.random() < 0.15:
                    seats = max(3, int(seats * rng.uniform(0.6, 0.9)))  # downsell
                uplift = rng.uniform(1.0, 1.07)
                platform_rate = round(platform_rate * uplift, 2)
                seat_rate = round(seat_rate * uplift, 2)
                early_days = int(rng.integers(0, 21))
                # About one renewal in eight is signed after its term ended (paperwork, a
                # procurement queue), from the draws already made so no later value moves.
                late = (term_end * 7919 + early_days * 104729) % 8 == 0
                close = (
                    term_end + (3 + (term_end * 31 + early_days) % 25 if late else -early_days)
                ) * DAY_MS + int(rng.integers(9, 19)) * HOUR_MS
            else:
                close = (term_end + int(rng.integers(0, 11))) * DAY_MS + int(
                    rng.integers(9, 19)
                ) * HOUR_MS
            amount = round(
                12
                * (
                    units * platform_rate
                    + seats * seat_rate
                    + support
                    + deal.gateways * deal.connectivity_rate
                ),
                2,
            )
            opp = self._opp(
                account, company, RENEWAL, renewal_created, owner, currency, renewal_day=term_end
            )
            _stage_history(
                self.history,
                opp,
                renewal_created,
                close,
                amount,
                renews,
                # A renewal that will not renew never reaches negotiation: it shows as Best
                # Case, not Commit, while it is open (the signal the risk triage reads).
                ladder=(1, 4) if renews else (1, 3),
                u=float(rng.random()),
                z=float(rng.standard_normal()),
            )
            if not renews:
                churn_ms = term_end * DAY_MS
                self.customers.columns["inactive"][customer] = churn_ms + 30 * DAY_MS
                return churn_ms
            start = term_end
        return NEVER

    def _opp(self, account, company, kind, created, owner, currency, renewal_day=NULL_INT) -> int:
        return self.opps.add(
            account=account,
            name=f"{self.company_name[company]} - {kind}",
            type=kind,
            lead_source="Existing Customer",
            program=-1,
            contact=-2,  # the account's first contact, resolved when assembling
            owner=owner,
            currency=currency,
            created=created,
            visible=created,
            deleted=NEVER,
            renewal_day=renewal_day,
        )


def _email_mess(rng: np.random.Generator, emails: list) -> list:
    """Salesforce keeps e-mails as typed: other case, stray spaces, sometimes nothing."""
    out = []
    draws = rng.random(len(emails))
    for email, u in zip(emails, draws, strict=True):
        if email is None:
            out.append(None)
        elif u < 0.06:
            local, _, domain = email.partition("@")
            out.append(
                ".".join(p.capitalize() for p in local.split(".")) + "@" + domain.capitalize()
            )
        elif u < 0.08:
            out.append(email.upper())
        elif u < 0.105:
            out.append(f" {email}" if u < 0.093 else f"{email}  ")
        elif u < 0.115:
            out.append(None)
        else:
            out.append(email)
    return out


def _assemble(
    seed,
    calendar,
    companies,
    contacts,
    programs,
    pools,
    owners,
    accounts,
    sf_contacts,
    opps,
    history,
    customers,
    billing,
) -> Pipeline:
    rng = rng_for(seed, "crm-mess")
    end = calendar.end_ms
    acc = {k: list(v) for k, v in accounts.columns.items()}
    con = {k: list(v) for k, v in sf_contacts.columns.items()}
    n_accounts = len(acc["company"])

    # Contacts sales adds by hand (not in HubSpot), on some accounts.
    extra_accounts = np.flatnonzero(rng.random(n_accounts) < 0.12)
    for a in extra_accounts.tolist():
        company = acc["company"][a]
        locale = COUNTRIES[companies.country[company]][3]
        firsts, lasts = pools[locale]
        created = acc["created"][a] + int(rng.integers(2 * DAY_MS, 200 * DAY_MS))
        if created >= end:
            continue
        first = firsts[int(rng.integers(len(firsts)))]
        last = lasts[int(rng.integers(len(lasts)))]
        con["hs"].append(-1)
        con["company"].append(company)
        con["account"].append(a)
        con["first"].append(first)
        con["last"].append(last)
        con["email"].append(f"{ascii_fold(first)}.{ascii_fold(last)}@{companies.domain[company]}")
        con["lead_source"].append("Other")
        con["created"].append(created)
        con["visible"].append(created)

    # Duplicate accounts, merged later. Usually the duplicate loses; sometimes the original
    # does (its children move to the duplicate, and the ERP keeps pointing at the loser).
    dup_of = np.flatnonzero(
        (rng.random(n_accounts) < 0.025) & (np.array(acc["created"]) < end - 60 * DAY_MS)
    )
    merges: list[tuple[int, int, int]] = []  # (loser, winner, when)
    for a in dup_of.tolist():
        created = acc["created"][a] + int(rng.integers(10 * DAY_MS, 400 * DAY_MS))
        if created >= end:
            continue
        company = acc["company"][a]
        variant = (
            f"{acc['name'][a]} Inc",
            acc["name"][a].upper(),
            f"The {acc['name'][a]}",
            f"{acc['name'][a]} (old)",
        )
        dup = len(acc["company"])
        for key, value in (
            ("company", company),
            ("name", variant[int(rng.integers(4))]),
            ("created", created),
            ("owner", owners[int(rng.integers(owners.size))]),
            ("ext_ms", NEVER),
            ("ext_customer", -1),
            ("deleted", NEVER),
            ("merged_into", -1),
        ):
            acc[key].append(value)
        when = created + int(rng.integers(3 * DAY_MS, 60 * DAY_MS))
        if when >= end:
            continue
        if rng.random() < 0.2:
            merges.append((a, dup, when))
        else:
            merges.append((dup, a, when))
    n_accounts = len(acc["company"])
    acct_deleted = np.full(n_accounts, NEVER, dtype=np.int64)
    acct_merged = np.full(n_accounts, -1, dtype=np.int64)
    acct_ext_ms = np.array(acc["ext_ms"], dtype=np.int64)
    acct_ext_customer = np.array(acc["ext_customer"], dtype=np.int64)
    reparent: dict[int, tuple[int, int]] = {}
    for loser, winner, when in merges:
        acct_deleted[loser] = when
        acct_merged[loser] = winner
        reparent[loser] = (winner, when)
        if acct_ext_customer[loser] >= 0:
            # The winner inherits the ERP link at the merge (or when it is first set).
            acct_ext_customer[winner] = acct_ext_customer[loser]
            acct_ext_ms[winner] = max(when, int(acct_ext_ms[loser]))
            if acct_ext_ms[loser] >= when:
                acct_ext_ms[loser] = NEVER

    def move(account: int, created: int) -> tuple[int, int, int]:
        if account in reparent:
            winner, when = reparent[account]
            if created >= when:
                return winner, winner, NEVER
            return account, winner, when
        return account, account, NEVER

    n_contacts = len(con["hs"])
    con_before, con_after, con_reparent = (
        zip(*(move(a, t) for a, t in zip(con["account"], con["created"], strict=True)), strict=True)
        if n_contacts
        else ((), (), ())
    )

    # Duplicate contacts typed in by sales, merged into the original later.
    con_deleted = np.full(n_contacts, NEVER, dtype=np.int64)
    con_merged = np.full(n_contacts, -1, dtype=np.int64)
    dupes = np.flatnonzero(rng.random(n_contacts) < 0.02)
    extra = {
        k: []
        for k in (
            "hs",
            "company",
            "before",
            "after",
            "reparent",
            "first",
            "last",
            "email",
            "lead_source",
            "created",
            "deleted",
            "merged",
        )
    }
    for c in dupes.tolist():
        created = con["created"][c] + int(rng.integers(5 * DAY_MS, 200 * DAY_MS))
        when = created + int(rng.integers(2 * DAY_MS, 60 * DAY_MS))
        if created >= end:
            continue
        email = con["email"][c]
        extra["hs"].append(-1)
        extra["company"].append(con["company"][c])
        b, a, r = move(con["account"][c], created)
        extra["before"].append(b)
        extra["after"].append(a)
        extra["reparent"].append(r)
        extra["first"].append(con["first"][c])
        extra["last"].append(con["last"][c])
        extra["email"].append(email.upper() if email and rng.random() < 0.5 else email)
        extra["lead_source"].append(None)
        extra["created"].append(created)
        extra["deleted"].append(when if when < end else NEVER)
        extra["merged"].append(c if when < end else -1)

    # Opportunities: resolve "the account's first contact" and moves of merged accounts.
    opp = {k: list(v) for k, v in opps.columns.items()}
    first_contact: dict[int, int] = {}
    for index, account in enumerate(con["account"]):
        first_contact.setdefault(account, index)
    contact_pick = rng.random(len(opp["contact"]))
    for i, contact in enumerate(opp["contact"]):
        if contact == -2:
            opp["contact"][i] = (
                first_contact.get(opp["account"][i], -1) if contact_pick[i] < 0.7 else -1
            )
    opp_moves = [move(a, t) for a, t in zip(opp["account"], opp["created"], strict=True)]
    n_opps = len(opp["account"])

    # Stage history: group by opportunity, time-ordered.
    hist = history.columns
    hist_opp = np.array(hist["opp"], dtype=np.int64)
    hist_ms = np.array(hist["ms"], dtype=np.int64)
    order = np.lexsort((hist_ms, hist_opp))
    hist_opp, hist_ms = hist_opp[order], hist_ms[order]
    hist_stage = np.array(hist["stage"], dtype=np.int8)[order]
    hist_amount = np.array(hist["amount"], dtype=np.float64)[order]
    hist_close = np.array(hist["close_day"], dtype=np.int64)[order]
    # acc few lost New Business opportunities were junk and got deleted soon after creation.
    opp_deleted = np.full(n_opps, NEVER, dtype=np.int64)
    opp_created = np.array(opp["created"], dtype=np.int64)
    final_stage = np.full(n_opps, -1)
    last_rows = (
        np.flatnonzero(np.r_[hist_opp[1:] != hist_opp[:-1], True]) if hist_opp.size else hist_opp
    )
    final_stage[hist_opp[last_rows]] = hist_stage[last_rows]
    junk = np.flatnonzero(
        (np.array(opp["type"], dtype=object) == NEW_BUSINESS)
        & (final_stage == LOST)
        & (rng.random(n_opps) < 0.03)
    )
    opp_deleted[junk] = opp_created[junk] + rng.integers(DAY_MS, 20 * DAY_MS, junk.size)
    keep = hist_ms < opp_deleted[hist_opp]
    hist_opp, hist_ms, hist_stage = hist_opp[keep], hist_ms[keep], hist_stage[keep]
    hist_amount, hist_close = hist_amount[keep], hist_close[keep]
    hist_start = np.searchsorted(hist_opp, np.arange(n_opps + 1), side="left")

    # Deleted (not merged) contacts: never one an opportunity points at.
    referenced = set(opp["contact"])
    for c in np.flatnonzero(rng.random(n_contacts) < 0.005).tolist():
        if c not in referenced and con_merged[c] < 0:
            when = con["created"][c] + int(rng.integers(30 * DAY_MS, 500 * DAY_MS))
            con_deleted[c] = when if when < end else NEVER

    total_contacts = n_contacts + len(extra["hs"])
    con_hs = np.array(con["hs"] + extra["hs"], dtype=np.int64)
    con_created = np.array(con["created"] + extra["created"], dtype=np.int64)
    con_visible = con_created.copy()
    late = rng.random(total_contacts) < 0.02  # migrated with a back-dated CreatedDate
    con_created[late] -= rng.integers(2 * DAY_MS, 15 * DAY_MS, late.sum())
    opp_visible = opp_created.copy()
    late_opps = (rng.random(n_opps) < 0.02) & (hist_start[1:] > hist_start[:-1])
    opp_created[late_opps] -= rng.integers(2 * DAY_MS, 10 * DAY_MS, late_opps.sum())

    # A stream of its own, so the hygiene fields shift no other generated value.
    hygiene = rng_for(seed, "crm-hygiene")
    next_step = obj_array(
        NEXT_STEPS[k] for k in hygiene.integers(0, len(NEXT_STEPS), n_opps).tolist()
    )
    next_step[hygiene.random(n_opps) < 0.15] = None
    loss_reason = obj_array(
        LOSS_REASONS[k] for k in hygiene.integers(0, len(LOSS_REASONS), n_opps).tolist()
    )
    loss_reason[hygiene.random(n_opps) < 0.2] = None
    committed_by_hand = hygiene.random(n_opps) < 0.06

    cust = customers.columns
    acct_company = np.array(acc["company"], dtype=np.int64)
    pipeline = Pipeline(
        acct_company=acct_company,
        acct_name=obj_array(acc["name"]),
        acct_created_ms=np.array(acc["created"], dtype=np.int64),
        acct_owner=obj_array(acc["owner"]),
        acct_ext_ms=acct_ext_ms,
        acct_ext_customer=acct_ext_customer,
        acct_deleted_ms=acct_deleted,
        acct_merged_into=acct_merged,
        acct_edit_ms=_edits(rng, np.array(acc["created"], dtype=np.int64), 2, 120.0, end),
        acct_website=_websites(rng, companies.domain[acct_company]),
        acct_industry=_nulls(
            rng, np.array(INDUSTRIES, dtype=object)[companies.industry[acct_company]], 0.05
        ),
        acct_employees=np.where(
            rng.random(n_accounts) < 0.1, -1, companies.employees[acct_company]
        ),
        acct_country=_nulls(
            rng, obj_array(COUNTRIES[c][1] for c in companies.country[acct_company]), 0.03
        ),
        acct_revenue=np.where(
            rng.random(n_accounts) < 0.2,
            np.nan,
            np.round(
                companies.employees[acct_company] * rng.uniform(80_000, 250_000, n_accounts), -3
            ),
        ),
        acct_currency=obj_array(CURRENCIES[c] for c in companies.currency[acct_company]),
        con_hs=con_hs,
        con_company=np.array(con["company"] + extra["company"], dtype=np.int64),
        con_account_before=np.array(list(con_before) + extra["before"], dtype=np.int64),
        con_account_after=np.array(list(con_after) + extra["after"], dtype=np.int64),
        con_reparent_ms=np.array(list(con_reparent) + extra["reparent"], dtype=np.int64),
        con_first=obj_array(con["first"] + extra["first"]),
        con_last=obj_array(con["last"] + extra["last"]),
        con_email=obj_array(_email_mess(rng, con["email"]) + extra["email"]),
        con_lead_source=obj_array(con["lead_source"] + extra["lead_source"]),
        con_created_ms=con_created,
        con_visible_ms=con_visible,
        con_deleted_ms=np.concatenate([con_deleted, np.array(extra["deleted"], dtype=np.int64)]),
        con_merged_into=np.concatenate([con_merged, np.array(extra["merged"], dtype=np.int64)]),
        con_edit_ms=_edits(rng, con_visible, 2, 150.0, end),
        opp_account_before=np.array([m[0] for m in opp_moves], dtype=np.int64),
        opp_account_after=np.array([m[1] for m in opp_moves], dtype=np.int64),
        opp_reparent_ms=np.array([m[2] for m in opp_moves], dtype=np.int64),
        opp_name=obj_array(opp["name"]),
        opp_type=obj_array(opp["type"]),
        opp_lead_source=obj_array(opp["lead_source"]),
        opp_program=np.array(opp["program"], dtype=np.int64),
        opp_contact=np.array(opp["contact"], dtype=np.int64),
        opp_owner=obj_array(opp["owner"]),
        opp_currency=obj_array(opp["currency"]),
        opp_created_ms=opp_created,
        opp_visible_ms=opp_visible,
        opp_deleted_ms=opp_deleted,
        opp_edit_ms=_edits(rng, opp_visible, 2, 40.0, end),
        opp_hist_start=hist_start,
        opp_renewal_day=np.array(opp["renewal_day"], dtype=np.int64),
        opp_next_step=next_step,
        opp_loss_reason=loss_reason,
        opp_committed_by_hand=committed_by_hand,
        hist_opp=hist_opp,
        hist_ms=hist_ms,
        hist_stage=hist_stage,
        hist_amount=hist_amount,
        hist_close_day=hist_close,
        cust_company=np.array(cust["company"], dtype=np.int64),
        cust_created_ms=np.array(cust["created"], dtype=np.int64),
        cust_currency=obj_array(cust["currency"]),
        cust_inactive_ms=np.array(cust["inactive"], dtype=np.int64),
        cust_reactivated_ms=np.array(cust["reactivated"], dtype=np.int64),
        billing=billing,
        owners=owners,
        company_account=np.empty(0, dtype=np.int64),
    )
    return pipeline


def _edits(rng, base, count, mean_days, end) -> np.ndarray:
    n = base.size
    gaps = (rng.exponential(mean_days, (n, count)) * DAY_MS).astype(np.int64) + HOUR_MS
    times = base[:, None] + np.cumsum(gaps, axis=1)
    how_many = rng.integers(0, count + 1, n)
    times[np.arange(count)[None, :] >= how_many[:, None]] = NEVER
    times[times >= end] = NEVER
    return times


def _websites(rng, domains) -> np.ndarray:
    u = rng.random(domains.size)
    out = np.empty(domains.size, dtype=object)
    for i, domain in enumerate(domains):
        out[i] = f"www.{domain}" if u[i] < 0.8 else (f"https://{domain}" if u[i] < 0.95 else None)
    return out


def _nulls(rng, values: np.ndarray, share: float) -> np.ndarray:
    out = values.astype(object).copy()
    out[rng.random(values.size) < share] = None
    return out
