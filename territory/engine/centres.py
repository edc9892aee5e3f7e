"""Territory centres on the sphere: weighted spherical centroids and medians (least travel)."""

from __future__ import annotations

import numpy as np


def normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


def centroids(xyz: np.ndarray, weight: np.ndarray, labels: np.ndarray, k: int,
              previous: np.ndarray) -> np.ndarray:
    """Weighted spherical centroid per territory; a territory without accounts keeps ``previous``."""
    w = weight + 1e-9  # zero-weight territories still get a centre
    sums = np.column_stack([np.bincount(labels, weights=w * xyz[:, d], minlength=k) for d in range(3)])
    norms = np.linalg.norm(sums, axis=1)
    out = previous.copy()
    ok = norms > 1e-12
    out[ok] = sums[ok] / norms[ok, None]
    return out


def medians(xyz: np.ndarray, weight: np.ndarray, labels: np.ndarray, k: int, previous: np.ndarray,
            steps: int = 8) -> np.ndarray:
    """Weighted spherical median per territory (the point of least weighted travel), by a few
    Weiszfeld steps from the centroid; a territory without accounts keeps ``previous``."""
    centres = centroids(xyz, weight, labels, k, previous)
    w = weight + 1e-9
    for _ in range(steps):
        inverse = w / (np.sqrt(((xyz - centres[labels]) ** 2).sum(axis=1)) + 1e-7)
        sums = np.column_stack([np.bincount(labels, weights=inverse * xyz[:, d], minlength=k) for d in range(3)])
        norms = np.linalg.norm(sums, axis=1)
        ok = norms > 1e-12
        centres[ok] = sums[ok] / norms[ok, None]
    return centres


def travel(xyz: np.ndarray, weight: np.ndarray, labels: np.ndarray, centres: np.ndarray) -> float:
    """Weighted mean chordal distance from each account to its territory's centre."""
    chord = np.sqrt(((xyz - centres[labels]) ** 2).sum(axis=1))
    return float(np.average(chord, weights=weight + 1e-12)) if labels.size else 0.0
