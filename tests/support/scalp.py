"""Procedural scalp-like photos for the registration tests and benchmark (nothing downloaded).

`scalp_image` paints a skin-toned background with slow shading, pores, many thin dark hair
strokes of random length, direction and curvature, and sensor noise, from a fixed seed.
`resample` makes the follow-up photo from it: the same scalp seen through a known similarity
(shift, rotation, scale), re-lit (brightness, contrast, gamma), with fresh noise; it returns the
image and the true transform (follow-up pixel -> original pixel), which registration must recover.
"""

from __future__ import annotations

import math

import cv2
import numpy as np


def scalp_image(width: int = 1280, height: int = 960, seed: int = 7, hairs: int = 2600) -> np.ndarray:
    """A BGR uint8 image of a scalp seen from above: skin, pores, hair strokes, noise."""
    rng = np.random.default_rng(seed)
    # Skin tone (BGR) with a broad illumination gradient and low-frequency blotches.
    skin = np.array([150, 170, 212], np.float32)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    shade = 0.85 + 0.15 * (xx / width) * (1 - 0.5 * yy / height)
    blotches = cv2.resize(rng.normal(0, 1, (12, 16)).astype(np.float32), (width, height))
    image = skin[None, None, :] * (shade + 0.04 * blotches)[..., None]
    canvas = np.clip(image, 0, 255).astype(np.uint8)
    # Pores: small slightly darker dots.
    for _ in range(hairs // 2):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        cv2.circle(canvas, (x, y), int(rng.integers(1, 3)), (120, 135, 175), -1, cv2.LINE_AA)
    _hairs(canvas, hairs, rng)
    noise = rng.normal(0, 4, canvas.shape)
    return np.clip(canvas.astype(np.float32) + noise, 0, 255).astype(np.uint8)


def _hairs(canvas: np.ndarray, count: int, rng: np.random.Generator) -> None:
    """Dark brown polylines, 1-2 px thick, bent along their length, drawn onto `canvas`."""
    height, width = canvas.shape[:2]
    for _ in range(count):
        x, y = float(rng.uniform(0, width)), float(rng.uniform(0, height))
        angle = float(rng.uniform(0, 2 * math.pi))
        bend = float(rng.normal(0, 0.04))
        length = float(rng.uniform(15, 90))
        tone = float(rng.uniform(20, 70))
        colour = (tone * 0.8, tone * 0.9, tone * 1.1)
        points = []
        for _ in range(max(2, int(length / 6))):
            points.append((x, y))
            x += 6 * math.cos(angle)
            y += 6 * math.sin(angle)
            angle += bend
        polyline = np.round(np.array(points) * 4).astype(np.int32)  # 2 fractional bits
        cv2.polylines(canvas, [polyline], False, colour, int(rng.integers(1, 3)), cv2.LINE_AA, shift=2)


def grown(image: np.ndarray, hairs: int, seed: int = 5) -> np.ndarray:
    """The same scalp weeks later: `hairs` new strokes among the old ones (what the course is for)."""
    canvas = image.copy()
    _hairs(canvas, hairs, np.random.default_rng(seed))
    return canvas


def similarity(dx: float, dy: float, degrees: float, scale: float, centre: tuple[float, float]) -> np.ndarray:
    """3x3 matrix: rotate by `degrees` and scale about `centre`, then shift by (dx, dy)."""
    matrix = np.eye(3)
    matrix[:2] = cv2.getRotationMatrix2D(centre, degrees, scale)
    matrix[0, 2] += dx
    matrix[1, 2] += dy
    return matrix


def relight(image: np.ndarray, brightness: float, contrast: float, gamma: float) -> np.ndarray:
    """Another exposure: out = 255 * ((contrast * v/255 + brightness/255) clipped) ** gamma."""
    v = image.astype(np.float32) / 255.0
    v = np.clip(contrast * v + brightness / 255.0, 0.0, 1.0) ** gamma
    return np.clip(v * 255.0 + 0.5, 0, 255).astype(np.uint8)


def resample(
    image: np.ndarray,
    *,
    dx: float = 37.0,
    dy: float = -22.0,
    degrees: float = 8.0,
    scale: float = 1.08,
    brightness: float = 18.0,
    contrast: float = 0.8,
    gamma: float = 1.3,
    seed: int = 11,
) -> tuple[np.ndarray, np.ndarray]:
    """The follow-up: `image` moved by a known similarity and re-lit, with its own noise.

    Returns (follow_up, truth) where `truth` maps follow-up pixel coordinates onto the
    original's, i.e. what registering the follow-up onto the original must find."""
    height, width = image.shape[:2]
    forward = similarity(dx, dy, degrees, scale, (width / 2, height / 2))  # original -> follow-up
    moved = cv2.warpPerspective(image, forward, (width, height), flags=cv2.INTER_LINEAR)
    lit = relight(moved, brightness, contrast, gamma)
    noise = np.random.default_rng(seed).normal(0, 3, lit.shape)
    follow_up = np.clip(lit.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    return follow_up, np.linalg.inv(forward)


def grid_error(found: np.ndarray, truth: np.ndarray, width: int, height: int, step: int = 40) -> float:
    """Largest distance (px) between where `found` and `truth` send a grid of points over the
    central part of the image (its outer 15 % cropped: what the follow-up actually shows)."""
    xs = np.arange(width * 0.15, width * 0.85, step)
    ys = np.arange(height * 0.15, height * 0.85, step)
    grid = np.array([(x, y) for y in ys for x in xs], np.float64).reshape(-1, 1, 2)
    a = cv2.perspectiveTransform(grid, np.asarray(found, np.float64))
    b = cv2.perspectiveTransform(grid, np.asarray(truth, np.float64))
    return float(np.max(np.linalg.norm(a - b, axis=2)))
