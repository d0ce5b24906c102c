"""A cap on how many things each key (an account, say) may do in each minute of the clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class MinuteCap:
    """At most `per_minute` events per key in each minute of the clock, counted by this
    process. Used where a flood past it is answered but not recorded (site visits, posts
    whose credentials did not hold), so that what is stored stays bounded."""

    per_minute: int
    _minute: int = -1
    _counts: dict[int, int] = field(default_factory=dict)

    def take(self, key: int, now: datetime) -> bool:
        """Count one event of the key now; whether it is within the cap."""
        minute = int(now.timestamp() // 60)
        if minute != self._minute:
            self._minute = minute
            self._counts = {}
        taken = self._counts.get(key, 0) + 1
        self._counts[key] = taken
        return taken <= self.per_minute

    def first_refusal(self, key: int) -> bool:
        """Whether the key's last refused event was its first this minute (say so once)."""
        return self._counts.get(key, 0) == self.per_minute + 1
