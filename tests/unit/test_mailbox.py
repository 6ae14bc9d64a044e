"""The mailbox reader, and how the stack wires the local mail server into Airflow."""

from __future__ import annotations

import base64
import dataclasses
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from revenue_os.notifications.mailbox import (
    MailboxError,
    attachments,
    body_text,
    find_message,
    html_to_text,
    last_sequence,
    list_messages,
    message_filename,
    read_message,
    subject_slug,
)
from revenue_os_stack import mail_server
from revenue_os_stack.airflow_services import airflow_env
from revenue_os_stack.processes import Service
from revenue_os_stack.profile import DEFAULT_PORTS, load_profile
from revenue_os_stack.secret_store import SECRET_GENERATORS

PDF = b"%PDF-1.4\n\x00\x01\xfe\xff binary\n%%EOF\n"

# As a mail client would write it by hand: LF endings, an encoded subject, HTML only, a PDF.
HAND_MADE = f"""\
From: Revenue OS <revenue-os@revenue-os.example>
To: CMO <cmo@revenue-os.example>, cfo@revenue-os.example
Cc: oncall@revenue-os.example
Date: Tue, 02 Jun 2026 10:30:00 +0200
Subject: =?utf-8?q?KPI_breach=3A_ROAS_=E2=80=94_June?=
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: text/html; charset="utf-8"

<html><head><style>p {{ color: red }}</style></head><body>
<h2>ROAS below target</h2>
<p>ROAS is <b>0.8</b> &lt; 1.0. <a href="http://127.0.0.1:8080/dags/revenue_refresh">Run</a></p>
<ul><li>paid search</li><li>paid social</li></ul>
</body></html>

--outer
Content-Type: application/pdf; name="pack.pdf"
Content-Disposition: attachment; filename="pack.pdf"
Content-Transfer-Encoding: base64

{base64.encodebytes(PDF).decode()}
--outer--
"""


def plain(subject: str, to: str = "a@revenue-os.example") -> str:
    return f"From: x@revenue-os.example\nTo: {to}\nSubject: {subject}\n\nbody of {subject}\n"


def test_a_hand_made_eml_is_parsed(tmp_path):
    path = tmp_path / "copied-in.eml"
    path.write_text(HAND_MADE)

    [summary] = list_messages(tmp_path)
    assert summary.number == 1 and summary.path == path
    assert summary.subject == "KPI breach: ROAS — June"
    assert summary.sender == "Revenue OS <revenue-os@revenue-os.example>"
    # No envelope recorded by our server: To and Cc, as plain addresses.
    assert summary.recipients == (
        "cmo@revenue-os.example",
        "cfo@revenue-os.example",
        "oncall@revenue-os.example",
    )
    assert summary.received == datetime(2026, 6, 2, 8, 30, tzinfo=UTC)
    assert summary.attachments == ("pack.pdf",)

    message = read_message(path)
    assert attachments(message) == [("pack.pdf", PDF)]
    assert body_text(message) == (
        "ROAS below target\n\n"
        "ROAS is 0.8 < 1.0. Run <http://127.0.0.1:8080/dags/revenue_refresh>\n\n"
        "- paid search\n- paid social\n"
    )


def test_the_text_part_is_preferred_to_the_html(tmp_path):
    path = tmp_path / "m.eml"
    path.write_text(
        "Subject: both\nMIME-Version: 1.0\n"
        'Content-Type: multipart/alternative; boundary="b"\n\n'
        "--b\nContent-Type: text/plain\n\nthe plain text\n"
        "--b\nContent-Type: text/html\n\n<p>the <i>html</i></p>\n--b--\n"
    )
    message = read_message(path)
    assert body_text(message) == "the plain text"
    assert attachments(message) == []


def test_server_named_files_come_in_arrival_order_hand_copied_ones_last(tmp_path):
    t = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
    # Same second for 2 and 3: the sequence decides, not the subject's slug.
    (tmp_path / message_filename(t.replace(second=5), 3, "aaa third")).write_text(plain("third"))
    (tmp_path / message_filename(t, 1, "zzz first")).write_text(plain("first"))
    (tmp_path / message_filename(t.replace(second=5), 2, "bbb second")).write_text(plain("second"))
    (tmp_path / "0-by-hand.eml").write_text(plain("by hand"))
    (tmp_path / ".20260601T120006.000000Z-000004-x.eml.abc.tmp").write_text("half a mess")
    (tmp_path / "notes.txt").write_text(plain("not mail"))

    messages = list_messages(tmp_path)
    assert [m.subject for m in messages] == ["first", "second", "third", "by hand"]
    assert [m.number for m in messages] == [1, 2, 3, 4]
    assert messages[0].received == t
    assert last_sequence(tmp_path) == 3
    assert find_message(tmp_path, "latest").subject == "by hand"
    assert find_message(tmp_path, "2").subject == "second"
    with pytest.raises(MailboxError, match="no message 5"):
        find_message(tmp_path, 5)
    with pytest.raises(MailboxError, match="neither a message number nor 'latest'"):
        find_message(tmp_path, "newest")


def test_an_empty_or_missing_mailbox(tmp_path):
    assert list_messages(tmp_path / "absent") == []
    assert last_sequence(tmp_path / "absent") == 0
    with pytest.raises(MailboxError, match="no messages"):
        find_message(tmp_path, "latest")


def test_file_names_are_safe_and_sortable():
    when = datetime(2026, 6, 1, 12, 0, 0, 123456, tzinfo=UTC)
    assert message_filename(when, 7, "Refresh FAILED: revenue_refresh / run #12") == (
        "20260601T120000.123456Z-000007-refresh-failed-revenue-refresh-run-12.eml"
    )
    assert subject_slug("Élan vital ✓ — KPI") == "elan-vital-kpi"
    assert subject_slug("../../etc/passwd") == "etc-passwd"
    assert subject_slug("✓✓") == "no-subject"
    assert len(subject_slug("word " * 50)) <= 40


def test_html_to_text_keeps_table_rows_and_drops_scripts():
    text = html_to_text(
        "<script>alert(1)</script><table><tr><th>KPI</th><th>Value</th></tr>"
        "<tr><td>ROAS</td><td>0.8</td></tr></table><p>a&nbsp;b &amp; c</p>"
    )
    assert text == "KPI  Value\nROAS  0.8\n\na b & c\n"


def test_each_profile_has_its_own_mail_port_and_folder(monkeypatch):
    monkeypatch.delenv("REVENUE_OS_MAIL_PORT", raising=False)
    assert {name: ports[4] for name, ports in DEFAULT_PORTS.items()} == {
        "demo": 2525,
        "test": 12525,
        "bench": 22525,
    }
    profile = load_profile("test")
    assert profile.mail_port == 12525
    assert profile.mail_dir == profile.state_dir / "mail"
    monkeypatch.setenv("REVENUE_OS_MAIL_PORT", "2626")
    assert load_profile("demo").mail_port == 2626


def test_the_stack_starts_the_mail_server_on_the_profile_port():
    profile = load_profile("bench")
    [service] = mail_server.services(profile)
    assert service.name == "mail-server"
    assert service.argv[1:] == [
        "mail-server",
        "--port",
        str(profile.mail_port),
        "--dir",
        str(profile.mail_dir),
    ]
    assert service.log_file == profile.log_dir / "mail-server.log"


def test_airflow_gets_plain_smtp_to_the_local_server_and_the_alert_settings():
    from airflow.models.connection import Connection
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    profile = dataclasses.replace(load_profile("bench"), mail_port=23456, airflow_port=23080)
    secrets = dict.fromkeys(SECRET_GENERATORS, "unused")
    env = airflow_env(profile, secrets)
    assert env["AIRFLOW_CONN_SMTP_DEFAULT"] == (
        "smtp://127.0.0.1:23456?disable_tls=true&disable_ssl=true"
    )
    assert env["REVENUE_OS_ONCALL_EMAILS"] == "oncall@revenue-os.example"
    assert env["REVENUE_OS_PACK_RECIPIENTS"] == "leadership@revenue-os.example"
    assert env["REVENUE_OS_ALERT_FROM"] == "revenue-os@revenue-os.example"
    assert env["AIRFLOW__API__BASE_URL"] == "http://127.0.0.1:23080"  # links in alerts

    # What the provider's hook makes of that connection: no SSL, no STARTTLS, no login.
    hook = SmtpHook()
    hook.smtp_connection = Connection(uri=env["AIRFLOW_CONN_SMTP_DEFAULT"])
    assert (hook.host, hook.port) == ("127.0.0.1", 23456)
    assert hook.use_ssl is False and hook.smtp_starttls is False
    assert hook.smtp_user == "" and hook.smtp_password == ""

    # Same settings, same digest (no restart on every `demo`); a moved port restarts Airflow.
    api_server = Service(
        "airflow-api-server", ["airflow", "api-server"], profile.run_dir, profile.log_dir
    )
    again = airflow_env(profile, secrets)
    assert api_server._config_digest(env) == api_server._config_digest(again)
    moved = airflow_env(dataclasses.replace(profile, mail_port=23457), secrets)
    assert api_server._config_digest(env) != api_server._config_digest(moved)


def test_the_demo_summary_says_where_mail_is_read(capsys):
    from revenue_os.cli.stack_commands import _print_demo_summary

    profile = load_profile("test")
    stack = SimpleNamespace(profile=profile, secrets=dict.fromkeys(SECRET_GENERATORS, "pw"))
    _print_demo_summary(stack, {"elapsed_s": 1.0})
    out = capsys.readouterr().out
    assert "revenue-os mail list" in out
    assert str(profile.mail_dir) in out and f"127.0.0.1:{profile.mail_port}" in out


def test_mail_commands_explain_themselves():
    from revenue_os.cli import build_parser

    text = build_parser().format_help()
    for command in ("mail", "mail-server"):
        line = next(line for line in text.splitlines() if line.strip().startswith(command + " "))
        assert len(line.split()) > 3, f"{command} has no explanation in --help"
    args = build_parser().parse_args(["mail", "show", "latest", "--raw", "--dir", "/x"])
    assert (args.action, args.message, args.raw, str(args.dir)) == ("show", "latest", True, "/x")
