"""Build the month's pack end to end: freeze, gather, render, and e-mail it when asked."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import psycopg

from revenue_os.notifications.delivery import send_email, smtp_configured
from revenue_os.notifications.settings import AlertSettings
from revenue_os.reporting.pack import ReportingPack, gather_pack
from revenue_os.reporting.render import render_html, render_pdf, render_text
from revenue_os.reporting.snapshot import SnapshotResult, freeze_month

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    sent: bool
    recipients: tuple[str, ...]
    detail: str  # "sent to ..." or why it was not sent


@dataclass(frozen=True)
class PackResult:
    month: date
    snapshot: SnapshotResult
    html_path: Path
    pdf_path: Path
    delivery: Delivery
    subject: str

    def as_dict(self) -> dict:
        """For XCom and logs: plain types only."""
        return {
            "month": f"{self.month:%Y-%m}",
            "build_id": str(self.snapshot.build_id) if self.snapshot.build_id else None,
            "snapshot_rows": self.snapshot.rows,
            "snapshot_kept": self.snapshot.kept,
            "html": str(self.html_path),
            "pdf": str(self.pdf_path),
            "sent": self.delivery.sent,
            "recipients": list(self.delivery.recipients),
            "delivery": self.delivery.detail,
            "subject": self.subject,
        }


def pack_paths(out_dir: Path, month: date) -> tuple[Path, Path]:
    stem = f"revenue-os-pack-{month:%Y-%m}"
    return out_dir / f"{stem}.html", out_dir / f"{stem}.pdf"


def dashboard_links(settings: AlertSettings) -> list[tuple[str, str]]:
    """(title, address) of each dashboard, the executive's first; none if the specs are
    unreadable (the pack still goes out)."""
    try:
        from revenue_os.dashboards.specs import load_specs

        specs = load_specs()
    except Exception:
        log.exception("dashboard specs unreadable: the pack goes without dashboard links")
        return []
    first = ("executive-performance", "marketing-roi", "pipeline-retention")
    ordered = sorted(
        specs.values(),
        key=lambda spec: (first.index(spec.slug) if spec.slug in first else len(first), spec.slug),
    )
    return [(spec.title, settings.dashboard_link(spec.slug)) for spec in ordered]


def deliver_pack(
    pack: ReportingPack, html: str, pdf_path: Path, settings: AlertSettings, text: str = ""
) -> Delivery:
    """E-mail the HTML with the PDF attached to the pack's recipients; say why when not."""
    recipients = tuple(settings.pack_recipients)
    if not recipients:
        detail = "not sent: no recipients (set REVENUE_OS_PACK_RECIPIENTS)"
        log.warning("pack %s %s", f"{pack.month:%Y-%m}", detail)
        return Delivery(False, recipients, detail)
    if not smtp_configured():
        detail = "not sent: no Airflow connection smtp_default (set AIRFLOW_CONN_SMTP_DEFAULT)"
        log.warning("pack %s %s", f"{pack.month:%Y-%m}", detail)
        return Delivery(False, recipients, detail)
    sent = send_email(
        recipients,
        pack.subject,
        html,
        text=text or render_text(pack),
        from_email=settings.from_email,
        attachments=[pdf_path],
    )
    detail = f"sent to {', '.join(recipients)}" if sent else "not sent: see the log above"
    return Delivery(sent, recipients, detail)


def build_pack(
    conn: psycopg.Connection,
    month: date,
    out_dir: Path,
    *,
    send: bool,
    refreeze: bool = False,
    today: date | None = None,
    settings: AlertSettings | None = None,
) -> PackResult:
    """Freeze the month if it is not yet, write the HTML and PDF, e-mail them when `send`."""
    today = today or date.today()
    settings = settings or AlertSettings.from_env()
    snapshot = freeze_month(conn, month, refreeze=refreeze, today=today)
    pack = gather_pack(conn, month, today=today)
    links = dashboard_links(settings)
    html = render_html(pack, links)
    html_path, pdf_path = pack_paths(out_dir, month)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(html, encoding="utf-8")
    render_pdf(pack, pdf_path, links)
    if send:
        delivery = deliver_pack(pack, html, pdf_path, settings, render_text(pack, links))
    else:
        delivery = Delivery(False, (), "not sent: not asked to (--send)")
    return PackResult(month, snapshot, html_path, pdf_path, delivery, pack.subject)
