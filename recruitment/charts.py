"""Geometry of the server-side SVG line charts on the sponsor dashboard.

The page's CSP allows no scripts and no style attributes, so charts are plain SVG drawn by the template from
these coordinates, coloured by classes in static/css/app.css. A point whose count is suppressed gets no
position on the y axis: its line breaks there and a mark on the x axis says a value is hidden.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 40
SERIES_CLASSES = 6
"""How many series colours the stylesheet defines (chart-series-0 ...); further series reuse them."""


class Point(Protocol):
    @property
    def value(self) -> int | None: ...


class Series(Protocol):
    @property
    def label(self) -> str: ...

    @property
    def points(self) -> Sequence[Point]: ...

    @property
    def target(self) -> int | None: ...


@dataclass(frozen=True)
class SvgSeries:
    label: str
    css: str
    lines: list[str]
    """`points` attributes of polylines: one per run of consecutive shown values."""
    dots: list[tuple[float, float, int]]
    hidden: list[float]
    """x of each suppressed point."""
    target_y: float | None


@dataclass(frozen=True)
class SvgChart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    y_ticks: list[tuple[float, int]]
    x_ticks: list[tuple[float, str]]
    series: list[SvgSeries]

    @property
    def x_end(self) -> int:
        return self.width - self.right

    @property
    def y_end(self) -> int:
        return self.height - self.bottom


def _nice_max(value: int) -> int:
    """The smallest of 10, 20, 50, 100, 200, ... at or above `value`."""
    step = 10
    while True:
        for factor in (1, 2, 5):
            if value <= step * factor:
                return step * factor
        step *= 10


def line_chart(days: Sequence[date], series: Sequence[Series]) -> SvgChart:
    """Coordinates for one line per series over `days` (left to right), with each series' target line."""
    shown = [p.value for s in series for p in s.points if p.value is not None]
    targets = [s.target for s in series if s.target]
    top_value = _nice_max(max([*shown, *targets, 1]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    count = len(days)

    def x(index: int) -> float:
        return round(LEFT + (plot_w * index / (count - 1) if count > 1 else plot_w / 2), 1)

    def y(value: int) -> float:
        return round(TOP + plot_h * (1 - value / top_value), 1)

    drawn = []
    for number, one in enumerate(series):
        lines: list[str] = []
        run: list[str] = []
        dots, hidden = [], []
        for index, point in enumerate(one.points):
            if point.value is None:
                hidden.append(x(index))
                if run:
                    lines.append(" ".join(run))
                run = []
                continue
            run.append(f"{x(index)},{y(point.value)}")
            dots.append((x(index), y(point.value), point.value))
        if run:
            lines.append(" ".join(run))
        drawn.append(
            SvgSeries(
                label=one.label,
                css=f"chart-series-{number % SERIES_CLASSES}",
                lines=lines,
                dots=dots,
                hidden=hidden,
                target_y=y(one.target) if one.target else None,
            )
        )
    y_ticks = [(y(top_value * n // 4), top_value * n // 4) for n in range(5)]
    every = max(1, count // 6)
    x_ticks = [(x(i), f"{day:%d %b}") for i, day in enumerate(days) if i % every == 0 or i == count - 1]
    return SvgChart(WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM, y_ticks, x_ticks, drawn)
