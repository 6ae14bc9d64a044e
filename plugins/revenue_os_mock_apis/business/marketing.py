"""Marketing programmes: ad campaigns with daily metrics, marketing e-mails and events.

One table holds every programme a UTM or a CRM campaign can point at, so HubSpot touches,
Salesforce Campaigns and the ad platforms all name the same things (with the usual mess).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from revenue_os_mock_apis.business.core import (
    DAY_MS,
    Calendar,
    obj_array,
    rng_for,
    slugify,
    stable_u64,
)

KIND_BRAND, KIND_NONBRAND, KIND_DISPLAY, KIND_LINKEDIN, KIND_EMAIL, KIND_EVENT = range(6)
AD_KINDS = (KIND_BRAND, KIND_NONBRAND, KIND_DISPLAY, KIND_LINKEDIN)
GOOGLE_KINDS = (KIND_BRAND, KIND_NONBRAND, KIND_DISPLAY)
REGIONS = ("US", "EU")
ALWAYS_ON_END = 10**7  # a day index far beyond any horizon

# Google Ads accounts: (region, currency, name); LinkedIn has one ad account in USD.
GOOGLE_ACCOUNTS = (
    ("US", "USD", "Northwind Telemetry - US"),
    ("EU", "EUR", "Northwind Telemetry - EU"),
)
LINKEDIN_ACCOUNT_CURRENCY = "USD"
EUR_PER_USD = 1 / 1.08


@dataclass(frozen=True)
class KindEconomics:
    """Typical daily volume and unit costs of a campaign type, in USD."""

    impressions: float
    ctr: float
    cpc: float  # 0 when bought per impression
    cpm: float
    cvr: float
    value_per_conversion: float
    active_per_scale: float  # campaigns running on an average day at scale 1
    min_days: int
    max_days: int


ECONOMICS: dict[int, KindEconomics] = {
    KIND_BRAND: KindEconomics(1100, 0.085, 1.6, 0.0, 0.09, 320.0, 4, 0, 0),
    KIND_NONBRAND: KindEconomics(1000, 0.032, 6.5, 0.0, 0.03, 320.0, 41, 90, 540),
    KIND_DISPLAY: KindEconomics(22000, 0.0028, 0.0, 4.2, 0.004, 150.0, 18, 30, 150),
    KIND_LINKEDIN: KindEconomics(4500, 0.0055, 11.5, 62.0, 0.012, 0.0, 29, 30, 180),
}

NONBRAND_THEMES = (
    "IoT Monitoring",
    "Asset Tracking",
    "Cold Chain",
    "Predictive Maintenance",
    "Energy Monitoring",
    "Fleet Telematics",
    "Industrial Sensors",
    "Remote Monitoring",
    "Compliance Logging",
    "Condition Monitoring",
    "Warehouse Sensors",
    "Smart Building",
)
BRAND_THEMES = ("Core", "Product Names", "Misspellings", "Platform", "Sensors", "Gateways")
DISPLAY_AUDIENCES = (
    "Retargeting",
    "In-Market Industrial",
    "Lookalike Customers",
    "Custom Intent",
    "Trade Media Placements",
)
LINKEDIN_AUDIENCES = (
    "Ops Leaders",
    "Plant Managers",
    "IT Directors",
    "Supply Chain",
    "ABM Enterprise",
    "Facilities Managers",
    "CFO Office",
)
LINKEDIN_FORMATS = ("Sponsored Content", "Lead Gen Form", "Conversation Ads", "Video")
EMAIL_TOPICS = (
    "Cold Chain Compliance",
    "Gateway 2.0 Launch",
    "Energy Savings Report",
    "Customer Story: Food Logistics",
    "Predictive Maintenance Guide",
    "Sensor Battery Life",
    "Year in Review",
    "Pricing Update",
)
TRADE_SHOWS = ("Hannover Messe", "IoT World", "Automate", "LogiMAT", "ProMat", "Embedded World")
SALESFORCE_CAMPAIGN_TYPE = {
    KIND_BRAND: "Paid Search",
    KIND_NONBRAND: "Paid Search",
    KIND_DISPLAY: "Banner Ads",
    KIND_LINKEDIN: "Paid Social",
    KIND_EMAIL: "Email",
}

# UTM spellings as people actually type them: (value, share). Campaign variants are per name.
UTM_SOURCES: dict[int, tuple[tuple[str, float], ...]] = {
    KIND_BRAND: (("google", 0.82), ("Google", 0.09), ("adwords", 0.06), ("gogle", 0.03)),
    KIND_NONBRAND: (("google", 0.82), ("Google", 0.09), ("adwords", 0.06), ("gogle", 0.03)),
    KIND_DISPLAY: (("google", 0.8), ("Google", 0.1), ("gdn", 0.06), ("adwords", 0.04)),
    KIND_LINKEDIN: (("linkedin", 0.8), ("LinkedIn", 0.14), ("lnkd.in", 0.06)),
    KIND_EMAIL: (("hubspot", 0.6), ("newsletter", 0.25), ("Newsletter", 0.1), ("hs_email", 0.05)),
}
UTM_MEDIUMS: dict[int, tuple[tuple[str, float], ...]] = {
    KIND_BRAND: (("cpc", 0.8), ("ppc", 0.1), ("paid", 0.06), ("CPC", 0.04)),
    KIND_NONBRAND: (("cpc", 0.8), ("ppc", 0.1), ("paid", 0.06), ("CPC", 0.04)),
    KIND_DISPLAY: (("display", 0.85), ("cpm", 0.07), ("Display", 0.05), ("banner", 0.03)),
    KIND_LINKEDIN: (("paid_social", 0.75), ("cpc", 0.15), ("social", 0.1)),
    KIND_EMAIL: (("email", 0.85), ("Email", 0.1), ("e-mail", 0.05)),
}
# canonical slug, Title-Case, snake_case, the raw name with spaces, a typo
CAMPAIGN_VARIANT_SHARE = np.array([0.80, 0.07, 0.06, 0.03, 0.04])
UTM_CONTENT: dict[int, tuple[str, ...]] = {
    KIND_BRAND: ("rsa-1", "rsa-2", "rsa-3"),
    KIND_NONBRAND: ("rsa-1", "rsa-2", "rsa-3"),
    KIND_DISPLAY: ("banner-300x250", "banner-728x90", "responsive"),
    KIND_LINKEDIN: ("single-image", "carousel", "video-15s", "lead-gen-form"),
    KIND_EMAIL: ("cta-button", "header-link", "footer-link"),
}
SOURCE_STRINGS: tuple[str, ...] = tuple(
    sorted({value for options in UTM_SOURCES.values() for value, _ in options})
)
MEDIUM_STRINGS: tuple[str, ...] = tuple(
    sorted({value for options in UTM_MEDIUMS.values() for value, _ in options})
)
CONTENT_STRINGS: tuple[str, ...] = tuple(
    sorted({value for options in UTM_CONTENT.values() for value in options})
)


@dataclass
class AdDays:
    """One row per ad campaign and day with impressions > 0: the final (settled) metrics."""

    program: np.ndarray
    day: np.ndarray
    impressions: np.ndarray
    clicks: np.ndarray
    cost: np.ndarray  # in the account's currency, 2 decimals
    conversions: np.ndarray
    conversion_value: np.ndarray


@dataclass
class Programs:
    kind: np.ndarray
    region: np.ndarray
    name: np.ndarray
    slug: np.ndarray
    start_day: np.ndarray
    end_day: np.ndarray
    created_ms: np.ndarray
    external_id: np.ndarray
    account: np.ndarray  # Google customer index, 0 for LinkedIn, -1 otherwise
    cost_type: np.ndarray
    daily_budget: np.ndarray
    sf_type: np.ndarray
    aborted: np.ndarray
    campaign_variants: np.ndarray  # (n, 5) utm_campaign spellings
    google_customer_ids: tuple[int, ...]
    google_manager_id: int
    linkedin_account_id: int
    linkedin_group_ids: np.ndarray
    days: AdDays
    start_ms: int
    _pickers: dict = field(default_factory=dict)
    _latest: dict = field(default_factory=dict)

    @property
    def size(self) -> int:
        return self.kind.size

    def pick_ad(
        self, kind: int, region: np.ndarray, when_ms: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """Campaigns of `kind` running on each moment's day, weighted by that day's clicks.

        Falls back to the other region, then (for search) to brand campaigns, then to -1
        (an untagged click).
        """
        day = np.asarray((when_ms - self.start_ms) // DAY_MS, dtype=np.int64)
        result = np.full(day.size, -1, dtype=np.int64)
        attempts = [(kind, 0), (kind, 1)]
        if kind == KIND_NONBRAND:
            attempts += [(KIND_BRAND, 0), (KIND_BRAND, 1)]
        u = rng.random(day.size)
        for attempt_kind, flip in attempts:
            todo = np.flatnonzero(result < 0)
            if todo.size == 0:
                break
            for r in (0, 1):
                rows = todo[(region[todo] ^ flip) == r] if flip else todo[region[todo] == r]
                if rows.size:
                    result[rows] = self._pick_in_group(attempt_kind, r, day[rows], u[rows])
        return result

    def _pick_in_group(self, kind: int, region: int, day: np.ndarray, u: np.ndarray) -> np.ndarray:
        ptr, program, cumulative = self._pickers[(kind, region)]
        if program.size == 0:
            return np.full(day.size, -1, dtype=np.int64)
        inside = (day >= 0) & (day < ptr.size - 1)
        d = np.clip(day, 0, ptr.size - 2)
        lo, hi = ptr[d], ptr[d + 1]
        base = np.where(lo > 0, cumulative[np.maximum(lo - 1, 0)], 0)
        top = np.where(hi > 0, cumulative[np.maximum(hi - 1, 0)], 0)
        target = base + u * (top - base)
        idx = np.clip(np.searchsorted(cumulative, target, side="right"), lo, np.maximum(hi - 1, lo))
        return np.where((hi > lo) & inside, program[np.minimum(idx, program.size - 1)], -1)

    def pick_latest(self, kind: int, when_ms: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The e-mail sent (or event held) most recently before each moment, sometimes older."""
        times, programs = self._latest[kind]
        back = rng.choice(3, when_ms.size, p=[0.7, 0.2, 0.1])
        latest = np.searchsorted(times, when_ms, side="right") - 1
        chosen = np.maximum(latest - back, 0)
        return (
            np.where(latest >= 0, programs[chosen], -1)
            if programs.size
            else np.full(when_ms.size, -1)
        )


def _unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        count = seen.get(name, 0) + 1
        seen[name] = count
        out.append(name if count == 1 else f"{name} #{count}")
    return out


def _quarter(calendar: Calendar, day: int) -> str:
    moment = np.datetime64(calendar.start, "D") + int(max(day, -400))
    year, month = int(str(moment)[:4]), int(str(moment)[5:7])
    return f"{year}-Q{(month - 1) // 3 + 1}"


def _month_label(calendar: Calendar, day: int) -> tuple[str, str]:
    moment = np.datetime64(calendar.start, "D") + int(day)
    text = str(moment)
    names = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    return text[:7], f"{names[int(text[5:7]) - 1]} {text[:4]}"


def generate_programs(seed: int, scale: float, calendar: Calendar) -> Programs:
    rng = rng_for(seed, "programs")
    total = calendar.total_days
    rows: list[dict] = []

    brand_per_region = max(1, round(2 * scale))
    brand_excess = brand_per_region * 2 - ECONOMICS[KIND_BRAND].active_per_scale * scale
    for region in (0, 1):
        for k in range(brand_per_region):
            theme = BRAND_THEMES[k % len(BRAND_THEMES)]
            rows.append(
                {
                    "kind": KIND_BRAND,
                    "region": region,
                    "name": f"{REGIONS[region]} | Search | Brand | {theme}",
                    "start": -int(rng.integers(30, 400)),
                    "end": ALWAYS_ON_END,
                }
            )
    for kind in (KIND_NONBRAND, KIND_DISPLAY, KIND_LINKEDIN):
        econ = ECONOMICS[kind]
        active = econ.active_per_scale * scale
        if kind == KIND_NONBRAND:
            active = max(0.5, active - max(0.0, brand_excess))
        mean_days = (econ.min_days + econ.max_days) / 2
        count = max(2, round(active * (total + mean_days) / mean_days))
        starts = rng.integers(-int(mean_days), total, count)
        lengths = rng.integers(econ.min_days, econ.max_days + 1, count)
        regions = (rng.random(count) < 0.42).astype(int)
        for s, length, region in zip(starts, lengths, regions, strict=True):
            quarter = _quarter(calendar, int(s))
            if kind == KIND_NONBRAND:
                theme = NONBRAND_THEMES[rng.integers(len(NONBRAND_THEMES))]
                name = f"{REGIONS[region]} | Search | {theme} | {quarter}"
            elif kind == KIND_DISPLAY:
                audience = DISPLAY_AUDIENCES[rng.integers(len(DISPLAY_AUDIENCES))]
                name = f"{REGIONS[region]} | Display | {audience} | {_month_label(calendar, max(int(s), -300))[0]}"
            else:
                audience = LINKEDIN_AUDIENCES[rng.integers(len(LINKEDIN_AUDIENCES))]
                fmt = LINKEDIN_FORMATS[rng.integers(len(LINKEDIN_FORMATS))]
                name = f"LI | {REGIONS[region]} | {audience} | {fmt} | {quarter}"
            rows.append(
                {
                    "kind": kind,
                    "region": region,
                    "name": name,
                    "start": int(s),
                    "end": int(s + length),
                }
            )
    # Marketing e-mails: a newsletter and one other send each month, independent of scale.
    month_starts = np.unique(calendar.day_dates().astype("datetime64[M]"))
    for month in month_starts:
        first_day = int(
            (month.astype("datetime64[D]") - np.datetime64(calendar.start, "D")).astype(int)
        )
        label = str(month)
        for k, offset in enumerate((int(rng.integers(1, 6)), int(rng.integers(12, 20)))):
            day = first_day + offset
            if not 0 <= day < total:
                continue
            topic = EMAIL_TOPICS[rng.integers(len(EMAIL_TOPICS))]
            name = (
                f"{label} Newsletter"
                if k == 0
                else f"{label} {('Product Update', 'Webinar Invite')[int(rng.integers(2))]}: {topic}"
            )
            rows.append(
                {"kind": KIND_EMAIL, "region": 2, "name": name, "start": day, "end": day + 30}
            )
        day = first_day + int(rng.integers(6, 26))
        if 0 <= day < total:
            _, month_name = _month_label(calendar, day)
            if rng.random() < 0.67:
                topic = EMAIL_TOPICS[rng.integers(len(EMAIL_TOPICS))]
                name, sf_type = f"Webinar: {topic} ({month_name})", "Webinar"
            else:
                show = TRADE_SHOWS[rng.integers(len(TRADE_SHOWS))]
                name, sf_type = f"Trade Show: {show} {month_name[-4:]}", "Trade Show"
            rows.append(
                {
                    "kind": KIND_EVENT,
                    "region": 2,
                    "name": name,
                    "start": day,
                    "end": day + 1,
                    "sf_type": sf_type,
                }
            )

    rows.sort(key=lambda r: (r["start"], r["kind"], r["name"]))
    n = len(rows)
    kind = np.array([r["kind"] for r in rows], dtype=np.int64)
    region = np.array([r["region"] for r in rows], dtype=np.int64)
    names = _unique_names([r["name"] for r in rows])
    start = np.array([r["start"] for r in rows], dtype=np.int64)
    end = np.array([r["end"] for r in rows], dtype=np.int64)
    lead_days = np.where(
        kind == KIND_EVENT,
        45,
        np.where(kind == KIND_EMAIL, rng.integers(2, 10, n), rng.integers(1, 10, n)),
    )
    created = calendar.start_ms + (start - lead_days) * DAY_MS + rng.integers(8, 18, n) * 3_600_000
    external = np.zeros(n, dtype=np.int64)
    google_rows = np.isin(kind, GOOGLE_KINDS)
    external[google_rows] = 17_000_000_000 + np.cumsum(
        rng.integers(1_000, 90_000, google_rows.sum())
    )
    linkedin_rows = kind == KIND_LINKEDIN
    external[linkedin_rows] = 160_000_000 + np.cumsum(rng.integers(50, 9_000, linkedin_rows.sum()))
    email_rows = kind == KIND_EMAIL
    external[email_rows] = 100_000_000 + np.cumsum(rng.integers(500, 30_000, email_rows.sum()))
    account = np.where(google_rows, region, np.where(linkedin_rows, 0, -1))
    cost_type = obj_array(
        ("CPM" if rng.random() < 0.4 else "CPC") if k == KIND_LINKEDIN else None for k in kind
    )
    sf_type = obj_array(r.get("sf_type") or SALESFORCE_CAMPAIGN_TYPE[r["kind"]] for r in rows)
    size = rng.lognormal(0.0, 0.5, n)
    budget = np.zeros(n)
    for k, econ in ECONOMICS.items():
        sel = kind == k
        per_day = econ.impressions * (econ.ctr * econ.cpc if econ.cpc else econ.cpm / 1000)
        budget[sel] = np.round(per_day * size[sel] * 1.4 / 10) * 10
    variants = _campaign_variants(names, rng)
    programs = Programs(
        kind=kind,
        region=region,
        name=obj_array(names),
        slug=obj_array(slugify(x) for x in names),
        start_day=start,
        end_day=end,
        created_ms=created.astype(np.int64),
        external_id=external,
        account=account,
        cost_type=cost_type,
        daily_budget=budget,
        sf_type=sf_type,
        aborted=(rng.random(n) < 0.03) & np.isin(kind, AD_KINDS) & (end < ALWAYS_ON_END),
        campaign_variants=variants,
        google_customer_ids=tuple(
            1_000_000_000 + stable_u64(seed, "google-customer", i) % 8_999_999_999 for i in range(2)
        ),
        google_manager_id=1_000_000_000 + stable_u64(seed, "google-manager") % 8_999_999_999,
        linkedin_account_id=507_000_000 + stable_u64(seed, "linkedin-account") % 999_999,
        linkedin_group_ids=600_000_000 + np.arange(len(LINKEDIN_AUDIENCES)) * 7_919 + seed % 1000,
        days=_ad_days(seed, calendar, kind, region, start, end, size),
        start_ms=calendar.start_ms,
    )
    _build_pickers(programs, calendar)
    return programs


def _campaign_variants(names: list[str], rng: np.random.Generator) -> np.ndarray:
    out = np.empty((len(names), 5), dtype=object)
    for i, name in enumerate(names):
        slug = slugify(name)
        title = "-".join(part.capitalize() for part in slug.split("-"))
        letters = [j for j, ch in enumerate(slug) if ch.isalpha()]
        drop = letters[int(rng.integers(len(letters)))] if letters else 0
        typo = slug[:drop] + slug[drop + 1 :]
        out[i] = (slug, title, slug.replace("-", "_"), name, typo)
    return out


def _ad_days(seed, calendar: Calendar, kind, region, start, end, size) -> AdDays:
    rng = rng_for(seed, "ad-days")
    total = calendar.total_days
    is_ad = np.isin(kind, AD_KINDS)
    first = np.where(is_ad, np.clip(start, 0, total), 0)
    last = np.where(is_ad, np.clip(end, 0, total), 0)
    lengths = np.maximum(last - first, 0)
    program = np.repeat(np.arange(kind.size), lengths)
    offsets = np.arange(program.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    day = np.repeat(first, lengths) + offsets
    relative = calendar.intensity() * calendar.history_days
    k = kind[program]
    econ = [ECONOMICS.get(int(x)) for x in range(4)]
    base = np.array([e.impressions for e in econ])[k]
    ctr = np.array([e.ctr for e in econ])[k] * np.repeat(rng.lognormal(0, 0.25, kind.size), lengths)
    mean_impressions = base * size[program] * relative[day] * rng.lognormal(0, 0.25, day.size)
    impressions = rng.poisson(mean_impressions)
    impressions[rng.random(day.size) < 0.03] = 0  # paused for the day, budget capped
    clicks = rng.binomial(impressions, np.clip(ctr, 0, 0.5))
    cpc = np.array([e.cpc for e in econ])[k] * np.repeat(rng.lognormal(0, 0.2, kind.size), lengths)
    cpm = np.array([e.cpm for e in econ])[k] * np.repeat(rng.lognormal(0, 0.2, kind.size), lengths)
    per_impression = (k == KIND_DISPLAY) | (
        (k == KIND_LINKEDIN) & (rng.random(kind.size) < 0.4)[program]
    )
    cost_usd = np.where(
        per_impression,
        impressions / 1000 * cpm * rng.uniform(0.9, 1.1, day.size),
        clicks * cpc * rng.uniform(0.85, 1.15, day.size),
    )
    in_eur = (region[program] == 1) & (k != KIND_LINKEDIN)
    fx = np.where(in_eur, EUR_PER_USD, 1.0)
    cvr = np.array([e.cvr for e in econ])[k]
    converted = rng.binomial(clicks, cvr)
    fractional = k != KIND_LINKEDIN  # Google's data-driven attribution splits conversions
    conversions = np.where(
        fractional, np.round(converted * rng.uniform(0.75, 1.0, day.size), 2), converted
    )
    value = np.array([e.value_per_conversion for e in econ])[k]
    keep = impressions > 0
    return AdDays(
        program=program[keep],
        day=day[keep],
        impressions=impressions[keep].astype(np.int64),
        clicks=clicks[keep].astype(np.int64),
        cost=np.round(cost_usd * fx, 2)[keep],
        conversions=conversions[keep].astype(float),
        conversion_value=np.round(conversions * value * fx, 2)[keep],
    )


def _build_pickers(programs: Programs, calendar: Calendar) -> None:
    days = programs.days
    total = calendar.total_days
    for kind in AD_KINDS:
        for region in (0, 1):
            member = (programs.kind[days.program] == kind) & (
                programs.region[days.program] == region
            )
            rows = np.flatnonzero(member)
            order = np.lexsort((days.program[rows], days.day[rows]))
            rows = rows[order]
            ptr = np.searchsorted(days.day[rows], np.arange(total + 1), side="left")
            cumulative = np.cumsum(days.clicks[rows] + 1).astype(np.float64)
            programs._pickers[(kind, region)] = (ptr, days.program[rows], cumulative)
    for kind in (KIND_EMAIL, KIND_EVENT):
        rows = np.flatnonzero(programs.kind == kind)
        send_ms = calendar.start_ms + programs.start_day[rows] * DAY_MS + 10 * 3_600_000
        order = np.argsort(send_ms, kind="stable")
        programs._latest[kind] = (send_ms[order], rows[order])


def messy_utm(
    programs: Programs, program: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """utm_source / utm_medium / utm_campaign strings as typed by people, for each programme.

    Events and untagged traffic (program -1) carry no UTMs.
    """
    codes = utm_codes(programs, program, rng)
    return decode_utm(programs, program, *codes)


def utm_codes(
    programs: Programs, program: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = program.size
    source = np.full(n, -1, dtype=np.int16)
    medium = np.full(n, -1, dtype=np.int16)
    variant = rng.choice(5, n, p=CAMPAIGN_VARIANT_SHARE).astype(np.int8)
    kinds = np.where(program >= 0, programs.kind[np.maximum(program, 0)], -1)
    for kind, options in UTM_SOURCES.items():
        rows = np.flatnonzero(kinds == kind)
        values, shares = zip(*options, strict=True)
        lookup = np.array([SOURCE_STRINGS.index(v) for v in values], dtype=np.int16)
        source[rows] = lookup[rng.choice(len(values), rows.size, p=np.array(shares) / sum(shares))]
        values, shares = zip(*UTM_MEDIUMS[kind], strict=True)
        lookup = np.array([MEDIUM_STRINGS.index(v) for v in values], dtype=np.int16)
        medium[rows] = lookup[rng.choice(len(values), rows.size, p=np.array(shares) / sum(shares))]
    variant[source < 0] = -1
    return source, medium, variant


def decode_utm(programs: Programs, program, source, medium, variant):
    n = program.size
    src = np.full(n, None, dtype=object)
    med = np.full(n, None, dtype=object)
    camp = np.full(n, None, dtype=object)
    tagged = np.flatnonzero(source >= 0)
    src[tagged] = np.array(SOURCE_STRINGS, dtype=object)[source[tagged]]
    med[tagged] = np.array(MEDIUM_STRINGS, dtype=object)[medium[tagged]]
    camp[tagged] = programs.campaign_variants[program[tagged], variant[tagged]]
    return src, med, camp
