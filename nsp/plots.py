"""Small line plots drawn with PIL (no plotting library needed): training curves from metrics.jsonl."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

COLORS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75)]
CURVES = ("loss", "val_loss", "reward_mean", "val_reward", "pass_rate", "val_pass_rate", "val_oracle_pass", "kl")


def line_plot(series: dict[str, list[tuple[float, float]]], title: str, size=(640, 360)) -> Image.Image:
    """One panel, several named (x, y) series, min-max scaled, with a legend and the y range."""
    w, h = size
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    left, top, right, bottom = 50, 30, w - 10, h - 30
    draw.rectangle((left, top, right, bottom), outline=(0, 0, 0))
    draw.text((left, 8), title, fill=(0, 0, 0))
    points = [p for s in series.values() for p in s]
    if not points:
        return img
    xs, ys = np.array([p[0] for p in points], float), np.array([p[1] for p in points], float)
    x0, x1 = xs.min(), max(xs.max(), xs.min() + 1e-9)
    y0, y1 = ys.min(), max(ys.max(), ys.min() + 1e-9)
    draw.text((4, top), f"{y1:.3g}", fill=(0, 0, 0))
    draw.text((4, bottom - 10), f"{y0:.3g}", fill=(0, 0, 0))
    draw.text((left, bottom + 6), f"{x0:.0f}", fill=(0, 0, 0))
    draw.text((right - 40, bottom + 6), f"step {x1:.0f}", fill=(0, 0, 0))
    for i, (name, pts) in enumerate(series.items()):
        color = COLORS[i % len(COLORS)]
        xy = [(left + (x - x0) / (x1 - x0) * (right - left), bottom - (y - y0) / (y1 - y0) * (bottom - top))
              for x, y in pts]
        if len(xy) > 1:
            draw.line(xy, fill=color, width=2)
        for px, py in xy[-1:]:
            draw.ellipse((px - 2, py - 2, px + 2, py + 2), fill=color)
        draw.text((right - 150, top + 6 + 12 * i), name, fill=color)
    return img


def plot_metrics(metrics_jsonl: Path, out_png: Path) -> Path | None:
    """A panel per metric present in the log (loss, rewards, pass rates, KL), stacked into one PNG."""
    if not metrics_jsonl.is_file():
        return None
    rows = [json.loads(line) for line in metrics_jsonl.read_text().splitlines() if line]
    panels = []
    for key in CURVES:
        pts = [(r["step"], r[key]) for r in rows if isinstance(r.get(key), (int, float))]
        if pts:
            panels.append(line_plot({key: pts}, key))
    if not panels:
        return None
    sheet = Image.new("RGB", (panels[0].width, sum(p.height for p in panels)), "white")
    for i, p in enumerate(panels):
        sheet.paste(p, (0, i * p.height))
    sheet.save(out_png)
    return out_png


def bar_plot(bars: dict[str, tuple[float, float, float]], title: str, size=(640, 360)) -> Image.Image:
    """Horizontal bars in [0, 1], one per name: (value, ci_low, ci_high), the interval drawn as a whisker."""
    w, h = size
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    left, top, right = 170, 30, w - 60
    draw.text((10, 8), title, fill=(0, 0, 0))
    step = (h - top - 20) / max(1, len(bars))
    x = lambda v: left + max(0.0, min(1.0, v)) * (right - left)  # noqa: E731
    for i, (name, (value, lo, hi)) in enumerate(bars.items()):
        y0 = top + i * step + 4
        y1 = y0 + step - 8
        draw.text((10, (y0 + y1) / 2 - 6), name, fill=(0, 0, 0))
        draw.rectangle((left, y0, x(value), y1), fill=COLORS[i % len(COLORS)])
        if not (np.isnan(lo) or np.isnan(hi)):
            mid = (y0 + y1) / 2
            draw.line((x(lo), mid, x(hi), mid), fill=(0, 0, 0), width=2)
            draw.line((x(lo), y0 + 3, x(lo), y1 - 3), fill=(0, 0, 0), width=2)
            draw.line((x(hi), y0 + 3, x(hi), y1 - 3), fill=(0, 0, 0), width=2)
        draw.text((x(max(value, hi if not np.isnan(hi) else value)) + 6, (y0 + y1) / 2 - 6), f"{value:.2f}",
                  fill=(0, 0, 0))
    draw.line((left, top, left, h - 20), fill=(0, 0, 0))
    return img
