"""The real `revenue-os mail-server` process receives SMTP and stores readable .eml files.

Needs no running stack: each test starts its own server on a free loopback port, in a
temporary folder, exactly as the stack's service manager starts it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from revenue_os.notifications.mailbox import (
    ENVELOPE_TO_HEADER,
    attachments,
    body_text,
    list_messages,
    read_message,
)
from revenue_os_stack.profile import load_profile
from revenue_os_stack.secret_store import SECRET_GENERATORS

CLI = str(Path(sys.executable).parent / "revenue-os")
SENDER = "revenue-os@revenue-os.example"
RECIPIENTS = ["oncall@revenue-os.example", "leadership@revenue-os.example"]
# PDF-like bytes, with every byte value, so any text-mode or line-ending damage shows.
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 64 + b"\n%%EOF\n"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(port: int) -> bool:
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=2) as client:
            return client.noop()[0] == 250
    except OSError:
        return False


@dataclasses.dataclass
class RunningServer:
    port: int
    mail_dir: Path
    process: subprocess.Popen
    log: Path


@pytest.fixture
def server(tmp_path):
    port = free_port()
    mail_dir = tmp_path / "mail"
    log = tmp_path / "mail-server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [CLI, "mail-server", "--port", str(port), "--dir", str(mail_dir)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 30
    while not answers(port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"mail-server did not answer on {port}:\n{log.read_text()}")
        time.sleep(0.1)
    yield RunningServer(port, mail_dir, process, log)
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)


def send(port: int, subject: str, *, html: str, to=RECIPIENTS, pdf: bytes | None = None) -> None:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = SENDER
    message["To"] = ", ".join(to)
    message.set_content(html, subtype="html")
    if pdf is not None:
        message.add_attachment(pdf, maintype="application", subtype="pdf", filename="pack.pdf")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        refused = client.send_message(message)
    assert refused == {}


def mail_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CLI, "mail", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_a_message_with_two_recipients_html_and_a_pdf_is_stored_readable(server):
    send(
        server.port,
        "Monthly revenue pack — June",
        html="<h1>Revenue pack</h1><p>ROAS <b>1.8</b>, see <a href='http://x/run'>the run</a></p>",
        pdf=PDF,
    )

    files = sorted(server.mail_dir.iterdir())
    assert [f.suffix for f in files] == [".eml"], files  # no temporary file left behind
    assert "-000001-monthly-revenue-pack-june.eml" in files[0].name
    message = read_message(files[0])
    assert message["Subject"] == "Monthly revenue pack — June"
    assert message["From"] == SENDER
    assert [a.addr_spec for a in message["To"].addresses] == RECIPIENTS
    assert message[ENVELOPE_TO_HEADER] == ", ".join(RECIPIENTS)
    assert message.get_body(preferencelist=("html",)) is not None
    assert "ROAS 1.8, see the run <http://x/run>" in body_text(message)
    [(name, data)] = attachments(message)
    assert name == "pack.pdf"
    assert hashlib.sha256(data).hexdigest() == hashlib.sha256(PDF).hexdigest()

    listed = mail_cli("list", "--dir", str(server.mail_dir))
    assert listed.returncode == 0, listed.stderr
    [line] = [line for line in listed.stdout.splitlines() if "Monthly revenue pack" in line]
    assert line.split()[0] == "1" and "[pack.pdf]" in line

    shown = mail_cli("show", "latest", "--dir", str(server.mail_dir))
    assert shown.returncode == 0, shown.stderr
    assert "Subject: Monthly revenue pack — June" in shown.stdout
    assert f"Delivered to: {', '.join(RECIPIENTS)}" in shown.stdout
    assert f"pack.pdf ({len(PDF):,} bytes)" in shown.stdout
    assert "Revenue pack\n\nROAS 1.8" in shown.stdout and "<b>" not in shown.stdout

    raw = subprocess.run(
        [CLI, "mail", "show", "1", "--raw", "--dir", str(server.mail_dir)],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert raw.returncode == 0 and raw.stdout == files[0].read_bytes()


def test_messages_are_listed_in_arrival_order(server):
    # Subjects that sort the other way round: the order must come from arrival, not names.
    send(server.port, "Zulu arrives first", html="<p>one</p>")
    send(server.port, "Alpha arrives second", html="<p>two</p>", to=RECIPIENTS[:1])

    assert [m.subject for m in list_messages(server.mail_dir)] == [
        "Zulu arrives first",
        "Alpha arrives second",
    ]
    assert list_messages(server.mail_dir)[1].recipients == (RECIPIENTS[0],)
    listed = mail_cli("list", "--dir", str(server.mail_dir)).stdout.splitlines()
    assert listed[0].split()[0] == "1" and "Zulu arrives first" in listed[0]
    assert listed[1].split()[0] == "2" and "Alpha arrives second" in listed[1]
    shown = mail_cli("show", "2", "--dir", str(server.mail_dir))
    assert "Subject: Alpha arrives second" in shown.stdout
    missing = mail_cli("show", "3", "--dir", str(server.mail_dir))
    assert missing.returncode == 1 and "no message 3" in missing.stderr


def test_sigterm_stops_the_server_and_frees_the_port(server):
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=15) == 0
    assert "stopped" in server.log.read_text()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        assert probe.connect_ex(("127.0.0.1", server.port)) != 0


def test_a_restarted_server_keeps_numbering_after_the_stored_mail(server, tmp_path):
    send(server.port, "Before the restart", html="<p>one</p>")
    os.killpg(server.process.pid, signal.SIGTERM)
    server.process.wait(timeout=15)
    port = free_port()
    with (tmp_path / "second.log").open("wb") as out:
        second = subprocess.Popen(
            [CLI, "mail-server", "--port", str(port), "--dir", str(server.mail_dir)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while not answers(port):
            assert second.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        send(port, "After the restart", html="<p>two</p>")
    finally:
        second.terminate()
        second.wait(timeout=15)
    names = [m.path.name for m in list_messages(server.mail_dir)]
    assert [name.split("-")[1] for name in names] == ["000001", "000002"]
    assert [m.subject for m in list_messages(server.mail_dir)] == [
        "Before the restart",
        "After the restart",
    ]


def test_airflow_smtp_hook_delivers_through_the_stacks_connection(server, tmp_path, monkeypatch):
    """The stack's AIRFLOW_CONN_SMTP_DEFAULT makes the provider speak plain SMTP, no login."""
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    from revenue_os_stack.airflow_services import airflow_env

    profile = dataclasses.replace(load_profile("test"), mail_port=server.port)
    env = airflow_env(profile, dict.fromkeys(SECRET_GENERATORS, "unused"))
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", env["AIRFLOW_CONN_SMTP_DEFAULT"])
    pack = tmp_path / "revenue-pack-2026-06.pdf"
    pack.write_bytes(PDF)

    with SmtpHook() as hook:
        hook.send_email_smtp(
            to=env["REVENUE_OS_PACK_RECIPIENTS"],
            cc=env["REVENUE_OS_ONCALL_EMAILS"],
            subject="Revenue pack June 2026",
            html_content="<p>The pack is attached.</p>",
            from_email=env["REVENUE_OS_ALERT_FROM"],
            files=[str(pack)],
        )

    [summary] = list_messages(server.mail_dir)
    assert summary.subject == "Revenue pack June 2026"
    assert summary.sender == "revenue-os@revenue-os.example"
    assert summary.recipients == ("leadership@revenue-os.example", "oncall@revenue-os.example")
    assert summary.attachments == ("revenue-pack-2026-06.pdf",)
    [(_, data)] = attachments(read_message(summary.path))
    assert data == PDF
