"""Knee / elbow of a curve: the point farthest from the chord joining its end points.

This is the geometric core of Kneedle (Satopaa et al., 2011): normalise both axes to [0, 1]
and take the point with the largest perpendicular distance to the straight line between the
first and the last point.  It works for decreasing curves (inertia against k) and increasing
ones (sorted k-distances for DBSCAN).
"""

from __future__ import annotations

import numpy as np


def knee_index(y: np.ndarray, x: np.ndarray | None = None) -> int:
    """Index of the knee of ``y`` (against ``x``, default 0..n-1).  0 for < 3 points or a
    straight line."""
    y = np.asarray(y, dtype=np.float64)
    n = len(y)
    if n < 3:
        return 0
    x = np.arange(n, dtype=np.float64) if x is None else np.asarray(x, dtype=np.float64)
    xs = (x - x.min()) / max(x.max() - x.min(), 1e-300)
    yr = y.max() - y.min()
    if yr <= 1e-300:
        return 0
    ys = (y - y.min()) / yr
    # distance of (xs, ys) from the line through the first and last points
    dx, dy = xs[-1] - xs[0], ys[-1] - ys[0]
    dist = np.abs(dy * (xs - xs[0]) - dx * (ys - ys[0])) / np.hypot(dx, dy)
    if dist.max() <= 1e-9:
        return 0
    return int(np.argmax(dist))


def knee_value(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.asarray(x)[knee_index(y, x)])
