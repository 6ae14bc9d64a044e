"""Alert and distribution settings, read from the environment (compose, `revenue-os env`).

REVENUE_OS_ONCALL_EMAILS      comma-separated on-call addresses (failed refresh, stale data)
REVENUE_OS_ALERT_WEBHOOK_URL  a Slack-compatible incoming webhook (optional)
REVENUE_OS_PACK_RECIPIENTS    comma-separated addresses of the monthly reporting pack
REVENUE_OS_PREREAD_RECIPIENTS comma-separated addresses of the weekly pre-read (the weekly
                              revenue meeting's attendees); the pack's when unset
REVENUE_OS_ALERT_FROM         the sender of every message
REVENUE_OS_DOCS_URL           where the project's docs/ folder is published for readers (a wiki, the
                              repository's web view): alerts link to runbook sections there
REVENUE_OS_RUNBOOK_URL        the runbook's own address, when it is published apart from the docs
REVENUE_OS_SUPERSET_URL       Superset's address as readers open it, for links to dashboards
AIRFLOW__API__BASE_URL        Airflow's own setting: the UI's address, for links to runs and logs

A link is only ever an address a recipient can open: with no docs address configured, an alert
names the runbook section in words (and quotes its first step) instead of linking to a file on
the machine that sent it.

KPI owners are roles in the metric contracts ("CMO"); metrics/owners.yaml gives each role its
addresses, so a contract never carries a person's e-mail.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from revenue_os.paths import METRICS_DIR
from revenue_os.yaml_files import read_yaml

OWNERS_FILE = METRICS_DIR / "owners.yaml"
DEFAULT_FROM = "revenue-os@localhost"


def _addresses(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


@dataclass(frozen=True)
class AlertSettings:
    oncall_emails: tuple[str, ...] = ()
    webhook_url: str | None = None
    pack_recipients: tuple[str, ...] = ()
    preread_recipients: tuple[str, ...] = ()
    from_email: str = DEFAULT_FROM
    runbook_url: str | None = None
    airflow_url: str = "http://127.0.0.1:8080"
    superset_url: str = "http://127.0.0.1:8088"
    owner_emails: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> AlertSettings:
        env = os.environ if environ is None else environ
        defaults = cls()
        return cls(
            oncall_emails=_addresses(env.get("REVENUE_OS_ONCALL_EMAILS")),
            webhook_url=env.get("REVENUE_OS_ALERT_WEBHOOK_URL") or None,
            pack_recipients=_addresses(env.get("REVENUE_OS_PACK_RECIPIENTS")),
            preread_recipients=_addresses(
                env.get("REVENUE_OS_PREREAD_RECIPIENTS") or env.get("REVENUE_OS_PACK_RECIPIENTS")
            ),
            from_email=env.get("REVENUE_OS_ALERT_FROM") or defaults.from_email,
            runbook_url=env.get("REVENUE_OS_RUNBOOK_URL")
            or (
                f"{env['REVENUE_OS_DOCS_URL'].rstrip('/')}/runbook.md"
                if env.get("REVENUE_OS_DOCS_URL")
                else None
            ),
            airflow_url=(env.get("AIRFLOW__API__BASE_URL") or defaults.airflow_url).rstrip("/"),
            superset_url=(env.get("REVENUE_OS_SUPERSET_URL") or defaults.superset_url).rstrip("/"),
            owner_emails=load_owner_emails(),
        )

    def runbook_link(self, section: str) -> str | None:
        """The address of one runbook section (its heading's anchor); None when the runbook is
        not published anywhere a recipient could open it."""
        return f"{self.runbook_url}#{section}" if self.runbook_url else None

    def runbook_links(self, section: str) -> list[tuple[str, str]]:
        """The runbook link for a message's links, or none (the section is named instead)."""
        link = self.runbook_link(section)
        return [("Runbook", link)] if link else []

    def dashboard_link(self, slug: str) -> str:
        return f"{self.superset_url}/superset/dashboard/{slug}/"


def load_owner_emails(path: Path = OWNERS_FILE) -> dict[str, tuple[str, ...]]:
    """Role → addresses from metrics/owners.yaml; a role without an entry gets no alert."""
    if not path.exists():
        return {}
    data = read_yaml(path) or {}
    owners = data.get("owners") or {}
    if not isinstance(owners, dict):
        raise ValueError(f"{path.name}: `owners` must map each owner role to its addresses")
    result: dict[str, tuple[str, ...]] = {}
    for role, addresses in owners.items():
        if isinstance(addresses, str):
            addresses = [addresses]
        if not isinstance(addresses, list) or not all(isinstance(a, str) for a in addresses):
            raise ValueError(f"{path.name}: owners.{role} must be an address or a list of them")
        result[str(role)] = tuple(addresses)
    return result
