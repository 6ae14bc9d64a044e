"""How long the local stack takes to come up, and how much memory it holds once up.

Measures, on the `bench` profile (its own ports and state, never the demo's):
  cold      `revenue-os demo` with no state at all: new Postgres cluster, Airflow and Superset
            metadata databases, services started, one refresh run (the venvs are installed)
  warm      `revenue-os demo` again while everything runs (what a second `make demo` costs)
  restart   `revenue-os down` then `revenue-os demo`: state kept, services started again
For each: wall time of the whole command, and the time from its start to the refresh run's
success. After the runs: the stack's memory (PSS of each service's process tree) and the
venv installs, cold (empty uv cache) and warm.

    .venv/bin/python bench/stack_setup.py [--runs N] [--skip-venvs]

Prints a Markdown table for docs/performance.md. Deletes the bench profile's state at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [str(Path(sys.executable).parent / "revenue-os"), "--profile", "bench"]


def timed(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    began = time.monotonic()
    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - began
    if result.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return elapsed, result.stdout


def refresh_seconds(output: str) -> float:
    """Seconds the refresh step took, from the demo's progress lines."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if "Refresh: one " in line)
    done = next(line for line in lines[start:] if line.strip().startswith("done in"))
    return float(done.split()[2])


def wipe_bench_state() -> None:
    subprocess.run([*CLI, "down"], cwd=ROOT, capture_output=True, check=False)
    from revenue_os_stack.profile import load_profile

    profile = load_profile("bench")
    shutil.rmtree(profile.postgres_dir.parent, ignore_errors=True)
    shutil.rmtree(profile.state_dir, ignore_errors=True)


def venv_install_seconds(cold: bool) -> float:
    uv = str(ROOT / ".local" / "tools" / "uv" / "bin" / "uv")
    with tempfile.TemporaryDirectory() as scratch:
        env = {**os.environ}
        if cold:
            env["UV_CACHE_DIR"] = str(Path(scratch) / "cache")
        venv = Path(scratch) / "venv"
        began = time.monotonic()
        subprocess.run([uv, "venv", "-q", "-p", "python3.11", str(venv)], env=env, check=True)
        subprocess.run(
            [
                uv,
                "pip",
                "sync",
                "-q",
                "-p",
                str(venv / "bin" / "python"),
                str(ROOT / "requirements.lock"),
            ],
            env=env,
            check=True,
        )
        return time.monotonic() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1, help="cold/warm/restart cycles (default 1)")
    parser.add_argument("--skip-venvs", action="store_true", help="do not time venv installs")
    args = parser.parse_args()

    figures: dict[str, list[tuple[float, float]]] = {"cold": [], "warm": [], "restart": []}
    memory: list[float] = []
    for cycle in range(1, args.runs + 1):
        wipe_bench_state()
        for kind in ("cold", "warm", "restart"):
            if kind == "restart":
                timed([*CLI, "down"])
            print(f"cycle {cycle}/{args.runs}: {kind} demo ...", file=sys.stderr, flush=True)
            wall, out = timed([*CLI, "demo"])
            figures[kind].append((wall, refresh_seconds(out)))
        _, status = timed([*CLI, "status"])
        total = next(line for line in status.splitlines() if line.strip().startswith("total"))
        memory.append(float(total.split()[1]))
        print(status, file=sys.stderr)
    wipe_bench_state()

    print("| measurement | median wall s | of which the refresh run s | runs |")
    print("| --- | --- | --- | --- |")
    for kind, rows in figures.items():
        wall = statistics.median(r[0] for r in rows)
        refresh = statistics.median(r[1] for r in rows)
        print(f"| `revenue-os demo`, {kind} | {wall:.1f} | {refresh:.1f} | {len(rows)} |")
    print(
        f"| stack memory once up (PSS, MiB) | {statistics.median(memory):.0f} | | {len(memory)} |"
    )
    if not args.skip_venvs:
        print(
            f"| Airflow venv from the lock, empty uv cache | {venv_install_seconds(True):.1f} | | 1 |"
        )
        print(
            f"| Airflow venv from the lock, warm uv cache | {venv_install_seconds(False):.1f} | | 1 |"
        )


if __name__ == "__main__":
    main()
