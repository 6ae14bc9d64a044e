"""What an audit of a built mart says, shared by the build and the checks that plug into it.

The build (transform/build.py) runs its own audits and any others it is given; the
data-quality gate (quality/gate.py) is one of those. Both speak these types, so neither
imports the other's internals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import psycopg

# An audit reads the built schema and says what it measured; the data-quality gate adds its
# checks to audit() through `extra_audits` without the build knowing what they are.
Audit = Callable[[psycopg.Connection, str], list["AuditResult"]]


class AuditFailed(RuntimeError):
    """The built mart failed an audit: nothing was published."""


@dataclass
class AuditResult:
    audit: str
    subject: str
    passed: bool
    measured: str
    expected: str
    warning: bool = False  # passed, but recorded as a known issue (a tier 2 quality check)

    def line(self) -> str:
        mark = "WARN" if self.passed and self.warning else ("ok  " if self.passed else "FAIL")
        return f"{mark} {self.audit:<22} {self.subject:<34} measured {self.measured}, expected {self.expected}"
