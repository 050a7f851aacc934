"""Failed logins slow the one who fails, never lock out the one who knows the password.

A pen test found that five bad logins locked an account for 15 minutes even for the right
password and code, so anyone could keep a duty officer out for good, and that the lock told
which usernames exist. Instead:

- **by source** (the caller's address): after :data:`FREE_FAILURES` failures within
  :data:`WINDOW_SECONDS`, the source must wait a delay that doubles with each further
  failure (at most :data:`MAX_SOURCE_DELAY` seconds) before it is heard again (429 with
  ``Retry-After``); only the guesser's own address is held back;
- **by account** (any username, existing or not, so answers and timing tell nothing): each
  failure beyond the free ones is answered after a growing pause (at most
  :data:`MAX_ACCOUNT_PAUSE` seconds), while the right password and code pass at once;
- a **burst** (:data:`BURST_FAILURES` failures of one source or one account within the
  window) is reported once per window, for the admins' alert.

State is kept in memory, per gateway process: it slows guessing and is lost on restart by
design (a restart must never leave anyone locked out). Framework-free; the clock is injected.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

FREE_FAILURES = 5
WINDOW_SECONDS = 15 * 60
MAX_SOURCE_DELAY = 15 * 60
MAX_ACCOUNT_PAUSE = 4.0
BURST_FAILURES = 20
MAX_TRACKED = 10_000  # sources and accounts remembered; the oldest are forgotten first


@dataclass
class Burst:
    kind: str  # "source" | "account"
    key: str
    failures: int
    at: float


@dataclass
class _Failures:
    times: deque[float] = field(default_factory=deque)
    burst_reported: bool = False


class LoginThrottle:
    def __init__(self, clock: Callable[[], float] = time.time):
        self.clock = clock
        self._sources: OrderedDict[str, _Failures] = OrderedDict()
        self._accounts: OrderedDict[str, _Failures] = OrderedDict()
        self.bursts: deque[Burst] = deque(maxlen=100)

    # --- questions ---------------------------------------------------------------------
    def source_wait(self, source: str) -> float:
        """Seconds before this source may try again (0: now)."""
        failures = self._recent(self._sources, source)
        if len(failures) < FREE_FAILURES:
            return 0.0
        delay = min(2.0 ** (len(failures) - FREE_FAILURES), MAX_SOURCE_DELAY)
        return max(0.0, failures[-1] + delay - self.clock())

    def account_pause(self, account: str) -> float:
        """How long to hold back the answer to a failed login of this account."""
        extra = len(self._recent(self._accounts, _account_key(account))) - FREE_FAILURES
        return 0.0 if extra < 0 else min(0.25 * 2.0**extra, MAX_ACCOUNT_PAUSE)

    # --- what happened -----------------------------------------------------------------
    def failed(self, source: str, account: str) -> list[Burst]:
        """Record one failure; returns the bursts it starts (each reported once a window)."""
        now = self.clock()
        started = []
        for kind, table, key in (
            ("source", self._sources, source),
            ("account", self._accounts, _account_key(account)),
        ):
            entry = table.pop(key, None) or _Failures()
            table[key] = entry  # most recently failed last: the oldest are dropped first
            entry.times.append(now)
            self._trim(entry)
            if len(entry.times) < BURST_FAILURES:
                entry.burst_reported = False
            elif not entry.burst_reported:
                entry.burst_reported = True
                burst = Burst(kind, key, len(entry.times), now)
                self.bursts.append(burst)
                started.append(burst)
            while len(table) > MAX_TRACKED:
                table.popitem(last=False)
        return started

    def succeeded(self, source: str, account: str) -> None:
        self._sources.pop(source, None)
        self._accounts.pop(_account_key(account), None)

    def _recent(self, table: OrderedDict[str, _Failures], key: str) -> deque[float]:
        entry = table.get(key)
        if entry is None:
            return deque()
        self._trim(entry)
        return entry.times

    def _trim(self, entry: _Failures) -> None:
        horizon = self.clock() - WINDOW_SECONDS
        while entry.times and entry.times[0] < horizon:
            entry.times.popleft()


def _account_key(account: object) -> str:
    return account.lower() if isinstance(account, str) else "(not a name)"
