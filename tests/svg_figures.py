"""Read back what a rait figure (rait.plots, SVG) draws: the height of each bar in data units, from the bar's
and its axes' pixel geometry (their SVG ids name them: ``bar|...``, ``bin|...``, ``axes|name|low|high``)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

SVG = "{http://www.w3.org/2000/svg}"


def _box(group) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) of the first path in ``group``."""
    path = group.find(f"{SVG}path")
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", path.get("d"))]
    xs, ys = numbers[0::2], numbers[1::2]
    return min(xs), min(ys), max(xs), max(ys)


def bar_heights(path: str | Path) -> dict[str, float]:
    """{bar id: height in data units} for every bar of a single-axes figure."""
    root = ET.parse(path).getroot()
    groups = {g.get("id"): g for g in root.iter(f"{SVG}g") if g.get("id")}
    axes = [gid for gid in groups if gid.startswith("axes|")]
    assert len(axes) == 1, axes
    _, _, low, high = axes[0].split("|")
    _, top, _, bottom = _box(groups[axes[0]])
    per_pixel = (float(high) - float(low)) / (bottom - top)
    heights = {}
    for gid, group in groups.items():
        if gid.startswith(("bar|", "bin|")):
            _, y0, _, y1 = _box(group)
            heights[gid] = (y1 - y0) * per_pixel
    return heights


def ids(path: str | Path, prefix: str) -> list[str]:
    root = ET.parse(path).getroot()
    return [g.get("id") for g in root.iter(f"{SVG}g") if (g.get("id") or "").startswith(prefix)]


def texts(path: str | Path) -> str:
    """The SVG's text as matplotlib writes it (glyphs are paths; the words survive in comments)."""
    return Path(path).read_text()
