"""Build the month's pack (and the week's pre-read) end to end: freeze, gather, render, and
e-mail it when asked."""

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
from revenue_os.reporting.snapshot import (
    SnapshotResult,
    freeze_month,
    freeze_week,
    latest_complete_week,
    month_the_data_covers,
)

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
        return {"month": f"{self.month:%Y-%m}", **_written(self)}


def _written(result: PackResult | PrereadResult) -> dict:
    """What a pack or a pre-read froze, wrote and sent, in plain types."""
    return {
        "build_id": str(result.snapshot.build_id) if result.snapshot.build_id else None,
        "snapshot_rows": result.snapshot.rows,
        "snapshot_kept": result.snapshot.kept,
        "html": str(result.html_path),
        "pdf": str(result.pdf_path),
        "sent": result.delivery.sent,
        "recipients": list(result.delivery.recipients),
        "delivery": result.delivery.detail,
        "subject": result.subject,
    }


def pack_paths(out_dir: Path, month: date) -> tuple[Path, Path]:
    stem = f"revenue-os-pack-{month:%Y-%m}"
    return out_dir / f"{stem}.html", out_dir / f"{stem}.pdf"


EXECUTIVE_DASHBOARDS = ("executive-performance", "marketing-roi", "pipeline-retention")
WEEKLY_DASHBOARD = ("weekly-revenue-meeting", "pipeline-retention", "executive-performance")


def dashboard_links(
    settings: AlertSettings, first: tuple[str, ...] = EXECUTIVE_DASHBOARDS
) -> list[tuple[str, str]]:
    """(title, address) of each dashboard, `first` first; none if the specs are unreadable
    (the pack still goes out)."""
    try:
        from revenue_os.dashboards.specs import load_specs

        specs = load_specs()
    except Exception:
        log.exception("dashboard specs unreadable: the pack goes without dashboard links")
        return []
    ordered = sorted(
        specs.values(),
        key=lambda spec: (first.index(spec.slug) if spec.slug in first else len(first), spec.slug),
    )
    return [(spec.title, settings.dashboard_link(spec.slug)) for spec in ordered]


def deliver_pack(
    pack: ReportingPack, html: str, pdf_path: Path, settings: AlertSettings, text: str = ""
) -> Delivery:
    """E-mail the HTML with the PDF attached to the pack's recipients; say why when not."""
    return _mail(
        f"pack {pack.month:%Y-%m}",
        settings.pack_recipients,
        "REVENUE_OS_PACK_RECIPIENTS",
        pack.subject,
        html,
        text or render_text(pack),
        pdf_path,
        settings,
    )


def _mail(
    what: str,
    recipients: tuple[str, ...],
    recipients_variable: str,
    subject: str,
    html: str,
    text: str,
    pdf_path: Path,
    settings: AlertSettings,
) -> Delivery:
    """The HTML with its text part and the PDF attached, to `recipients`; why not when not."""
    if not recipients:
        detail = f"not sent: no recipients (set {recipients_variable})"
    elif not smtp_configured():
        detail = "not sent: no Airflow connection smtp_default (set AIRFLOW_CONN_SMTP_DEFAULT)"
    else:
        sent = send_email(
            recipients,
            subject,
            html,
            text=text,
            from_email=settings.from_email,
            attachments=[pdf_path],
        )
        if sent:
            return Delivery(True, recipients, f"sent to {', '.join(recipients)}")
        detail = "not sent: see the log above"
    log.warning("%s %s", what, detail)
    return Delivery(False, recipients, detail)


def build_pack(
    conn: psycopg.Connection,
    month: date,
    out_dir: Path,
    *,
    send: bool,
    refreeze: bool = False,
    today: date | None = None,
    settings: AlertSettings | None = None,
    or_latest_complete: bool = False,
) -> PackResult:
    """Freeze the month if it is not yet, write the HTML and PDF, e-mail them when `send`.

    `or_latest_complete` (the schedule's and the command's default month): when the published
    mart's data stops before `month` ends, the pack covers the mart's latest complete month
    and says so, rather than sending a few days as the month.
    """
    today = today or date.today()
    settings = settings or AlertSettings.from_env()
    requested = month
    if or_latest_complete:
        month = month_the_data_covers(conn, month)
    snapshot = freeze_month(conn, month, refreeze=refreeze, today=today)
    pack = gather_pack(conn, month, today=today, requested_month=requested)
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


@dataclass(frozen=True)
class PrereadResult:
    week: date
    snapshot: SnapshotResult
    html_path: Path
    pdf_path: Path
    delivery: Delivery
    subject: str

    def as_dict(self) -> dict:
        """For XCom and logs: plain types only, as a pack's."""
        return {"week": self.week.isoformat(), **_written(self)}


def preread_paths(out_dir: Path, week: date) -> tuple[Path, Path]:
    stem = f"revenue-os-preread-{week:%Y-%m-%d}"
    return out_dir / f"{stem}.html", out_dir / f"{stem}.pdf"


def build_preread(
    conn: psycopg.Connection,
    week: date,
    out_dir: Path,
    *,
    send: bool,
    refreeze: bool = False,
    today: date | None = None,
    settings: AlertSettings | None = None,
    or_latest_complete: bool = False,
) -> PrereadResult:
    """Freeze the week if it is not yet, write the pre-read's HTML and PDF, e-mail them to the
    weekly forum's recipients when `send`.

    `or_latest_complete` (the schedule's and the command's default week): when the published
    mart's data does not cover `week` yet (a refresh behind, a business whose today is behind
    the calendar), the pre-read covers the mart's latest complete week and says so, rather
    than failing the meeting's packet.
    """
    from revenue_os.reporting.preread import gather_preread
    from revenue_os.reporting.preread_render import (
        render_preread_html,
        render_preread_pdf,
        render_preread_text,
    )

    today = today or date.today()
    settings = settings or AlertSettings.from_env()
    requested = week
    if or_latest_complete:
        latest = latest_complete_week(conn)
        if latest is not None and latest < week:
            log.warning(
                "the published mart's latest complete week is the week of %s: the pre-read "
                "covers it instead of the week of %s",
                latest,
                week,
            )
            week = latest
    snapshot = freeze_week(conn, week, refreeze=refreeze, today=today)
    preread = gather_preread(conn, week, today=today, requested_week=requested)
    links = dashboard_links(settings, first=WEEKLY_DASHBOARD)
    html = render_preread_html(preread, links)
    html_path, pdf_path = preread_paths(out_dir, week)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(html, encoding="utf-8")
    render_preread_pdf(preread, pdf_path, links)
    if send:
        delivery = _mail(
            f"pre-read of the week of {week}",
            tuple(settings.preread_recipients),
            "REVENUE_OS_PREREAD_RECIPIENTS",
            preread.subject,
            html,
            render_preread_text(preread, links),
            pdf_path,
            settings,
        )
    else:
        delivery = Delivery(False, (), "not sent: not asked to (--send)")
    return PrereadResult(week, snapshot, html_path, pdf_path, delivery, preread.subject)
