"""SVG charts of the scale curves for Benchmarks/performance.py: one file per structure, with two
panels over the same logarithmic axis of entries (10^3 to 10^6): time per operation above, resident
bytes per entry below, one line per series and a legend under them.

Written by hand rather than with matplotlib so that regenerating docs/Performance.md needs nothing
beyond Python's standard library, and so the files are small, diffable text.
"""
import math
from xml.sax.saxutils import escape

# Okabe-Ito: told apart by colour-blind readers too; each series also has its own dash pattern.
COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]
DASHES = ["", "6 3", "2 3", "8 3 2 3", "4 4", "1 2", "10 4"]
WIDTH, LEFT, RIGHT, PANEL_HEIGHT = 820, 90, 790, 220
X_DECADES = (3, 6)


def _number(value):
    return f"{value:,.0f}" if value >= 1 else f"{value:g}"


def _linear_ticks(top):
    """Ticks from 0 to at least `top` with a step of 1, 2 or 5 times a power of ten."""
    raw = max(top, 1e-9) / 5
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    count = math.ceil(top / step)
    return [step * i for i in range(count + 1)]


def _log_ticks(low, high):
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    if last == first:
        last += 1
    ticks = [10.0**d for d in range(first, last + 1)]
    if last - first <= 2:  # few decades: 2 and 5 times each as well, so values can be read off
        ticks = sorted(ticks + [m * 10.0**d for d in range(first, last) for m in (2, 5)])
    return ticks


def _panel(parts, top, label, series, key):
    """Draws one panel at `top`: axes, grid, ticks and the lines of `key` ("ns" or "bytes")."""
    bottom = top + PANEL_HEIGHT
    values = [p[key] for s in series for p in s["points"] if p.get(key) is not None and p[key] > 0]
    if not values:
        parts.append(f'<text x="{(LEFT + RIGHT) / 2}" y="{top + PANEL_HEIGHT / 2}" text-anchor="middle">{escape(label)}: not measured</text>')
        return
    logarithmic = max(values) / min(values) > 30
    if logarithmic:
        ticks = _log_ticks(min(values), max(values))
        low, high = math.log10(ticks[0]), math.log10(ticks[-1])

        def y(v):
            return bottom - (math.log10(v) - low) / (high - low) * PANEL_HEIGHT
    else:
        ticks = _linear_ticks(max(values) * 1.05)

        def y(v):
            return bottom - v / ticks[-1] * PANEL_HEIGHT

    def x(n):
        return LEFT + (math.log10(n) - X_DECADES[0]) / (X_DECADES[1] - X_DECADES[0]) * (RIGHT - LEFT)

    parts.append(f'<rect x="{LEFT}" y="{top}" width="{RIGHT - LEFT}" height="{PANEL_HEIGHT}" fill="none" stroke="#444"/>')
    for tick in ticks:
        ty = y(tick)
        parts.append(f'<line x1="{LEFT}" y1="{ty:.1f}" x2="{RIGHT}" y2="{ty:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{ty + 4:.1f}" text-anchor="end" font-size="11">{_number(tick)}</text>')
    for decade in range(X_DECADES[0], X_DECADES[1] + 1):
        tx = x(10**decade)
        parts.append(f'<line x1="{tx:.1f}" y1="{top}" x2="{tx:.1f}" y2="{bottom}" stroke="#ddd"/>')
        parts.append(f'<text x="{tx:.1f}" y="{bottom + 16}" text-anchor="middle" font-size="11">10<tspan dy="-5" font-size="9">{decade}</tspan></text>')
    scale = ", log scale" if logarithmic else ""
    middle = top + PANEL_HEIGHT / 2
    parts.append(
        f'<text x="22" y="{middle}" text-anchor="middle" font-size="12" transform="rotate(-90 22 {middle})">{escape(label + scale)}</text>'
    )
    parts.append(f'<text x="{(LEFT + RIGHT) / 2}" y="{bottom + 34}" text-anchor="middle" font-size="12">entries n (log scale)</text>')
    for index, s in enumerate(series):
        points = [(p["n"], p[key]) for p in s["points"] if p.get(key) is not None and p[key] > 0]
        if not points:
            continue
        colour, dash = COLOURS[index % len(COLOURS)], DASHES[index % len(DASHES)]
        path = " ".join(f"{x(n):.1f},{y(v):.1f}" for n, v in points)
        dashing = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dashing}/>')
        for n, v in points:
            tip = escape(f"{s['label']}, n={n:,}: {v:,.0f} {'ns' if key == 'ns' else 'bytes'}")
            parts.append(f'<circle cx="{x(n):.1f}" cy="{y(v):.1f}" r="3.5" fill="{colour}"><title>{tip}</title></circle>')


def scale_chart(title, series):
    """An SVG document: `series` is a list of {"label", "points": [{"n", "ns", "bytes"}]}."""
    legend_top = 50 + 2 * PANEL_HEIGHT + 2 * 60 + 10
    height = legend_top + 20 * len(series) + 10
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" '
        'font-family="Helvetica, Arial, sans-serif">',
        f"<title>{escape(title)}</title>",
        f"<desc>{escape('Time per operation (p50, ns) and resident bytes per entry against the number of entries, from 1,000 to 1,000,000.')}</desc>",
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
        f'<text x="{WIDTH / 2}" y="28" text-anchor="middle" font-size="16" font-weight="bold">{escape(title)}</text>',
    ]
    _panel(parts, 50, "time per operation, p50 (ns)", series, "ns")
    _panel(parts, 50 + PANEL_HEIGHT + 60, "resident bytes per entry", series, "bytes")
    for index, s in enumerate(series):
        ly = legend_top + 20 * index
        colour, dash = COLOURS[index % len(COLOURS)], DASHES[index % len(DASHES)]
        dashing = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(f'<line x1="{LEFT}" y1="{ly}" x2="{LEFT + 36}" y2="{ly}" stroke="{colour}" stroke-width="2"{dashing}/>')
        parts.append(f'<circle cx="{LEFT + 18}" cy="{ly}" r="3.5" fill="{colour}"/>')
        parts.append(f'<text x="{LEFT + 46}" y="{ly + 4}" font-size="12">{escape(s["label"])}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
