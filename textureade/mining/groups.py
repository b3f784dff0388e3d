"""Groups of segments at the working size: running appearance statistics, adjacency, merges, splits.

A ``Groups`` starts with one group per initial segment (its "pieces"). ``merge_pass`` joins the
closest candidate pair (smallest Fisher separability J, ``stats.separability``) while J is under the
threshold; ``split`` moves the pixels of an accepted split test (``split.try_split``) into a new
group. Everything here works on the working-size maps (long side ``work_max_side``); see
``textureade.mining.regions`` for the procedure.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from textureade.mining.segments import Segment
from textureade.mining.selection import boundary_pairs
from textureade.mining.stats import GroupStats, grouped_sums, separability_matrix

MIN_STAT_PIXELS = 8  # groups with fewer working pixels have unreliable statistics: never merged
SPLIT_MARGIN = 6  # working pixels of a segment's edge left out of its statistics


def interior_map(ids: np.ndarray, margin: int = SPLIT_MARGIN) -> np.ndarray:
    """Boolean map of the pixels whose L1 neighbourhood of radius ``margin`` holds a single id (the
    image border does not count as a neighbour): where the min and the max filter agree."""
    f = ids.astype(np.float32)  # exact for ids < 2^24
    cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    lo = cv2.erode(f, cross, iterations=margin, borderType=cv2.BORDER_REPLICATE)
    hi = cv2.dilate(f, cross, iterations=margin, borderType=cv2.BORDER_REPLICATE)
    return lo == hi


class Groups:
    """Union of pieces into groups with running appearance statistics and adjacency.

    piece_w: working-size map of piece ids (0 = none; changed in place by ``split``); z: (N, D)
    float32 standardised descriptors of its pixels (row-major); segments: the initial segments
    (piece ids 1..S). A group is named by the piece that founded it.
    owner: piece -> group; classes: group -> class ids; stats: group -> GroupStats (groups too small
    for statistics have none and never merge or split); adj: group -> touching groups.
    """

    def __init__(self, piece_w: np.ndarray, z: np.ndarray, segments: list[Segment]):
        self.z = z
        self.piece_w = piece_w
        self.owner = {s.id: s.id for s in segments}
        self.classes = {s.id: {s.class_id} for s in segments}
        self.piece_names = {s.id: s.name for s in segments}
        self.adj: dict[int, set[int]] = {}
        # statistics from each piece's interior (>= SPLIT_MARGIN working pixels from any other
        # piece: there the descriptors' windows see only the piece); all its pixels when the
        # interior is smaller than MIN_STAT_PIXELS. One grouped pass keyed by (piece, interior).
        m = max(max(self.owner, default=0), int(piece_w.max())) + 1
        key = piece_w.ravel().astype(np.int64) * 2 + interior_map(piece_w).ravel()
        n, s, ss = grouped_sums(key, z, 2 * m)
        self.stats: dict[int, GroupStats] = {}
        for p in range(1, m):
            inner, outer = 2 * p + 1, 2 * p
            if n[inner] >= MIN_STAT_PIXELS:
                self.stats[p] = GroupStats(n[inner], s[inner], ss[inner])
            elif n[inner] + n[outer] > 0:
                self.stats[p] = GroupStats(n[inner] + n[outer], s[inner] + s[outer], ss[inner] + ss[outer])

    def owner_lut(self) -> np.ndarray:
        """int32 array piece id -> group id (0 -> 0)."""
        lut = np.zeros(max(self.owner) + 1, dtype=np.int32)
        for p, o in self.owner.items():
            lut[p] = o
        return lut

    def group_w(self) -> np.ndarray:
        """The working-size map of group ids."""
        return self.owner_lut()[self.piece_w]

    def alive(self) -> list[int]:
        """Groups with statistics, in id order."""
        return sorted(g for g in self.classes if g in self.stats)

    def names(self, g: int) -> list[str]:
        """Sorted names of the pieces in group ``g``."""
        return sorted({self.piece_names[p] for p, o in self.owner.items() if o == g})

    def merge_pass(self, tau: float, log: list[dict[str, Any]], min_cross: float = 0.0) -> None:
        """Join the closest candidate pair while J < tau, appending one entry per merge to ``log``.
        Candidates touch (>= 2 shared boundary pixels) or share a class; groups of different classes
        must both hold >= ``min_cross`` working pixels (thin or tiny segments have descriptors
        blurred by their surroundings); same-class groups only need MIN_STAT_PIXELS."""
        self._refresh_adjacency()
        while True:
            live = [g for g in self.alive() if self.stats[g].n >= MIN_STAT_PIXELS]
            best = self._closest(live, min_cross)
            if best is None or not best[0] < tau:
                return
            j, a, b = best
            log.append(
                {
                    "keep": a,
                    "absorb": b,
                    "J": round(j, 4),
                    "why": self._why(a, b),
                    "names": [self.names(a), self.names(b)],
                }
            )
            self._merge(a, b)

    def split(self, g: int, half_w: np.ndarray, interior: np.ndarray) -> int:
        """Move the working-size pixels ``half_w`` of group ``g`` into a new group (same classes,
        named after g's first name); returns its id. Statistics of both from their ``interior``
        pixels (all their pixels when fewer than MIN_STAT_PIXELS are interior)."""
        new = max(self.owner) + 1
        rest_w = (self.group_w() == g) & ~half_w
        self.piece_names[new] = (self.names(g) or ["region"])[0]
        self.piece_w[half_w] = new
        self.owner[new] = new
        self.classes[new] = set(self.classes[g])
        for gid, part in ((new, half_w), (g, rest_w)):
            core = part & interior
            self.stats[gid] = GroupStats.of(self.z[(core if core.sum() >= MIN_STAT_PIXELS else part).ravel()])
        return new

    def _merge(self, a: int, b: int) -> None:
        """Group b joins group a."""
        self.stats[a] = self.stats[a] + self.stats.pop(b)
        self.classes[a] |= self.classes.pop(b)
        for p, g in self.owner.items():
            if g == b:
                self.owner[p] = a
        for x in self.adj.pop(b):
            self.adj[x].discard(b)
            if x != a:
                self.adj[x].add(a)
                self.adj[a].add(x)
        self.adj[a].discard(a)

    def _refresh_adjacency(self) -> None:
        self.adj = {g: set() for g in self.classes}
        for (a, b), c in boundary_pairs(self.group_w()).items():
            if a > 0 and c >= 2:
                self.adj[a].add(b)
                self.adj[b].add(a)

    def _why(self, a: int, b: int) -> str | None:
        touch = b in self.adj[a]
        same = bool(self.classes[a] & self.classes[b])
        if touch and same:
            return "adjacent, same class"
        return "adjacent" if touch else ("same class" if same else None)

    def _closest(self, live: list[int], min_cross: float) -> tuple[float, int, int] | None:
        """The candidate pair (J, a, b) with the smallest J (ties: the smallest ids), or None."""
        k = len(live)
        if k < 2:
            return None
        n = np.array([self.stats[g].n for g in live])
        means = np.array([self.stats[g].mean for g in live])
        var = np.array([self.stats[g].var for g in live])
        j = separability_matrix(means, var)
        touch = np.array([[b in self.adj[a] for b in live] for a in live], dtype=bool).reshape(k, k)
        same = np.array([[bool(self.classes[a] & self.classes[b]) for b in live] for a in live]).reshape(k, k)
        big = np.minimum.outer(n, n) >= min_cross
        ok = (touch | same) & (same | big) & ~np.tri(k, k, 0, dtype=bool)
        if not ok.any():
            return None
        j = np.where(ok, j, np.inf)
        flat = int(np.argmin(j))
        return float(j.flat[flat]), live[flat // k], live[flat % k]
