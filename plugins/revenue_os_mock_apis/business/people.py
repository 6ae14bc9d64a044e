"""Companies and the people in them: the HubSpot contact base, before the pipeline exists.

Names, companies and e-mail domains come from Faker (seeded), drawn once into pools that are
then combined with numpy: Faker per contact would take minutes at scale 10.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from faker import Faker

from revenue_os_mock_apis.business.core import (
    DAY_MS,
    NEVER,
    Calendar,
    ascii_fold,
    obj_array,
    rng_for,
    spread_over_days,
)
from revenue_os_mock_apis.business.marketing import (
    KIND_BRAND,
    KIND_DISPLAY,
    KIND_EMAIL,
    KIND_EVENT,
    KIND_LINKEDIN,
    KIND_NONBRAND,
    Programs,
    messy_utm,
)

# code, country name, currency, Faker locale, share of companies, ad region, web TLD, legal forms
COUNTRIES: tuple[tuple[str, str, str, str, float, int, str, tuple[str, ...]], ...] = (
    ("US", "United States", "USD", "en_US", 0.50, 0, ".com", ("Inc.", "LLC", "Corp.")),
    ("CA", "Canada", "USD", "en_CA", 0.05, 0, ".ca", ("Inc.", "Ltd.")),
    ("GB", "United Kingdom", "GBP", "en_GB", 0.15, 1, ".co.uk", ("Ltd", "plc")),
    ("DE", "Germany", "EUR", "de_DE", 0.12, 1, ".de", ("GmbH", "AG")),
    ("FR", "France", "EUR", "fr_FR", 0.08, 1, ".fr", ("SAS", "SA")),
    ("NL", "Netherlands", "EUR", "nl_NL", 0.05, 1, ".nl", ("B.V.",)),
    ("ES", "Spain", "EUR", "es_ES", 0.05, 1, ".es", ("S.L.", "S.A.")),
)
# How the free-text HubSpot country property is actually filled in, per country.
COUNTRY_SPELLINGS: dict[str, tuple[str, ...]] = {
    "US": ("USA", "U.S."),
    "CA": ("CAN",),
    "GB": ("UK", "England"),
    "DE": ("Deutschland",),
    "FR": ("france",),
    "NL": ("Holland", "The Netherlands"),
    "ES": ("España",),
}
CURRENCIES = ("USD", "EUR", "GBP")
SEGMENTS = ("SMB", "Mid-Market", "Enterprise")
INDUSTRIES = (
    "Manufacturing",
    "Logistics",
    "Food & Beverage",
    "Pharmaceuticals",
    "Energy",
    "Utilities",
    "Retail",
    "Healthcare",
    "Construction",
    "Transportation",
    "Chemicals",
    "Agriculture",
)
COMPANY_NOUNS = (
    "Analytics",
    "Logistics",
    "Systems",
    "Labs",
    "Foods",
    "Energy",
    "Health",
    "Robotics",
    "Industries",
    "Networks",
    "Dynamics",
    "Manufacturing",
    "Materials",
    "Works",
    "Pharma",
    "Freight",
    "Cold Storage",
    "Engineering",
    "Components",
    "Utilities",
    "Packaging",
    "Instruments",
    "Automation",
    "Distribution",
    "Agritech",
    "Plastics",
    "Metals",
    "Biotech",
    "Supply",
    "Fleet",
)
JOB_TITLES = (
    ("Operations Manager", 0.12),
    ("Plant Manager", 0.08),
    ("VP Operations", 0.05),
    ("Head of Supply Chain", 0.05),
    ("Facilities Manager", 0.07),
    ("IT Manager", 0.08),
    ("CIO", 0.02),
    ("CFO", 0.02),
    ("COO", 0.02),
    ("Maintenance Engineer", 0.08),
    ("Quality Manager", 0.06),
    ("Logistics Coordinator", 0.06),
    ("Data Engineer", 0.04),
    ("Procurement Manager", 0.05),
    ("Director of Engineering", 0.04),
    ("Energy Manager", 0.04),
    ("Product Manager", 0.04),
    ("Student", 0.02),
    ("Consultant", 0.06),
)
# HubSpot's original-source values, and the share of new contacts from each.
SOURCES = (
    "ORGANIC_SEARCH",
    "PAID_SEARCH",
    "PAID_SOCIAL",
    "EMAIL_MARKETING",
    "REFERRALS",
    "DIRECT_TRAFFIC",
    "SOCIAL_MEDIA",
    "OFFLINE",
    "OTHER_CAMPAIGNS",
)
SOURCE_SHARE = np.array([0.22, 0.19, 0.13, 0.10, 0.07, 0.12, 0.05, 0.08, 0.04])
# Paid social share grows over the three years (the LinkedIn programme ramps up) while
# organic share shrinks: the "we are buying growth" story of the dashboards.
SOURCE_DRIFT = np.array([-0.04, 0.0, 0.06, 0.0, 0.0, -0.02, 0.0, 0.0, 0.0])
REFERRERS = ("g2.com", "capterra.com", "partner.siemens-example.com", "iotforall.com", "reddit.com")

# Funnel by acquisition channel: P(MQL | lead), P(SQL | MQL). The burning channel (LinkedIn)
# and the efficient ones (brand search, e-mail, referrals) differ here, not in the ad data.
CHANNELS = (
    "organic",
    "brand",
    "nonbrand",
    "linkedin",
    "email",
    "referral",
    "direct",
    "social",
    "offline",
    "display",
    "other",
)
P_MQL = np.array([0.38, 0.62, 0.38, 0.32, 0.53, 0.60, 0.41, 0.20, 0.46, 0.14, 0.26])
P_SQL = np.array([0.50, 0.72, 0.48, 0.15, 0.62, 0.74, 0.55, 0.31, 0.53, 0.20, 0.36])
SEGMENT_SQL_FACTOR = np.array([0.92, 1.05, 1.2])

STAGE_LEAD, STAGE_MQL, STAGE_SQL, STAGE_OPPORTUNITY, STAGE_CUSTOMER = range(5)
LIFECYCLE_STAGES = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
)

CONTACTS_PER_SCALE = 50_000
COMPANIES_PER_SCALE = 15_000


@dataclass
class Companies:
    name: np.ndarray
    legal_name: np.ndarray
    domain: np.ndarray
    industry: np.ndarray  # index into INDUSTRIES
    employees: np.ndarray
    country: np.ndarray  # index into COUNTRIES
    region: np.ndarray  # 0 North America, 1 Europe
    currency: np.ndarray  # index into CURRENCIES
    segment: np.ndarray  # index into SEGMENTS
    email_pattern: np.ndarray

    @property
    def size(self) -> int:
        return self.name.size


@dataclass
class Contacts:
    """HubSpot contacts (duplicates included), indexed in HubSpot id order after `finalise`."""

    company: np.ndarray
    first: np.ndarray
    last: np.ndarray
    email: np.ndarray
    jobtitle: np.ndarray
    country_text: np.ndarray
    created_ms: np.ndarray
    visible_ms: np.ndarray
    source: np.ndarray  # index into SOURCES
    channel: np.ndarray  # index into CHANNELS
    source_data_1: np.ndarray
    program: np.ndarray  # acquisition programme (ad/e-mail/event), -1 when none
    utm_source: np.ndarray
    utm_medium: np.ndarray
    utm_campaign: np.ndarray
    stage_ms: np.ndarray  # (n, 5): lead, MQL, SQL, opportunity, customer; NEVER if not reached
    edit_ms: np.ndarray  # (n, 3) later property edits
    archived_ms: np.ndarray
    duplicate_of: np.ndarray
    sf_contact: np.ndarray  # index of the synced Salesforce contact, -1 when none
    sync_ms: np.ndarray
    hs_id: np.ndarray | None = None

    @property
    def size(self) -> int:
        return self.company.size


def _faker_pools(seed: int) -> dict[str, tuple[list[str], list[str]]]:
    """Sorted, de-duplicated first and last names per locale, drawn from a seeded Faker."""
    locales = sorted({country[3] for country in COUNTRIES})
    fake = Faker(locales)
    fake.seed_instance(seed)
    pools: dict[str, tuple[list[str], list[str]]] = {}
    for locale in locales:
        generator = fake[locale]
        firsts = sorted({generator.first_name() for _ in range(1200)})
        lasts = sorted({generator.last_name() for _ in range(1500)})
        pools[locale] = (firsts, lasts)
    return pools


def _free_email_domains(seed: int) -> list[str]:
    fake = Faker("en_US")
    fake.seed_instance(seed + 1)
    return sorted({fake.free_email_domain() for _ in range(60)})


def generate_companies(seed: int, scale: float) -> tuple[Companies, dict]:
    rng = rng_for(seed, "companies")
    n = max(40, round(COMPANIES_PER_SCALE * scale))
    pools = _faker_pools(seed)
    shares = np.array([c[4] for c in COUNTRIES])
    country = rng.choice(len(COUNTRIES), n, p=shares / shares.sum())
    names: list[str] = []
    seen: set[str] = set()
    nouns = len(COMPANY_NOUNS)
    for idx in country:
        locale = COUNTRIES[idx][3]
        lasts = pools[locale][1]
        while True:
            pattern = rng.random()
            a = lasts[rng.integers(len(lasts))]
            noun = COMPANY_NOUNS[rng.integers(nouns)]
            if pattern < 0.62:
                name = f"{a} {noun}"
            elif pattern < 0.85:
                b = lasts[rng.integers(len(lasts))]
                name = f"{a}-{b} {noun}"
            else:
                b = lasts[rng.integers(len(lasts))]
                name = f"{a} & {b}"
            if name not in seen:
                seen.add(name)
                names.append(name)
                break
    legal = [
        f"{name} {COUNTRIES[c][7][rng.integers(len(COUNTRIES[c][7]))]}"
        for name, c in zip(names, country, strict=True)
    ]
    domains: list[str] = []
    taken: set[str] = set()
    for name, c in zip(names, country, strict=True):
        stem = ascii_fold(name) or "company"
        tld = ".io" if rng.random() < 0.08 else COUNTRIES[c][6]
        domain = f"{stem}{tld}"
        suffix = 2
        while domain in taken:
            domain = f"{stem}{suffix}{tld}"
            suffix += 1
        taken.add(domain)
        domains.append(domain)
    employees = np.clip(np.round(rng.lognormal(5.0, 1.45, n)), 5, 60_000).astype(np.int64)
    segment = np.where(employees >= 2000, 2, np.where(employees >= 200, 1, 0))
    companies = Companies(
        name=obj_array(names),
        legal_name=obj_array(legal),
        domain=obj_array(domains),
        industry=rng.integers(0, len(INDUSTRIES), n),
        employees=employees,
        country=country,
        region=np.array([COUNTRIES[c][5] for c in country]),
        currency=np.array([CURRENCIES.index(COUNTRIES[c][2]) for c in country]),
        segment=segment,
        email_pattern=rng.choice(5, n, p=[0.55, 0.2, 0.1, 0.05, 0.1]),
    )
    return companies, pools


def _email_local(first: str, last: str, pattern: int) -> str:
    f, la = ascii_fold(first) or "x", ascii_fold(last) or "y"
    return (f"{f}.{la}", f"{f[0]}{la}", f, f"{f}{la[0]}", f"{f}_{la}")[pattern]


def generate_contacts(
    seed: int,
    scale: float,
    calendar: Calendar,
    companies: Companies,
    pools: dict,
    programs: Programs,
) -> Contacts:
    """New contacts per day with growth and seasonality, their source and funnel progress."""
    rng = rng_for(seed, "contacts")
    intensity = calendar.intensity()
    target = CONTACTS_PER_SCALE * scale * 0.97  # duplicates make up the rest
    created = spread_over_days(rng, rng.poisson(target * intensity), calendar.start_ms)
    n = created.size

    weights = np.sqrt(companies.employees.astype(float))
    company = rng.choice(companies.size, n, p=weights / weights.sum())
    region = companies.region[company]
    segment = companies.segment[company]

    progress = (created - calendar.start_ms) / (calendar.history_days * DAY_MS)
    shares = SOURCE_SHARE[None, :] + np.clip(progress, 0, 1.2)[:, None] * SOURCE_DRIFT[None, :]
    cumulative = np.cumsum(shares / shares.sum(axis=1, keepdims=True), axis=1)
    source = (rng.random(n)[:, None] > cumulative).sum(axis=1)

    # Channel and acquisition programme (the ad campaign, e-mail or event behind the source).
    channel = np.full(n, CHANNELS.index("other"))
    program = np.full(n, -1, dtype=np.int64)
    channel[source == SOURCES.index("ORGANIC_SEARCH")] = CHANNELS.index("organic")
    channel[source == SOURCES.index("REFERRALS")] = CHANNELS.index("referral")
    channel[source == SOURCES.index("DIRECT_TRAFFIC")] = CHANNELS.index("direct")
    channel[source == SOURCES.index("SOCIAL_MEDIA")] = CHANNELS.index("social")
    paid_search = np.flatnonzero(source == SOURCES.index("PAID_SEARCH"))
    brand = rng.random(paid_search.size) < 0.35
    channel[paid_search] = np.where(brand, CHANNELS.index("brand"), CHANNELS.index("nonbrand"))
    for kind, rows in ((KIND_BRAND, paid_search[brand]), (KIND_NONBRAND, paid_search[~brand])):
        program[rows] = programs.pick_ad(kind, region[rows], created[rows], rng)
    social = np.flatnonzero(source == SOURCES.index("PAID_SOCIAL"))
    channel[social] = CHANNELS.index("linkedin")
    program[social] = programs.pick_ad(KIND_LINKEDIN, region[social], created[social], rng)
    other = np.flatnonzero(source == SOURCES.index("OTHER_CAMPAIGNS"))
    display = other[rng.random(other.size) < 0.75]
    channel[display] = CHANNELS.index("display")
    program[display] = programs.pick_ad(KIND_DISPLAY, region[display], created[display], rng)
    email = np.flatnonzero(source == SOURCES.index("EMAIL_MARKETING"))
    channel[email] = CHANNELS.index("email")
    program[email] = programs.pick_latest(KIND_EMAIL, created[email], rng)
    offline = np.flatnonzero(source == SOURCES.index("OFFLINE"))
    channel[offline] = CHANNELS.index("offline")
    at_event = offline[rng.random(offline.size) < 0.7]
    program[at_event] = programs.pick_latest(KIND_EVENT, created[at_event], rng)

    utm_source, utm_medium, utm_campaign = messy_utm(programs, program, rng)
    source_data_1 = _source_drilldown(rng, source, program, programs, utm_campaign)

    stage_ms = _funnel(rng, created, channel, segment, source)
    first, last, email_addr, country_text = _identities(rng, company, companies, pools, seed)
    titles, title_p = zip(*JOB_TITLES, strict=True)
    p = np.array(title_p)
    jobtitle = obj_array(np.array(titles, dtype=object)[rng.choice(len(titles), n, p=p / p.sum())])
    jobtitle[rng.random(n) < 0.07] = None  # forms that do not ask for it

    visible = created.copy()
    late = rng.random(n) < 0.03  # imported later with their original create date
    visible[late] += rng.integers(2 * DAY_MS, 20 * DAY_MS, late.sum())
    edits = _edit_times(rng, visible, stage_ms, calendar.end_ms)
    contacts = Contacts(
        company=company,
        first=first,
        last=last,
        email=email_addr,
        jobtitle=jobtitle,
        country_text=country_text,
        created_ms=created,
        visible_ms=visible,
        source=source,
        channel=channel,
        source_data_1=source_data_1,
        program=program,
        utm_source=utm_source,
        utm_medium=utm_medium,
        utm_campaign=utm_campaign,
        stage_ms=stage_ms,
        edit_ms=edits,
        archived_ms=np.full(n, NEVER, dtype=np.int64),
        duplicate_of=np.full(n, -1, dtype=np.int64),
        sf_contact=np.full(n, -1, dtype=np.int64),
        sync_ms=np.full(n, NEVER, dtype=np.int64),
    )
    return contacts


def _source_drilldown(rng, source, program, programs: Programs, utm_campaign) -> np.ndarray:
    n = source.size
    out = np.empty(n, dtype=object)
    engines = np.where(rng.random(n) < 0.9, "google", "bing")
    for i in range(n):
        name = SOURCES[source[i]]
        if name == "ORGANIC_SEARCH":
            out[i] = engines[i]
        elif name in ("PAID_SEARCH", "OTHER_CAMPAIGNS", "PAID_SOCIAL"):
            out[i] = utm_campaign[i] or ("LinkedIn" if name == "PAID_SOCIAL" else None)
        elif name == "EMAIL_MARKETING":
            out[i] = programs.name[program[i]] if program[i] >= 0 else None
        elif name == "REFERRALS":
            out[i] = REFERRERS[i % len(REFERRERS)]
        elif name == "SOCIAL_MEDIA":
            out[i] = ("LinkedIn", "Twitter", "YouTube", "Facebook")[i % 4]
        elif name == "OFFLINE":
            out[i] = ("IMPORT", "INTEGRATION", "CRM_UI")[i % 3]
        else:
            out[i] = None
    return out


def _funnel(rng, created, channel, segment, source) -> np.ndarray:
    """When each contact becomes lead, MQL and SQL (opportunity/customer come from the CRM)."""
    n = created.size
    stage = np.full((n, 5), NEVER, dtype=np.int64)
    subscriber_p = np.where(source == SOURCES.index("EMAIL_MARKETING"), 0.3, 0.1)
    is_lead = rng.random(n) >= subscriber_p
    lead_lag = np.where(rng.random(n) < 0.2, rng.integers(0, 2 * DAY_MS, n), 0)
    lead = created + lead_lag
    mql = lead + (rng.exponential(12.0, n) * DAY_MS).astype(np.int64) + 60_000
    sql = mql + ((2.0 + rng.exponential(15.0, n)) * DAY_MS).astype(np.int64)
    p_sql = np.clip(P_SQL[channel] * SEGMENT_SQL_FACTOR[segment], 0, 0.95)
    reaches_mql = is_lead & (rng.random(n) < P_MQL[channel])
    reaches_sql = reaches_mql & (rng.random(n) < p_sql)
    stage[is_lead, STAGE_LEAD] = lead[is_lead]
    stage[reaches_mql, STAGE_MQL] = mql[reaches_mql]
    stage[reaches_sql, STAGE_SQL] = sql[reaches_sql]
    return stage


def _identities(rng, company, companies: Companies, pools, seed):
    n = company.size
    country = companies.country[company]
    first = np.empty(n, dtype=object)
    last = np.empty(n, dtype=object)
    for c, spec in enumerate(COUNTRIES):
        rows = np.flatnonzero(country == c)
        firsts, lasts = pools[spec[3]]
        first[rows] = np.array(firsts, dtype=object)[rng.integers(0, len(firsts), rows.size)]
        last[rows] = np.array(lasts, dtype=object)[rng.integers(0, len(lasts), rows.size)]
    free_domains = _free_email_domains(seed)
    personal = rng.random(n) < 0.04
    free_pick = rng.integers(0, len(free_domains), n)
    emails = np.empty(n, dtype=object)
    taken: set[str] = set()
    for i in range(n):
        co = company[i]
        if personal[i]:
            local = _email_local(first[i], last[i], 0)
            domain = free_domains[free_pick[i]]
        else:
            local = _email_local(first[i], last[i], companies.email_pattern[co])
            domain = companies.domain[co]
        address = f"{local}@{domain}"
        k = 2
        while address in taken:
            address = f"{local}{k}@{domain}"
            k += 1
        taken.add(address)
        emails[i] = address
    spelling = rng.random(n)
    country_text = np.empty(n, dtype=object)
    for i in range(n):
        code, full = COUNTRIES[country[i]][0], COUNTRIES[country[i]][1]
        if spelling[i] < 0.85:
            country_text[i] = full
        elif spelling[i] < 0.93:
            country_text[i] = code
        elif spelling[i] < 0.98:
            variants = COUNTRY_SPELLINGS[code]
            country_text[i] = variants[i % len(variants)]
        else:
            country_text[i] = None
    return first, last, emails, country_text


def _edit_times(rng, visible, stage_ms, end_ms) -> np.ndarray:
    """Later property edits (form re-submissions, owner changes, enrichment), up to three."""
    n = visible.size
    engaged = (stage_ms[:, STAGE_MQL] < NEVER).astype(float)
    counts = np.minimum(rng.poisson(0.8 + 1.2 * engaged), 3)
    gaps = (rng.exponential(70.0, (n, 3)) * DAY_MS).astype(np.int64) + 3_600_000
    times = visible[:, None] + np.cumsum(gaps, axis=1)
    times[np.arange(3)[None, :] >= counts[:, None]] = NEVER
    times[times >= end_ms] = NEVER
    return times


def add_duplicates_and_archive(
    seed: int, contacts: Contacts, calendar: Calendar, pools: dict
) -> Contacts:
    """The same person twice (another e-mail), and contacts deleted (archived) later."""
    rng = rng_for(seed, "duplicates")
    n = contacts.size
    never_sql = contacts.stage_ms[:, STAGE_SQL] == NEVER
    originals = np.flatnonzero((rng.random(n) < 0.03) & never_sql)
    k = originals.size
    free_domains = _free_email_domains(seed)
    created = contacts.created_ms[originals] + rng.integers(5 * DAY_MS, 300 * DAY_MS, k)
    taken = set(contacts.email)
    emails = np.empty(k, dtype=object)
    for j, i in enumerate(originals):
        first, last = contacts.first[i], contacts.last[i]
        if j % 2 == 0:
            address = f"{_email_local(first, last, 0)}@{free_domains[j % len(free_domains)]}"
        else:
            domain = contacts.email[i].split("@", 1)[1]
            address = f"{_email_local(first, last, 1 + j % 3)}@{domain}"
        stem, at, dom = address.partition("@")
        suffix = 2
        while address in taken:
            address = f"{stem}{suffix}{at}{dom}"
            suffix += 1
        taken.add(address)
        emails[j] = address
    stage = np.full((k, 5), NEVER, dtype=np.int64)
    as_lead = rng.random(k) < 0.8
    stage[as_lead, STAGE_LEAD] = created[as_lead]
    origins = (("OFFLINE", "offline"), ("ORGANIC_SEARCH", "organic"), ("DIRECT_TRAFFIC", "direct"))
    pick = rng.choice(len(origins), k, p=[0.5, 0.3, 0.2])
    source = np.array([SOURCES.index(s) for s, _ in origins])[pick]
    channel = np.array([CHANNELS.index(c) for _, c in origins])[pick]
    drill = np.array(
        ["IMPORT" if s == SOURCES.index("OFFLINE") else None for s in source], dtype=object
    )
    none = np.full(k, None, dtype=object)
    edits = _edit_times(rng, created, stage, calendar.end_ms)
    merged = Contacts(
        company=np.concatenate([contacts.company, contacts.company[originals]]),
        first=np.concatenate([contacts.first, contacts.first[originals]]),
        last=np.concatenate([contacts.last, contacts.last[originals]]),
        email=np.concatenate([contacts.email, emails]),
        jobtitle=np.concatenate([contacts.jobtitle, contacts.jobtitle[originals]]),
        country_text=np.concatenate([contacts.country_text, contacts.country_text[originals]]),
        created_ms=np.concatenate([contacts.created_ms, created]),
        visible_ms=np.concatenate([contacts.visible_ms, created]),
        source=np.concatenate([contacts.source, source]),
        channel=np.concatenate([contacts.channel, channel]),
        source_data_1=np.concatenate([contacts.source_data_1, drill]),
        program=np.concatenate([contacts.program, np.full(k, -1, dtype=np.int64)]),
        utm_source=np.concatenate([contacts.utm_source, none]),
        utm_medium=np.concatenate([contacts.utm_medium, none]),
        utm_campaign=np.concatenate([contacts.utm_campaign, none]),
        stage_ms=np.concatenate([contacts.stage_ms, stage]),
        edit_ms=np.concatenate([contacts.edit_ms, edits]),
        archived_ms=np.concatenate([contacts.archived_ms, np.full(k, NEVER, dtype=np.int64)]),
        duplicate_of=np.concatenate([contacts.duplicate_of, originals]),
        sf_contact=np.concatenate([contacts.sf_contact, np.full(k, -1, dtype=np.int64)]),
        sync_ms=np.concatenate([contacts.sync_ms, np.full(k, NEVER, dtype=np.int64)]),
    )
    # Archive: a third of the duplicates are cleaned up; 1% of other never-SQL contacts are
    # deleted on request (unsubscribe, privacy).
    total = merged.size
    is_dup = merged.duplicate_of >= 0
    archive = (is_dup & (rng.random(total) < 0.33)) | (
        ~is_dup & (merged.stage_ms[:, STAGE_SQL] == NEVER) & (rng.random(total) < 0.01)
    )
    when = merged.visible_ms + rng.integers(10 * DAY_MS, 200 * DAY_MS, total)
    merged.archived_ms = np.where(archive & (when < calendar.end_ms), when, NEVER)
    merged.edit_ms = np.where(merged.edit_ms < merged.archived_ms[:, None], merged.edit_ms, NEVER)
    return merged
