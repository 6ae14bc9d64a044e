"""The scheduler watch as a service of the local stack (revenue_os.notifications.scheduler_watch).

It runs beside Airflow, not under it, with Airflow's environment: the same `smtp_default`,
on-call addresses and warehouse connection the DAGs' alerts use. It listens on nothing; each
check rewrites a small status file, which is how the stack knows it is alive and what
`revenue-os status` shows of the scheduler.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path

from revenue_os.notifications.scheduler_watch import (
    DEFAULT_DOWN_AFTER_S,
    DEFAULT_INTERVAL_S,
    DOWN_AFTER_VARIABLE,
    INTERVAL_VARIABLE,
    OperatorHints,
    read_status,
)
from revenue_os_stack.processes import Service
from revenue_os_stack.profile import Profile

BIN_DIR = Path(sys.executable).parent
SERVICE_NAME = "scheduler-watch"
# The test profile's integration test stops the scheduler and waits for both mails: a short
# threshold and poll keep it under a minute. The demo keeps the operator's defaults.
PROFILE_DOWN_AFTER_S = {"test": 20}
PROFILE_INTERVAL_S = {"test": 3}


def status_file(profile: Profile) -> Path:
    # Not in run/: the PID files there are trusted by `down`, so only the caller writes them.
    return profile.watch_dir / f"{SERVICE_NAME}.json"


def hints(profile: Profile) -> OperatorHints:
    """Where this profile's scheduler logs, and the command that starts it again."""
    return OperatorHints(
        scheduler_log=str(profile.log_dir / "airflow-scheduler.log"),
        restart=f"revenue-os --profile {profile.name} demo --no-refresh "
        "(starts what is stopped, leaves what runs)",
    )


def down_after_s(profile: Profile) -> float:
    """How long the scheduler may be down before on-call is told: the environment's
    REVENUE_OS_SCHEDULER_DOWN_AFTER_S, else the profile's default."""
    return float(
        os.environ.get(DOWN_AFTER_VARIABLE)
        or PROFILE_DOWN_AFTER_S.get(profile.name, DEFAULT_DOWN_AFTER_S)
    )


def interval_s(profile: Profile) -> float:
    """How often the watch polls: REVENUE_OS_SCHEDULER_WATCH_INTERVAL_S, else the profile's."""
    return float(
        os.environ.get(INTERVAL_VARIABLE)
        or PROFILE_INTERVAL_S.get(profile.name, DEFAULT_INTERVAL_S)
    )


def services(profile: Profile) -> list[Service]:
    argv = [
        str(BIN_DIR / "revenue-os"),
        "--profile",
        profile.name,
        "watch-scheduler",
        "--api-url",
        profile.airflow_url,
        "--down-after",
        f"{down_after_s(profile):g}",
        "--interval",
        f"{interval_s(profile):g}",
        "--status-file",
        str(status_file(profile)),
    ]
    return [Service(SERVICE_NAME, argv, profile.run_dir, profile.log_dir)]


def latest_check(profile: Profile) -> dict | None:
    """The watch's latest check as it wrote it (None before its first one)."""
    return read_status(status_file(profile))


def checked_since(profile: Profile, moment: datetime) -> bool:
    """True once the watch has written a check made at or after `moment`: it runs and polls."""
    status = latest_check(profile)
    return status is not None and datetime.fromisoformat(status["checked_at"]) >= moment
