"""ZIP codes within a radius: the time to load the reference data once, and the time of a
radius search (the domain's, as GeoService answers it in process) for several centres and
radii, median and p99 over many repetitions, beside measuring every ZIP code (the floor a
plain scan would give).

Usage: .venv/bin/python bench/zip_radius.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from server.adapters.us_places import load
from server.domain.geo import Gazetteer, miles_between

CASES = [
    ("10001", 10.0, False, "Manhattan, dense"),
    ("10001", 25.0, False, "Manhattan, dense"),
    ("10001", 100.0, False, "Manhattan, dense"),
    ("60601", 50.0, True, "Chicago, in state"),
    ("89101", 100.0, False, "Las Vegas"),
    ("59001", 250.0, False, "Montana, sparse"),
    ("59001", 500.0, False, "Montana, the largest radius"),
]


def scan_all(g: Gazetteer, zip_code: str, miles: float) -> list[str]:
    centre = g.place(zip_code)
    return [
        p.zip_code
        for p in g.places
        if miles_between(centre.latitude, centre.longitude, p.latitude, p.longitude) <= miles
    ]


def timed(call: object, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()  # type: ignore[operator]
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(0.99 * len(times)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    started = time.perf_counter()
    g = load()
    print(
        f"loaded {len(g.places)} ZIP codes and {len(g.states)} states in "
        f"{time.perf_counter() - started:.2f} s (once per process)"
    )
    print(
        f"{'centre':7} {'miles':>6} {'in state':9} {'found':>6}  {'median':>8} {'p99':>8}  "
        f"{'scan all, median':>16}"
    )
    for zip_code, miles, in_state, what in CASES:
        found = len(g.within(zip_code, miles, in_state))
        median, p99 = timed(partial(g.within, zip_code, miles, in_state), args.repeat)
        scan, _ = timed(partial(scan_all, g, zip_code, miles), max(5, args.repeat // 20))
        print(
            f"{zip_code:7} {miles:6.0f} {in_state!s:9} {found:6}  {median:6.2f} ms "
            f"{p99:6.2f} ms  {scan:13.1f} ms   {what}"
        )


if __name__ == "__main__":
    main()
