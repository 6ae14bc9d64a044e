"""The project's own SMTP server on loopback: every message it receives becomes a file.

Locally, alerts and the reporting pack must really go through SMTP (Airflow's `smtp_default`),
yet land somewhere a person or a test can read them without an outside mail service. This
server (aiosmtpd) accepts any sender and recipient, needs no TLS and no login, and stores each
message as it was sent, plus trace headers, under .local/<profile>/mail/ (see
revenue_os.notifications.mailbox for the naming and for reading them back). In docker compose,
mailpit plays this role.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import smtplib
import sys
import tempfile
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from email.utils import format_datetime
from pathlib import Path
from typing import TYPE_CHECKING

from revenue_os.notifications.mailbox import (
    ENVELOPE_FROM_HEADER,
    ENVELOPE_TO_HEADER,
    RECEIVED_HEADER,
    last_sequence,
    message_filename,
)
from revenue_os_stack.processes import Service
from revenue_os_stack.profile import Profile

if TYPE_CHECKING:
    from aiosmtpd.smtp import SMTP, Envelope, Session

HOST = "127.0.0.1"
SERVER_NAME = "revenue-os-mail"
# Generous for a reporting pack with a PDF; larger is almost certainly a mistake.
MAX_MESSAGE_BYTES = 50 * 1024 * 1024
BIN_DIR = Path(sys.executable).parent


class MailStore:
    """The aiosmtpd handler: writes each message atomically as one .eml file."""

    def __init__(self, mail_dir: Path, echo=print) -> None:
        self.mail_dir = mail_dir
        self.mail_dir.mkdir(parents=True, exist_ok=True)
        self.sequence = last_sequence(mail_dir)
        self.echo = echo

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        try:
            path = self.store(envelope, session.peer, session.host_name)
        except OSError as error:
            self.echo(f"could not store a message: {error}", flush=True)
            return "451 Requested action aborted: local error in processing"
        self.echo(
            f"stored {path.name}: from {envelope.mail_from} to {', '.join(envelope.rcpt_tos)} "
            f"({len(envelope.original_content or b'')} bytes)",
            flush=True,
        )
        return f"250 OK stored as {path.name}"

    def store(self, envelope: Envelope, peer, helo: str | None) -> Path:
        content = envelope.original_content or b""
        received = datetime.now(UTC)
        self.sequence += 1
        name = message_filename(received, self.sequence, _subject(content))
        trace = _trace_headers(envelope, peer, helo, received)
        # Emptying the mailbox by deleting the folder must not break delivery.
        self.mail_dir.mkdir(parents=True, exist_ok=True)
        # Write aside, then rename: a reader listing the folder never sees half a message.
        fd, temp = tempfile.mkstemp(dir=self.mail_dir, prefix=f".{name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(trace)
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            target = self.mail_dir / name
            os.replace(temp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise
        return target


def _subject(content: bytes) -> str:
    headers = BytesHeaderParser(policy=default_policy).parsebytes(content)
    try:
        return str(headers.get("Subject") or "")
    except (TypeError, ValueError):  # a malformed encoded word: the slug is only a hint
        return ""


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _trace_headers(envelope: Envelope, peer, helo: str | None, received: datetime) -> bytes:
    peer_ip = peer[0] if isinstance(peer, tuple) else str(peer or "unknown")
    lines = [
        f"{RECEIVED_HEADER}: from {_one_line(helo or 'unknown')} ([{peer_ip}]) by "
        f"{SERVER_NAME}; {format_datetime(received)}",
        f"{ENVELOPE_FROM_HEADER}: {_one_line(envelope.mail_from or '')}",
        f"{ENVELOPE_TO_HEADER}: {', '.join(_one_line(r) for r in envelope.rcpt_tos)}",
    ]
    # The message's own line endings (CRLF as sent over SMTP), so the file stays consistent.
    content = envelope.original_content or b""
    newline = b"\r\n" if b"\r\n" in content[:4096] else b"\n"
    return b"".join(line.encode("utf-8", "replace") + newline for line in lines)


async def serve(port: int, mail_dir: Path, *, echo=print) -> None:
    """Serve on 127.0.0.1:port until SIGTERM or SIGINT; messages go to mail_dir."""
    from aiosmtpd.smtp import SMTP  # the stack imports this module; only the server needs it

    loop = asyncio.get_running_loop()
    store = MailStore(mail_dir, echo=echo)

    def protocol() -> SMTP:
        return SMTP(
            store,
            hostname=SERVER_NAME,  # not socket.getfqdn(), which may wait on DNS
            data_size_limit=MAX_MESSAGE_BYTES,
            enable_SMTPUTF8=True,
            loop=loop,
        )

    server = await loop.create_server(protocol, host=HOST, port=port)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    echo(f"revenue-os mail-server: listening on {HOST}:{port}, storing mail in {mail_dir}")
    echo(f"read it with `revenue-os mail list` (messages so far: {store.sequence})", flush=True)
    try:
        await stop.wait()
    finally:
        # A message being stored is written synchronously: it is complete before we get here.
        server.close()
        await server.wait_closed()
    echo("revenue-os mail-server: stopped", flush=True)


def run(port: int, mail_dir: Path) -> int:
    """Foreground entry point of `revenue-os mail-server`; the exit status."""
    try:
        asyncio.run(serve(port, mail_dir))
    except OSError as error:  # the port is taken, or the folder cannot be created
        print(f"revenue-os mail-server: {error}", file=sys.stderr)
        return 1
    return 0


# -- as a service of the local stack ----------------------------------------------------------
def services(profile: Profile) -> list[Service]:
    argv = [
        str(BIN_DIR / "revenue-os"),
        "mail-server",
        "--port",
        str(profile.mail_port),
        "--dir",
        str(profile.mail_dir),
    ]
    return [Service("mail-server", argv, profile.run_dir, profile.log_dir)]


def health(profile: Profile) -> bool:
    with smtplib.SMTP(HOST, profile.mail_port, timeout=5) as client:
        return client.noop()[0] == 250


def smtp_connection_uri(port: int) -> str:
    """Airflow's smtp_default for this server: plain SMTP, no STARTTLS, no SSL, no login."""
    return f"smtp://{HOST}:{port}?disable_tls=true&disable_ssl=true"
