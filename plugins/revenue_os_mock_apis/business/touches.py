"""Marketing touches: the HubSpot events (form submissions, e-mail and ad clicks, page views).

Half a million rows at scale 1, so everything here is vectorised; a touch is a handful of small
integers (contact, time, type, codes into string tables) until the API renders a page of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from revenue_os_mock_apis.business.core import DAY_MS, NEVER, Calendar, rng_for
from revenue_os_mock_apis.business.marketing import (
    CONTENT_STRINGS,
    KIND_BRAND,
    KIND_DISPLAY,
    KIND_EMAIL,
    KIND_LINKEDIN,
    KIND_NONBRAND,
    UTM_CONTENT,
    Programs,
    utm_codes,
)
from revenue_os_mock_apis.business.people import (
    STAGE_LEAD,
    STAGE_MQL,
    STAGE_SQL,
    Contacts,
)

EVENT_TYPES = ("e_form_submission", "e_email_click", "e_ad_click", "e_visited_page")
FORM, EMAIL_CLICK, AD_CLICK, PAGE_VIEW = range(4)
SITE = "https://www.northwind-telemetry.com"
PAGES = (
    "/",
    "/pricing",
    "/product/platform",
    "/product/sensors",
    "/product/gateways",
    "/solutions/manufacturing",
    "/solutions/cold-chain",
    "/solutions/energy",
    "/customers",
    "/demo",
    "/contact",
    "/webinars",
    "/docs/getting-started",
    "/blog/predictive-maintenance-roi",
    "/blog/cold-chain-compliance-checklist",
    "/blog/lorawan-vs-nb-iot",
    "/blog/energy-monitoring-101",
    "/blog/sensor-battery-life",
    "/lp/demo-request",
    "/lp/ebook-iot-monitoring",
)
FORMS = (
    ("Demo request", 0.22),
    ("Contact us", 0.12),
    ("Ebook download", 0.2),
    ("Webinar registration", 0.16),
    ("Newsletter signup", 0.14),
    ("Pricing request", 0.1),
    ("Free trial", 0.06),
)
TOUCHES_PER_CONTACT = 12.3


@dataclass
class Touches:
    """Sorted by (occurred_ms, id_hi, id_lo): the order the Events API pages in."""

    occurred_ms: np.ndarray
    id_hi: np.ndarray  # the event id's 128 bits, version-4 layout
    id_lo: np.ndarray
    contact: np.ndarray
    type: np.ndarray
    url: np.ndarray
    program: np.ndarray
    utm_source: np.ndarray
    utm_medium: np.ndarray
    utm_variant: np.ndarray
    utm_content: np.ndarray
    form: np.ndarray

    @property
    def size(self) -> int:
        return self.occurred_ms.size


def generate_touches(
    seed: int, calendar: Calendar, contacts: Contacts, programs: Programs, region: np.ndarray
) -> Touches:
    rng = rng_for(seed, "touches")
    n = contacts.size
    stage = contacts.stage_ms
    # Engagement grows with funnel progress; normalised so the total hits the target.
    weight = 0.5 + 1.0 * (stage[:, STAGE_LEAD] < NEVER) + 1.6 * (stage[:, STAGE_MQL] < NEVER)
    weight += 1.6 * (stage[:, STAGE_SQL] < NEVER)
    acquisition_count = 2 * (contacts.program >= 0) + 1
    extra_target = max(TOUCHES_PER_CONTACT * n - acquisition_count.sum(), 0)
    follow_ups = rng.poisson(weight * extra_target / weight.sum())

    # Acquisition touches: the ad click or e-mail click, then the form that created the contact.
    created = contacts.created_ms
    tagged = np.flatnonzero(contacts.program >= 0)
    offline = contacts.source_data_1 == "IMPORT"
    forms_rows = np.flatnonzero(~offline)
    pre_kind = programs.kind[contacts.program[tagged]]
    pre_type = np.where(
        pre_kind == KIND_EMAIL, EMAIL_CLICK, np.where(pre_kind > KIND_EMAIL, -1, AD_CLICK)
    )
    pre_keep = pre_type >= 0
    pre_rows = tagged[pre_keep]
    parts = {
        "contact": [forms_rows, pre_rows],
        "ms": [
            created[forms_rows],
            created[pre_rows] - rng.integers(5_000, 900_000, pre_rows.size),
        ],
        "type": [np.full(forms_rows.size, FORM), pre_type[pre_keep]],
        "program": [contacts.program[forms_rows], contacts.program[pre_rows]],
    }
    # Follow-up touches: a few anonymous visits before the contact existed, the rest after.
    contact = np.repeat(np.arange(n), follow_ups)
    before = rng.random(contact.size) < 0.12
    offset = (rng.exponential(110.0, contact.size) * DAY_MS).astype(np.int64)
    ms = np.where(
        before,
        created[contact] - rng.integers(3_600_000, 20 * DAY_MS, contact.size),
        created[contact] + offset + rng.integers(60_000, DAY_MS, contact.size),
    )
    kind_pick = rng.choice(4, contact.size, p=[0.08, 0.22, 0.13, 0.57])
    kind_pick[before] = PAGE_VIEW
    is_subscriber_only = stage[contact, STAGE_LEAD] == NEVER
    kind_pick[is_subscriber_only & (kind_pick == FORM)] = EMAIL_CLICK
    program = np.full(contact.size, -1, dtype=np.int64)
    ads = np.flatnonzero(kind_pick == AD_CLICK)
    ad_kind = rng.choice(
        [KIND_BRAND, KIND_NONBRAND, KIND_DISPLAY, KIND_LINKEDIN],
        ads.size,
        p=[0.25, 0.35, 0.15, 0.25],
    )
    for kind in (KIND_BRAND, KIND_NONBRAND, KIND_DISPLAY, KIND_LINKEDIN):
        rows = ads[ad_kind == kind]
        program[rows] = programs.pick_ad(
            kind, region[contacts.company[contact[rows]]], ms[rows], rng
        )
    emails = np.flatnonzero(kind_pick == EMAIL_CLICK)
    program[emails] = programs.pick_latest(KIND_EMAIL, ms[emails], rng)
    kind_pick[(program < 0) & ((kind_pick == AD_CLICK) | (kind_pick == EMAIL_CLICK))] = PAGE_VIEW
    # A later form often carries the UTMs the contact first came with.
    later_forms = np.flatnonzero(kind_pick == FORM)
    carry = later_forms[rng.random(later_forms.size) < 0.4]
    program[carry] = contacts.program[contact[carry]]
    parts["contact"].append(contact)
    parts["ms"].append(ms)
    parts["type"].append(kind_pick)
    parts["program"].append(program)

    contact = np.concatenate(parts["contact"])
    ms = np.concatenate(parts["ms"]).astype(np.int64)
    kind_pick = np.concatenate(parts["type"]).astype(np.int8)
    program = np.concatenate(parts["program"]).astype(np.int64)
    # Nothing after the end of the generated time line, nothing after the contact was deleted.
    keep = (ms >= calendar.start_ms - 30 * DAY_MS) & (ms < calendar.end_ms)
    keep &= ms < contacts.archived_ms[contact]
    contact, ms, kind_pick, program = contact[keep], ms[keep], kind_pick[keep], program[keep]
    m = contact.size

    # Event-program links in campaign programmes that are events (offline) carry no UTMs.
    utm_program = np.where(
        (program >= 0) & (programs.kind[np.maximum(program, 0)] <= KIND_EMAIL), program, -1
    )
    source, medium, variant = utm_codes(programs, utm_program, rng)
    content = np.full(m, -1, dtype=np.int8)
    for kind, options in UTM_CONTENT.items():
        rows = np.flatnonzero(
            (utm_program >= 0) & (programs.kind[np.maximum(utm_program, 0)] == kind)
        )
        lookup = np.array([CONTENT_STRINGS.index(v) for v in options], dtype=np.int8)
        content[rows] = lookup[rng.integers(0, len(options), rows.size)]
    url = rng.integers(0, len(PAGES), m).astype(np.int16)
    landing = np.flatnonzero(kind_pick == FORM)
    url[landing] = np.where(
        rng.random(landing.size) < 0.6, PAGES.index("/lp/demo-request"), PAGES.index("/demo")
    )
    names, shares = zip(*FORMS, strict=True)
    form = np.full(m, -1, dtype=np.int8)
    form[landing] = rng.choice(len(names), landing.size, p=np.array(shares) / sum(shares))
    id_hi = rng.integers(0, np.iinfo(np.int64).max, m, dtype=np.int64).astype(np.uint64)
    id_lo = rng.integers(0, np.iinfo(np.int64).max, m, dtype=np.int64).astype(np.uint64)
    # Version 4 and RFC 4122 variant bits, as a real UUID would carry.
    id_hi = (id_hi & np.uint64(0xFFFFFFFFFFFF0FFF)) | np.uint64(0x4000)
    id_lo = (id_lo & np.uint64(0x3FFFFFFFFFFFFFFF)) | np.uint64(0x8000000000000000)
    order = np.lexsort((id_lo, id_hi, ms))
    return Touches(
        occurred_ms=ms[order],
        id_hi=id_hi[order],
        id_lo=id_lo[order],
        contact=contact[order].astype(np.int32),
        type=kind_pick[order],
        url=url[order],
        program=program[order].astype(np.int32),
        utm_source=source[order],
        utm_medium=medium[order],
        utm_variant=variant[order],
        utm_content=content[order],
        form=form[order],
    )


def event_id(hi: int, lo: int) -> str:
    text = f"{int(hi):016x}{int(lo):016x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def form_guid(seed: int, form: int) -> str:
    from revenue_os_mock_apis.business.core import uuid_like

    return uuid_like(seed, "form", form)
