"""The local mailbox: one .eml file per message that the project's mail server received.

Locally, Airflow's `smtp_default` points at `revenue-os mail-server`, which stores each message
under .local/<profile>/mail/ as `<UTC time>-<sequence>-<subject slug>.eml`. This module names
those files and reads them back, for `revenue-os mail` and for tests that check what was sent.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path

# Added by the mail server on top of the message as the client sent it.
RECEIVED_HEADER = "X-Revenue-OS-Received"
ENVELOPE_FROM_HEADER = "X-Revenue-OS-Envelope-From"
ENVELOPE_TO_HEADER = "X-Revenue-OS-Envelope-To"

TIME_FORMAT = "%Y%m%dT%H%M%S.%fZ"
NAME_PATTERN = re.compile(r"^(?P<time>\d{8}T\d{6}\.\d{6}Z)-(?P<seq>\d+)-(?P<slug>[a-z0-9-]*)\.eml$")
SLUG_LENGTH = 40


class MailboxError(LookupError):
    """No such message, or no mailbox at all."""


def subject_slug(subject: str) -> str:
    """A short, file-name-safe rendering of a subject: lower-case ASCII words joined by '-'."""
    ascii_text = unicodedata.normalize("NFKD", subject).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:SLUG_LENGTH].rstrip("-") or "no-subject"


def message_filename(received: datetime, sequence: int, subject: str) -> str:
    stamp = received.astimezone(UTC).strftime(TIME_FORMAT)
    return f"{stamp}-{sequence:06d}-{subject_slug(subject)}.eml"


def last_sequence(mail_dir: Path) -> int:
    """The highest sequence number among stored messages (0 for none), so a restarted server
    keeps counting instead of reusing numbers."""
    numbers = [
        int(match["seq"])
        for path in _eml_files(mail_dir)
        if (match := NAME_PATTERN.match(path.name))
    ]
    return max(numbers, default=0)


@dataclass(frozen=True)
class MailSummary:
    number: int  # 1 = the oldest; stable while nothing is deleted
    path: Path
    received: datetime | None
    sender: str
    recipients: tuple[str, ...]
    subject: str
    attachments: tuple[str, ...]


def read_message(path: Path) -> EmailMessage:
    """Parse one stored message (modern `email` API: policy.default)."""
    with path.open("rb") as handle:
        return BytesParser(policy=policy.default).parse(handle)


def list_messages(mail_dir: Path) -> list[MailSummary]:
    """Every stored message, oldest first (the order the server received them)."""
    summaries = []
    for number, path in enumerate(_arrival_order(_eml_files(mail_dir)), start=1):
        message = read_message(path)
        summaries.append(
            MailSummary(
                number=number,
                path=path,
                received=received_at(message, path),
                sender=_header(message, ENVELOPE_FROM_HEADER) or _header(message, "From"),
                recipients=recipients(message),
                subject=_header(message, "Subject"),
                attachments=tuple(name for name, _ in attachments(message)),
            )
        )
    return summaries


def find_message(mail_dir: Path, which: str | int) -> MailSummary:
    """A message by its number in `list_messages`, or the newest one for 'latest'."""
    messages = list_messages(mail_dir)
    if not messages:
        raise MailboxError(f"no messages in {mail_dir}")
    if str(which).strip().lower() == "latest":
        return messages[-1]
    try:
        number = int(which)
    except ValueError:
        raise MailboxError(f"{which!r} is neither a message number nor 'latest'") from None
    if not 1 <= number <= len(messages):
        raise MailboxError(f"no message {number}: {mail_dir} holds 1 to {len(messages)}")
    return messages[number - 1]


def received_at(message: EmailMessage, path: Path | None = None) -> datetime | None:
    """When the server received the message (its file name), else the sender's Date header."""
    if path is not None and (match := NAME_PATTERN.match(path.name)):
        return datetime.strptime(match["time"], TIME_FORMAT).replace(tzinfo=UTC)
    date = message.get("Date")
    if not date:
        return None
    try:
        sent = parsedate_to_datetime(str(date))
    except (TypeError, ValueError):
        return None
    # Shown as UTC like the server's own times; a zone-less date is taken as UTC.
    return (sent if sent.tzinfo else sent.replace(tzinfo=UTC)).astimezone(UTC)


def recipients(message: EmailMessage) -> tuple[str, ...]:
    """Who the message was delivered to: the SMTP envelope (which includes Bcc) when the
    server recorded it, else the To and Cc headers."""
    envelope = _header(message, ENVELOPE_TO_HEADER)
    if envelope:
        return tuple(part.strip() for part in envelope.split(",") if part.strip())
    fields = [str(value) for name in ("To", "Cc") for value in message.get_all(name, [])]
    return tuple(address for _, address in getaddresses(fields) if address)


def attachments(message: EmailMessage) -> list[tuple[str, bytes]]:
    """(file name, decoded bytes) of every attached file, in message order, at any depth."""
    body = message.get_body(preferencelist=("plain", "html"))
    found = []
    for part in message.walk():
        if part.is_multipart() or part is body:
            continue
        if part.is_attachment() or part.get_filename():
            name = part.get_filename() or f"attachment-{len(found) + 1}"
            found.append((name, part.get_payload(decode=True) or b""))
    return found


def body_text(message: EmailMessage) -> str:
    """The readable body: the text/plain part, else the HTML part turned into plain text."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = part.get_content()
    if part.get_content_subtype() == "html":
        return html_to_text(content)
    return content


class _TextExtractor(HTMLParser):
    # Paragraph-like blocks get a blank line around them, line-like ones a line of their own.
    PARAGRAPHS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "pre"})
    LINES = frozenset({"br", "div", "tr", "li", "section", "header", "footer", "blockquote", "hr"})
    SKIPPED = frozenset({"style", "script", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text = ""
        self.links: list[str] = []
        self._skipping = 0

    def _break(self, newlines: int) -> None:
        if self.text:
            self.text = self.text.rstrip(" ")
            missing = newlines - (len(self.text) - len(self.text.rstrip("\n")))
            self.text += "\n" * max(0, missing)

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIPPED:
            self._skipping += 1
        elif tag in self.PARAGRAPHS:
            self._break(2)
        elif tag in self.LINES:
            self._break(1)
        if tag == "li":
            self.text += "- "
        elif tag in ("td", "th") and not self.text.endswith(("\n", "- ")):
            self.text += "  "
        elif tag == "a":
            self.links.append(dict(attrs).get("href") or "")

    def handle_endtag(self, tag):
        if tag in self.SKIPPED:
            self._skipping = max(0, self._skipping - 1)
        elif tag == "a" and self.links:
            # Links matter in alerts (the run, the runbook): keep the address next to the text.
            href = self.links.pop()
            if href:
                self.text += f" <{href}>"
        elif tag in self.PARAGRAPHS:
            self._break(2)
        elif tag in self.LINES:
            self._break(1)

    def handle_data(self, data):
        if self._skipping:
            return
        text = re.sub(r"\s+", " ", data)
        if not self.text or self.text.endswith("\n"):
            text = text.lstrip()
        self.text += text


def html_to_text(markup: str) -> str:
    """HTML as plain text: blocks on their own lines, list items dashed, links kept."""
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    lines = [line.rstrip() for line in parser.text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def _header(message: EmailMessage, name: str) -> str:
    value = message.get(name)
    return str(value).strip() if value is not None else ""


def _eml_files(mail_dir: Path) -> list[Path]:
    if not mail_dir.is_dir():
        return []
    # Temporary files of a message being written are hidden and end otherwise.
    return [p for p in mail_dir.iterdir() if p.suffix == ".eml" and not p.name.startswith(".")]


def _arrival_order(paths: list[Path]) -> list[Path]:
    def key(path: Path):
        match = NAME_PATTERN.match(path.name)
        if match:
            return (0, match["time"], int(match["seq"]), path.name)
        # A file copied in by hand: after the server's own, by modification time.
        return (1, f"{path.stat().st_mtime:020.6f}", 0, path.name)

    return sorted(paths, key=key)
