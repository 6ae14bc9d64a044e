"""The operator's command explains itself and fails with messages that say what to fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from revenue_os.cli import build_parser, main

COMMANDS = ["demo", "down", "status", "refresh", "env", "purge", "mart", "dashboards", "glossary"]
COMMANDS += ["decisions"]


def test_help_lists_every_command_with_a_sentence():
    text = build_parser().format_help()
    for command in COMMANDS:
        line = next(line for line in text.splitlines() if line.strip().startswith(command + " "))
        assert len(line.split()) > 3, f"{command} has no explanation in --help"


def test_console_script_is_installed_and_answers_help():
    script = Path(sys.executable).parent / "revenue-os"
    result = subprocess.run(
        [str(script), "demo", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert "--no-refresh" in result.stdout
    text = " ".join(result.stdout.split())  # argparse wraps to the terminal's width
    assert "Safe to run again" in text
    assert "--refresh-timeout SECONDS" in text and "(default 600;" in text


def test_unknown_profile_exits_2_with_the_choices(capsys):
    assert main(["--profile", "staging", "status"]) == 2
    assert "unknown profile 'staging'" in capsys.readouterr().err


def test_missing_command_is_a_usage_error():
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2


def test_purge_without_a_terminal_refuses_unless_told(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", open("/dev/null"))  # noqa: SIM115 - closed with the test
    assert main(["--profile", "bench", "purge"]) == 2
    assert "pass --yes" in capsys.readouterr().err


def test_decisions_add_refuses_a_bad_type_or_date_before_touching_anything(capsys):
    base = ["decisions", "add", "--kpi", "roas", "--forum", "f", "--owner", "o", "--trigger", "t"]
    base += ["--action", "a", "--success", "s"]
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([*base, "--type", "panic", "--due", "2026-12-01"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'panic'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        build_parser().parse_args([*base, "--type", "mitigate", "--due", "next friday"])
    assert "'next friday' is not a date (YYYY-MM-DD)" in capsys.readouterr().err
    args = build_parser().parse_args([*base, "--type", "mitigate", "--due", "2026-12-01"])
    assert (args.kpi, args.type, args.due.isoformat()) == ("roas", "mitigate", "2026-12-01")
