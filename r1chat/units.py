"""Numbers as people read them: sizes, durations, rates."""

from __future__ import annotations


def human_size(size: float | None) -> str:
    """Decimal units, as Ollama and its library page show model sizes (4.7 GB)."""
    if size is None:
        return "-"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(size) < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def human_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def human_date(timestamp: float | None, now: float | None = None) -> str:
    """When something happened, in local time: ``14:02`` today, ``yesterday 09:10``, ``Nov 20``
    this year, ``2025-11-20`` before."""
    if timestamp is None:
        return "-"
    import time

    now = time.time() if now is None else now
    when, today = time.localtime(timestamp), time.localtime(now)
    days = (today.tm_year - when.tm_year) * 366 + today.tm_yday - when.tm_yday
    if when.tm_year == today.tm_year and days == 0:
        return time.strftime("today %H:%M", when)
    if when.tm_year == today.tm_year and days == 1 or (days == 1 and today.tm_yday == 1):
        return time.strftime("yesterday %H:%M", when)
    if when.tm_year == today.tm_year:
        return time.strftime("%b %d", when).replace(" 0", " ")
    return time.strftime("%Y-%m-%d", when)
