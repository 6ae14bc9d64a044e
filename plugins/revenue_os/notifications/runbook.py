"""The runbook's sections as alerts quote them: the heading and its first step.

docs/runbook.md is the one home of what to do; an alert carries the section's name and its
first step inline, so on-call can act from the mail alone, and links to the section only when
the runbook is published where the recipient can open it (AlertSettings.runbook_link).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from revenue_os.paths import DOCS_DIR

RUNBOOK = DOCS_DIR / "runbook.md"


@dataclass(frozen=True)
class RunbookSection:
    anchor: str
    title: str
    first_step: str


def anchor_of(heading: str) -> str:
    """The heading's anchor as code hosts make it: lower case, punctuation out, spaces to -."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _plain(markdown: str) -> str:
    """Markdown inline code and links as plain words, on one line."""
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", markdown)
    return " ".join(text.replace("`", "").split())


@cache
def sections() -> dict[str, RunbookSection]:
    """anchor → section, read from docs/runbook.md (empty where the file is not shipped)."""
    if not RUNBOOK.exists():
        return {}
    found: dict[str, RunbookSection] = {}
    parts = re.split(r"^## (.+)$", RUNBOOK.read_text(encoding="utf-8"), flags=re.MULTILINE)
    for heading, body in zip(parts[1::2], parts[2::2], strict=True):
        # The first numbered step, or failing that the first list item or paragraph.
        step = re.search(r"^1\. (.+?)(?=^\d+\. |^\s*$|\Z)", body, flags=re.MULTILINE | re.DOTALL)
        if step is None:
            step = re.search(r"^- (.+?)(?=^- |^\s*$|\Z)", body, flags=re.MULTILINE | re.DOTALL)
        if step is None:
            paragraphs = [p for p in body.strip().split("\n\n") if p.strip()]
            text = paragraphs[0] if paragraphs else ""
        else:
            text = step.group(1)
        anchor = anchor_of(heading)
        found[anchor] = RunbookSection(anchor, heading.strip(), _plain(text))
    return found


def section(anchor: str) -> RunbookSection | None:
    return sections().get(anchor)


def reference(anchor: str) -> str:
    """ "docs/runbook.md, “A source load failed”": where to read on when there is no link."""
    found = section(anchor)
    return f"docs/runbook.md, “{found.title}”" if found else f"docs/runbook.md#{anchor}"


def runbook_facts(anchor: str, runbook_url: str | None) -> list[tuple[str, str]]:
    """The section's first step, and where to read on when there is no link to it."""
    facts = []
    found = section(anchor)
    if found is not None:
        facts.append(("First step", found.first_step))
    if runbook_url is None:
        facts.append(("Runbook", reference(anchor)))
    return facts
