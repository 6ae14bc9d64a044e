"""How much memory a service uses: the proportional set size (PSS) of its process tree.

PSS splits pages shared between forked workers (gunicorn, the LocalExecutor) among them, so
the sum over a tree is what the tree really costs, unlike a sum of RSS.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        children[int(fields[1])].append(int(entry.name))
    return children


def _pss_kib(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return 0
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def tree_pss_mib(root_pid: int) -> float:
    """PSS of `root_pid` and all its descendants, in MiB."""
    children = _children_map()
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        total += _pss_kib(pid)
        stack.extend(children.get(pid, []))
    return total / 1024
