"""The chart of `leadrouter report --chart`: revenue, source cost and margin per day, drawn by
matplotlib's Agg backend (no display needed) into an SVG or PNG file, by the file's suffix."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path

FORMATS = {".svg": "svg", ".png": "png"}


def write_daily_chart(
    path: Path,
    days: Sequence[date],
    revenue: Sequence[Decimal],
    cost: Sequence[Decimal],
    margin: Sequence[Decimal],
    title: str,
) -> None:
    """Draw the three series over `days` into `path` (.svg or .png); ValueError otherwise."""
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise ValueError(f"{path.name}: the chart is written as .svg or .png")
    from matplotlib.figure import Figure  # imported here: only this command needs it

    figure = Figure(figsize=(10, 4.5), layout="constrained")
    axes = figure.subplots()
    x = [(d - days[0]).days for d in days]  # a day with no figures keeps its place
    for label, values, style in (
        ("revenue (net of credits)", revenue, "-o"),
        ("source cost (net of credits)", cost, "-s"),
        ("margin", margin, "-^"),
    ):
        axes.plot(x, [float(v) for v in values], style, label=label, markersize=3)
    axes.axhline(0, color="grey", linewidth=0.8)
    axes.set_title(title)
    axes.set_xlabel("day (UTC)")
    axes.set_ylabel("amount")
    axes.grid(True, alpha=0.3)
    axes.legend()
    step = max(1, len(days) // 10)  # at most about ten labelled days
    axes.set_xticks(x[::step], [d.isoformat() for d in days[::step]], rotation=30, ha="right")
    figure.savefig(path, format=kind)
