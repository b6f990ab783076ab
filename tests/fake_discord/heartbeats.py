"""Was every gateway heartbeat on time? Pure arithmetic over what the gateway recorded.

discord.py beats from a thread but sends through the event loop, so a bot that blocks its loop
(or starves it) shows up here as a gap longer than the interval Discord asked for. Discord
closes a connection that misses beats; tests assert on gaps well before that happens.
"""

from __future__ import annotations

import itertools
from typing import Any

JSON = dict[str, Any]


def late_heartbeats(
    beats: list[tuple[float, int]],
    connections: list[JSON],
    *,
    interval: float,
    since: float,
    until: float,
    slack: float,
) -> list[JSON]:
    """Gaps longer than interval + slack that overlap [since, until], per connection.

    A connection's opening counts as a beat (the first one is due within one interval of HELLO);
    a connection still open at `until` has an open gap from its last beat to `until`.
    """
    late: list[JSON] = []
    for conn in connections:
        number = conn["number"]
        open_at_end = conn["closed"] is None or conn["closed"] > until
        times = [conn["opened"], *(t for t, n in beats if n == number and t <= until)]
        if open_at_end:
            times.append(until)
        for start, stop in itertools.pairwise(times):
            if stop < since or start > until:
                continue
            gap = stop - start
            if gap > interval + slack:
                late.append({"connection": number, "start": start, "end": stop, "gap": round(gap, 3)})
    return late
