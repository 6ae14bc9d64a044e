"""The running mock's mutable state: the moment it shows, fault options, counters, cursors."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import date
from typing import Any

from revenue_os_mock_apis.business import Business, BusinessView
from revenue_os_mock_apis.business.core import DAY_MS, ms_to_datetime
from revenue_os_mock_apis.business.view import diff_views
from revenue_os_mock_apis.config import VENDORS, FaultOptions, MockConfig

MAX_CURSORS = 64
MAX_CACHED_QUERIES = 16


class MockState:
    """Shared by every vendor app of one server; guarded by a lock (handlers run in threads)."""

    def __init__(self, config: MockConfig, business: Business):
        self.config = config
        self.business = business
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        """Back to the start-up moment, options and counters."""
        with self.lock:
            self.now_ms = self.business.calendar.now_ms
            self.faults: FaultOptions = self.config.faults
            self.counters: dict[str, int] = dict.fromkeys(VENDORS, 0)
            self.cursors: OrderedDict[str, Any] = OrderedDict()
            self._query_cache: OrderedDict[tuple, Any] = OrderedDict()
            self._views: OrderedDict[int, BusinessView] = OrderedDict()

    @property
    def as_of(self) -> date:
        return ms_to_datetime(self.now_ms).date()

    def view(self, now_ms: int | None = None) -> BusinessView:
        """The business at `now_ms` (default: the current moment), cached for a few moments."""
        moment = self.now_ms if now_ms is None else int(now_ms)
        with self.lock:
            view = self._views.get(moment)
            if view is None:
                view = BusinessView(self.business, moment)
                self._views[moment] = view
                while len(self._views) > 4:
                    self._views.popitem(last=False)
            else:
                self._views.move_to_end(moment)
            return view

    def next_request(self, vendor: str) -> int:
        with self.lock:
            self.counters[vendor] += 1
            return self.counters[vendor]

    def request_count(self, vendor: str) -> int:
        return self.counters[vendor]

    def advance(self, days: int) -> dict[str, Any]:
        """Move the moment forward; report what changed so tests can expect exact deltas."""
        if days < 1:
            raise ValueError("days must be a positive whole number")
        with self.lock:
            target = self.now_ms + days * DAY_MS
            if target > self.business.calendar.end_ms:
                remaining = (self.business.calendar.end_ms - self.now_ms) // DAY_MS
                raise ValueError(
                    f"cannot advance {days} days: the generated horizon allows {remaining} more "
                    "(start the server with a larger --advance-horizon-days)"
                )
            before = self.view()
            before_as_of = self.as_of
            self.now_ms = target
            after = self.view()
        return {
            "as_of_before": before_as_of.isoformat(),
            "as_of": self.as_of.isoformat(),
            "days": days,
            "changes": diff_views(before, after),
        }

    def cached(self, key: tuple, compute: Callable[[], Any]) -> Any:
        """The result of an offset-paged query, computed once for all its pages.

        Keys include the moment shown, so a cached answer is never served after time moves.
        """
        with self.lock:
            if key in self._query_cache:
                self._query_cache.move_to_end(key)
                return self._query_cache[key]
        value = compute()
        with self.lock:
            self._query_cache[key] = value
            while len(self._query_cache) > MAX_CACHED_QUERIES:
                self._query_cache.popitem(last=False)
        return value

    def remember_cursor(self, locator: str, payload: Any) -> None:
        with self.lock:
            self.cursors[locator] = payload
            self.cursors.move_to_end(locator)
            while len(self.cursors) > MAX_CURSORS:
                self.cursors.popitem(last=False)

    def cursor(self, locator: str) -> Any:
        with self.lock:
            return self.cursors.get(locator)
