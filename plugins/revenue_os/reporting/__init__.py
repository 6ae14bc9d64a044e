"""The monthly reporting pack: month-end KPI snapshots, an HTML e-mail and a one-page PDF.

snapshot.py freezes a closed month's KPI values from the published mart; pack.py gathers the
pack from that snapshot (never from the live mart, so a past pack reproduces); render.py
draws it; deliver.py does all of it and e-mails the result.
"""

from revenue_os.reporting.deliver import PackResult, build_pack, deliver_pack
from revenue_os.reporting.pack import ReportingPack, gather_pack
from revenue_os.reporting.render import render_html, render_pdf
from revenue_os.reporting.snapshot import (
    PackError,
    SnapshotResult,
    freeze_month,
    last_closed_month,
    parse_month,
)

__all__ = [
    "PackError",
    "PackResult",
    "ReportingPack",
    "SnapshotResult",
    "build_pack",
    "deliver_pack",
    "freeze_month",
    "gather_pack",
    "last_closed_month",
    "parse_month",
    "render_html",
    "render_pdf",
]
