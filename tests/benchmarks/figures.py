"""What a benchmark reports: a figure with its target, the measured median, and the table."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Target:
    """A figure the issue asks for: its name, its bound and which side of the bound passes."""

    name: str
    limit: float
    unit: str  # "x", "s", "ms", "tok/s", "%", "MB"
    at_most: bool = True

    @property
    def text(self) -> str:
        return f"{'≤' if self.at_most else '≥'} {_number(self.limit, self.unit)}"

    def measured(self, value: float, detail: str = "") -> Figure:
        return Figure(self.name, self.text, self.limit, self.unit, self.at_most, value, detail)

    def failed(self, error: str) -> Figure:
        return Figure(self.name, self.text, self.limit, self.unit, self.at_most, None, error=error)


@dataclass(frozen=True)
class Figure:
    name: str
    target: str
    limit: float
    unit: str
    at_most: bool
    value: float | None
    detail: str = ""
    error: str | None = None

    @property
    def passed(self) -> bool | None:
        if self.value is None:
            return None
        return self.value <= self.limit if self.at_most else self.value >= self.limit

    @property
    def shown(self) -> str:
        return "error" if self.value is None else _number(self.value, self.unit)

    @property
    def verdict(self) -> str:
        return {True: "pass", False: "FAIL", None: "ERROR"}[self.passed]

    def to_dict(self) -> dict:
        return {**asdict(self), "passed": self.passed}


def median(values: list[float]) -> float:
    return statistics.median(values)


def _number(value: float, unit: str) -> str:
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "s":
        return f"{value:.3f} s"
    if unit in ("ms", "%", "MB"):
        return f"{value:.1f} {unit}"
    return f"{value:,.0f} {unit}"


def table(figures: list[Figure]) -> str:
    """A plain-text table: figure, target, measured (median), pass/fail, then how it was found."""
    head = ("figure", "target", "measured", "result", "detail")
    rows = [(f.name, f.target, f.shown, f.verdict, f.error or f.detail) for f in figures]
    widths = [max(len(str(row[i])) for row in [head, *rows]) for i in range(4)]
    lines = []
    for n, row in enumerate([head, *rows]):
        # widths covers four of the five columns: the detail (row[4]) is last and is not padded.
        cells = [str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[4]]).rstrip())
        if n == 0:
            lines.append("  ".join("-" * width for width in widths) + "  " + "-" * 6)
    return "\n".join(lines)
