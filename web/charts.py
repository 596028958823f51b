"""Charts drawn on the server as inline SVG: horizontal bars (this period against the previous one) and
a line over time. No script, so they print and work everywhere; the tables beside them hold the numbers."""
from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

NOW_COLOUR = "#1d5fa8"
BEFORE_COLOUR = "#b7c7d9"
GRID_COLOUR = "#d9dee3"
TEXT_COLOUR = "#1f2933"


@dataclass(frozen=True)
class Bar:
    label: str
    current: float
    previous: float | None = None


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def bars(items: list[Bar], title: str, now_label: str, before_label: str, width: int = 520) -> Markup:
    """Horizontal bars, one pair per item: this period (dark) over the previous one (light)."""
    if not items:
        return Markup("")
    label_width, bar_height, gap, top = 150, 11, 10, 28
    scale_width = width - label_width - 60
    biggest = max(max(i.current, i.previous or 0) for i in items) or 1
    height = top + len(items) * (2 * bar_height + gap) + 8
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>", _legend(now_label, before_label)]
    for index, item in enumerate(items):
        y = top + index * (2 * bar_height + gap)
        parts.append(f'<text x="{label_width - 6}" y="{y + bar_height + 3}" text-anchor="end" font-size="11" '
                     f'fill="{TEXT_COLOUR}">{escape(_shorten(item.label))}</text>')
        for offset, value, colour in ((0, item.current, NOW_COLOUR), (bar_height, item.previous, BEFORE_COLOUR)):
            if value is None:
                continue
            length = max(1.0, scale_width * value / biggest) if value else 0
            parts.append(f'<rect x="{label_width}" y="{y + offset}" width="{length:.1f}" height="{bar_height - 1}" '
                         f'fill="{colour}"><title>{escape(item.label)}: {_number(value)}</title></rect>')
            parts.append(f'<text x="{label_width + length + 4:.1f}" y="{y + offset + bar_height - 2}" '
                         f'font-size="10" fill="{TEXT_COLOUR}">{_number(value)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it went through escape()


def line(labels: list[str], current: list[float | None], previous: list[float | None], title: str, now_label: str,
         before_label: str, width: int = 760, height: int = 220) -> Markup:
    """Two lines over the period's days (or months): this period and the same positions in the previous."""
    if not labels:
        return Markup("")
    left, right, top, bottom = 40, 12, 28, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    biggest = max([*(c for c in current if c is not None), *(p for p in previous if p is not None), 1])
    step = plot_w / max(1, len(labels) - 1)

    def point(i: int, value: float) -> str:
        return f"{left + i * step:.1f},{top + plot_h - plot_h * value / biggest:.1f}"

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>", _legend(now_label, before_label)]
    for fraction in (0, 0.5, 1):
        y = top + plot_h - plot_h * fraction
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{GRID_COLOUR}"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="10" '
                     f'fill="{TEXT_COLOUR}">{_number(biggest * fraction)}</text>')
    every = max(1, len(labels) // 12)
    for i, label in enumerate(labels):
        if i % every == 0 or i == len(labels) - 1:
            parts.append(f'<text x="{left + i * step:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
                         f'font-size="10" fill="{TEXT_COLOUR}">{escape(label)}</text>')
    earlier = [point(i, v) for i, v in enumerate(previous) if v is not None]
    if earlier:
        parts.append(f'<polyline fill="none" stroke="{BEFORE_COLOUR}" stroke-width="2" '
                     f'stroke-dasharray="4 3" points="{" ".join(earlier)}"/>')
    known = [(i, v) for i, v in enumerate(current) if v is not None]
    if known:
        parts.append(f'<polyline fill="none" stroke="{NOW_COLOUR}" stroke-width="2.5" '
                     f'points="{" ".join(point(i, v) for i, v in known)}"/>')
    for i, value in known:
        x, y = point(i, value).split(",")
        parts.append(f'<circle cx="{x}" cy="{y}" r="2.5" fill="{NOW_COLOUR}">'
                     f'<title>{escape(labels[i])}: {_number(value)}</title></circle>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it went through escape()


def _legend(now_label: str, before_label: str) -> str:
    return (f'<rect x="0" y="4" width="12" height="10" fill="{NOW_COLOUR}"/>'
            f'<text x="16" y="13" font-size="11" fill="{TEXT_COLOUR}">{escape(now_label)}</text>'
            f'<rect x="150" y="4" width="12" height="10" fill="{BEFORE_COLOUR}"/>'
            f'<text x="166" y="13" font-size="11" fill="{TEXT_COLOUR}">{escape(before_label)}</text>')


def _shorten(text: str, limit: int = 18) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"
