"""A refresh run, task by task: its wall time against its critical path and its work.

    .venv/bin/python bench/refresh_run.py --profile bench [--run-id RUN_ID]

Reads a finished `revenue_refresh` run (the latest successful one unless `--run-id` names
one) from the running stack's Airflow API, and the DAG's dependencies from the same API, then
prints as Markdown:

  each task       its duration, and when it started after the run's first task began
  critical path   the longest chain of dependent tasks, weighted by their durations: what the
                  run would take with unlimited slots and no scheduler in between
  work            the sum of every task's duration: what the run would take one task at a time
  wall            first task start to last task end

wall / critical path above 1 is what the run lost to waiting: pool slots (three loads at a
time), the executor's parallelism and the scheduler's latency between tasks.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from functools import cache

from revenue_os_stack.profile import load_profile
from revenue_os_stack.stack import Stack

DAG_ID = "revenue_refresh"


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def critical_path(durations: dict[str, float], upstream: dict[str, set[str]]) -> list[str]:
    """The chain of dependent tasks with the largest total duration, first task first."""

    @cache
    def longest_to(task: str) -> tuple[float, tuple[str, ...]]:
        before = [longest_to(parent) for parent in upstream.get(task, ()) if parent in durations]
        seconds, chain = max(before, default=(0.0, ()))
        return seconds + durations[task], (*chain, task)

    return list(max((longest_to(task) for task in durations), default=(0.0, ()))[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="bench")
    parser.add_argument(
        "--run-id", help="a finished run of revenue_refresh (default: latest success)"
    )
    args = parser.parse_args()

    client = Stack(load_profile(args.profile)).airflow_client()
    try:
        run_id = args.run_id
        if run_id is None:
            runs = [r for r in client.dag_runs(DAG_ID, limit=50) if r["state"] == "success"]
            if not runs:
                raise SystemExit(f"no successful {DAG_ID} run on profile {args.profile}")
            run_id = runs[0]["dag_run_id"]
        instances = [ti for ti in client.task_instances(DAG_ID, run_id) if ti.get("start_date")]
        tasks = client.request("GET", f"/api/v2/dags/{DAG_ID}/tasks").json()["tasks"]
    finally:
        client.close()

    upstream: dict[str, set[str]] = {}
    for task in tasks:
        for child in task.get("downstream_task_ids", []):
            upstream.setdefault(child, set()).add(task["task_id"])
    durations = {ti["task_id"]: float(ti["duration"] or 0.0) for ti in instances}
    began = min(_at(ti["start_date"]) for ti in instances)
    ended = max(_at(ti["end_date"]) for ti in instances)
    wall = (ended - began).total_seconds()
    chain = critical_path(durations, upstream)
    critical = sum(durations[task] for task in chain)
    work = sum(durations.values())

    print(f"Run {run_id} of {DAG_ID} (profile {args.profile})\n")
    print("| task | starts at s | duration s | on the critical path |")
    print("| --- | ---: | ---: | :---: |")
    for ti in sorted(instances, key=lambda ti: (ti["start_date"], ti["task_id"])):
        offset = (_at(ti["start_date"]) - began).total_seconds()
        marker = "yes" if ti["task_id"] in chain else ""
        print(f"| `{ti['task_id']}` | {offset:.1f} | {durations[ti['task_id']]:.1f} | {marker} |")
    print()
    print("| | s | vs critical path |")
    print("| --- | ---: | ---: |")
    print(f"| critical path ({len(chain)} tasks) | {critical:.1f} | 1.00x |")
    print(f"| wall | {wall:.1f} | {wall / critical:.2f}x |")
    print(f"| work (every task one after the other) | {work:.1f} | {work / critical:.2f}x |")


if __name__ == "__main__":
    main()
