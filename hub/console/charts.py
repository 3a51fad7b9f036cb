"""Small server-side SVG charts (no JavaScript): readable in a screenshot and in print."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from markupsafe import Markup

SHARED, WITHHELD = "#2b6cb0", "#c9a227"


def daily_bars(days: Sequence[str], series: Mapping[str, Mapping[str, int]]) -> Markup:
    """Stacked bars per day: shared below, withheld above. ``series[outcome][day]``."""
    if not days:
        return Markup('<p class="muted">No decisions in this period.</p>')
    width, height, left, bottom = 760, 220, 44, 38
    top = max(
        series.get("shared", {}).get(d, 0) + series.get("withheld", {}).get(d, 0) for d in days
    )
    top = max(top, 1)
    slot = (width - left - 10) / len(days)
    bar = max(4.0, min(40.0, slot * 0.7))
    scale = (height - bottom - 12) / top
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        'aria-label="Decisions per day, shared and withheld">'
    ]
    for i in range(5):  # gridlines with counts
        value = round(top * i / 4)
        y = height - bottom - value * scale
        parts.append(
            f'<line x1="{left}" x2="{width - 6}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e2e8f0"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="axis">{value}</text>'
        )
    label_every = max(1, len(days) // 12)
    for i, day in enumerate(days):
        x = left + i * slot + (slot - bar) / 2
        y = height - bottom
        for outcome, colour in (("shared", SHARED), ("withheld", WITHHELD)):
            n = series.get(outcome, {}).get(day, 0)
            h = n * scale
            if n:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                    f'fill="{colour}"><title>{escape(day)} {outcome}: {n}</title></rect>'
                )
            y -= h
        if i % label_every == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
                f'class="axis">{escape(day[5:])}</text>'
            )
    parts.append(
        f'<rect x="{left}" y="{height - 14}" width="10" height="10" fill="{SHARED}"/>'
        f'<text x="{left + 14}" y="{height - 5}" class="axis">shared</text>'
        f'<rect x="{left + 80}" y="{height - 14}" width="10" height="10" fill="{WITHHELD}"/>'
        f'<text x="{left + 94}" y="{height - 5}" class="axis">withheld</text></svg>'
    )
    return Markup("".join(parts))


def hbars(rows: Sequence[tuple[str, int, int]]) -> Markup:
    """Horizontal bars per label: (label, shared, withheld)."""
    if not rows:
        return Markup("")
    width, row_h, label_w = 560, 24, 230
    top = max(max(s + w for _, s, w in rows), 1)
    scale = (width - label_w - 60) / top
    height = row_h * len(rows) + 6
    said = "; ".join(f"{label}: {s} shared, {w} withheld" for label, s, w in rows)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(said)}">'
    ]
    for i, (label, shared, withheld) in enumerate(rows):
        y = 4 + i * row_h
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" class="label">'
            f"{escape(label)}</text>"
            f'<rect x="{label_w}" y="{y + 3}" width="{shared * scale:.1f}" height="16" '
            f'fill="{SHARED}"/>'
            f'<rect x="{label_w + shared * scale:.1f}" y="{y + 3}" '
            f'width="{withheld * scale:.1f}" height="16" fill="{WITHHELD}"/>'
            f'<text x="{label_w + (shared + withheld) * scale + 6:.1f}" y="{y + 15}" '
            f'class="axis">{shared} / {withheld}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def spark(days: Sequence[str], shared: Mapping[str, int], withheld: Mapping[str, int]) -> Markup:
    """A small stacked bar per day (an agreement's volumes over the period, by outcome)."""
    if not days:
        return Markup("")
    width, height = 180, 28
    top = max(max(shared.get(d, 0) + withheld.get(d, 0) for d in days), 1)
    slot = width / len(days)
    total_s = sum(shared.get(d, 0) for d in days)
    total_w = sum(withheld.get(d, 0) for d in days)
    parts = [
        f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="per day: {total_s} shared, {total_w} withheld">'
    ]
    for i, day in enumerate(days):
        y = float(height)
        for n, colour in ((shared.get(day, 0), SHARED), (withheld.get(day, 0), WITHHELD)):
            h = n * (height - 2) / top
            if n:
                parts.append(
                    f'<rect x="{i * slot:.1f}" y="{y - h:.1f}" width="{max(slot - 1, 1):.1f}" '
                    f'height="{h:.1f}" fill="{colour}"><title>{escape(day)}: {n}</title></rect>'
                )
            y -= h
    parts.append("</svg>")
    return Markup("".join(parts))
