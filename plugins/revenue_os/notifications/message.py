"""One alert, rendered for e-mail (HTML) and for a chat webhook (plain text) from the same facts."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import jinja2

_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)
COLOURS = {"problem": "#b42318", "warning": "#b54708", "resolved": "#027a48"}


@dataclass(frozen=True)
class AlertMessage:
    kind_label: str  # e.g. "Failed refresh", "Stale data", "KPI in red"
    title: str
    summary: str = ""
    facts: list[tuple[str, str]] = field(default_factory=list)
    detail: str = ""  # preformatted, e.g. the error
    links: list[tuple[str, str]] = field(default_factory=list)
    tone: str = "problem"

    @property
    def subject(self) -> str:
        return f"[Revenue OS] {self.title}"

    @property
    def colour(self) -> str:
        return COLOURS[self.tone]

    def html(self) -> str:
        return _TEMPLATES.get_template("alert.html").render(message=self)

    def plain(self) -> str:
        """The e-mail's text/plain part: the same facts, links as bare addresses."""
        lines = [self.title, ""]
        if self.summary:
            lines += [self.summary, ""]
        lines += [f"{label}: {value}" for label, value in self.facts]
        if self.detail:
            lines += ["", self.detail]
        if self.links:
            lines += ["", *(f"{label}: {url}" for label, url in self.links)]
        return "\n".join(lines) + "\n"

    def text(self) -> str:
        """The webhook's text: Slack's mrkdwn reads *bold* and <url|label>; others show it as is."""
        lines = [f"*{self.subject}*"]
        if self.summary:
            lines.append(self.summary)
        lines += [f"{label}: {value}" for label, value in self.facts]
        if self.detail:
            lines.append(f"```{self.detail}```")
        lines += [f"<{url}|{label}>" for label, url in self.links]
        return "\n".join(lines)
