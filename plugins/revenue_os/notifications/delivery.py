"""Delivery of one message: e-mail through the Airflow SMTP provider's connection, and a
Slack-compatible webhook.

Every function returns whether it sent, and logs why when it did not (no recipients, no
`smtp_default` connection, no webhook configured), so an operator reading a task log sees that
an alert was not configured rather than silently lost.
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from revenue_os.notifications.message import AlertMessage
    from revenue_os.notifications.settings import AlertSettings

log = logging.getLogger(__name__)

SMTP_CONN_ID = "smtp_default"


def smtp_configured(conn_id: str = SMTP_CONN_ID) -> bool:
    """Whether the Airflow connection for e-mail exists (e.g. AIRFLOW_CONN_SMTP_DEFAULT)."""
    from airflow.exceptions import AirflowNotFoundException
    from airflow.sdk import BaseHook

    try:
        BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return False
    return True


def mime_message(
    to: Sequence[str],
    subject: str,
    html: str,
    *,
    text: str,
    from_email: str,
    attachments: Sequence[Path] = (),
) -> EmailMessage:
    """The message as mail clients expect it: multipart/alternative with a text/plain part
    (read by text-only clients, previews and filters) and the HTML, wrapped in
    multipart/mixed with each attachment typed by its name (a PDF as application/pdf)."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = from_email
    message["To"] = ", ".join(to)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=from_email.rpartition("@")[2] or None)
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    for path in attachments:
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        maintype, subtype = kind.split("/", 1)
        message.add_attachment(
            path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name
        )
    return message


def send_email(
    to: Sequence[str],
    subject: str,
    html: str,
    *,
    text: str,
    from_email: str,
    attachments: Sequence[Path] = (),
    conn_id: str = SMTP_CONN_ID,
) -> bool:
    """Send one e-mail (text and HTML, files attached) through the `smtp_default` connection."""
    if not to:
        log.warning("e-mail %r not sent: no recipients configured", subject)
        return False
    if not smtp_configured(conn_id):
        log.warning("e-mail %r not sent: no Airflow connection %r", subject, conn_id)
        return False
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    message = mime_message(
        to, subject, html, text=text, from_email=from_email, attachments=attachments
    )
    # The hook logs in as the connection says (TLS, credentials); the provider's own sender
    # builds an HTML-only message with untyped attachments, so the message is sent as built.
    with SmtpHook(smtp_conn_id=conn_id) as hook:
        hook._smtp_client.send_message(message)
    log.info("e-mail %r sent to %s", subject, ", ".join(to))
    return True


def post_webhook(url: str | None, text: str, *, timeout: float = 10.0) -> bool:
    """Post `{"text": ...}` to a Slack-compatible incoming webhook; False when none is set.

    A webhook that answers with an error raises: a configured channel that fails is an
    operational problem of its own, and the task log must show it.
    """
    if not url:
        log.info("webhook not posted: REVENUE_OS_ALERT_WEBHOOK_URL is not set")
        return False
    response = httpx.post(url, json={"text": text}, timeout=timeout)
    response.raise_for_status()
    log.info("webhook posted (%d)", response.status_code)
    return True


def deliver(
    message: AlertMessage, to: Sequence[str], settings: AlertSettings, *, webhook: bool = True
) -> dict[str, bool]:
    """Send an AlertMessage by e-mail to `to` and, for on-call's alerts, to the webhook;
    which channels took it.

    One channel failing does not stop the other: the failure is logged and re-raised after
    both were tried, so the task that alerts fails visibly instead of half-alerting silently.
    """
    sent: dict[str, bool] = {}
    errors: list[BaseException] = []
    try:
        sent["email"] = send_email(
            to,
            message.subject,
            message.html(),
            text=message.plain(),
            from_email=settings.from_email,
        )
    except Exception as error:
        log.exception("e-mail %r failed", message.subject)
        sent["email"], errors = False, [*errors, error]
    try:
        sent["webhook"] = webhook and post_webhook(settings.webhook_url, message.text())
    except Exception as error:
        log.exception("webhook for %r failed", message.subject)
        sent["webhook"], errors = False, [*errors, error]
    if errors:
        raise errors[0]
    return sent


def notify_oncall(message: AlertMessage, settings: AlertSettings) -> bool:
    """Deliver an on-call alert (e-mail and webhook); False, logged, when neither is set."""
    if not settings.oncall_emails and not settings.webhook_url:
        log.warning(
            "%r not sent: no on-call channel is configured (set REVENUE_OS_ONCALL_EMAILS or "
            "REVENUE_OS_ALERT_WEBHOOK_URL)",
            message.subject,
        )
        return False
    deliver(message, settings.oncall_emails, settings)
    return True
