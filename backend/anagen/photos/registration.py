"""Registering a follow-up photo onto the baseline photo of the same view (pure: numpy and OpenCV).

The clinic's slider compares two photos of one view; hand-held photos taken weeks apart never
frame the scalp the same way, so the follow-up is registered onto the baseline: features are
detected in both (AKAZE: binary descriptors, invariant to rotation and scale, and computed in a
nonlinear scale space that keeps thin hair edges rather than blurring them away), matched with
Lowe's ratio test, and a transform is fitted robustly (RANSAC) to the matches.

The model: a similarity first, a homography only when it earns it. A scalp is not a plane, and
hair is a repetitive texture where a few wrong matches can line up by chance: a free 8-degree-of-
freedom homography fitted to that overfits, skews and folds the image while still reporting
inliers. Phone photos of one view at a guided distance differ mostly by shift, in-plane rotation
and zoom, which a 4-degree-of-freedom similarity captures and cannot distort (it is also exactly
what the clinician's two-landmark alignment produces, so both paths give the same kind of
transform). The homography is kept when the camera was visibly tilted: when it explains clearly
more matches than the similarity (`HOMOGRAPHY_GAIN`) and stays plausible (`_plausible`).

Quality: the inlier ratio (inliers / ratio-test matches) and the inlier count; the result is
confident only when both are high, the inliers spread over the photo (not one corner) and the
zoom is plausible. A photo without texture (blurred, over-exposed, the wrong view) has few
matches that agree by chance: it comes out not confident, never as a confident wrong answer,
and the clinician aligns it by two landmarks (`similarity_from_landmarks`).

Every transform is a 3x3 matrix (row-major nested lists) mapping pixel coordinates of the
follow-up's display image onto pixel coordinates of the baseline's display image: `warp` applies
it server-side (the aligned image, in the baseline's frame), `css_matrix3d` gives the same
transform for the browser.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

# Features are found on images scaled down to this longer side (display images are larger):
# hair strokes are still several pixels long, and detection costs a fraction of full size.
WORK_MAX_SIDE = 800
# AKAZE's detector response threshold (OpenCV's default is 0.001) and the number of features kept.
DETECTOR_THRESHOLD = 0.0005
MAX_FEATURES = 3000
# Lowe's ratio test: a match is kept when its best descriptor distance is below this share of
# the second best (0.8 in Lowe's paper; stricter here because hair is self-similar).
RATIO = 0.75
# RANSAC: a match is an inlier when the transform puts it within this many working pixels.
RANSAC_THRESHOLD_PX = 3.0
RANSAC_ITERATIONS = 4000
# Confident only with at least this many inliers...
MIN_INLIERS = 25
# ...that are at least this share of the ratio-test matches (random matches fitted by RANSAC
# agree in a few per cent; a true registration of a re-taken photo keeps well over a third)...
MIN_INLIER_RATIO = 0.30
# ...spread over at least this share of the follow-up (the inliers' convex hull), so that one
# matching corner does not decide the whole photo...
MIN_COVERAGE = 0.10
# ...and a zoom between the two photos within these bounds (the guided distance is the same).
MIN_SCALE, MAX_SCALE = 0.5, 2.0
# A homography replaces the similarity only with this many times its inliers, and only while
# its perspective stays mild: the scale it implies across the image varies by less than this.
HOMOGRAPHY_GAIN = 1.15
MAX_PERSPECTIVE = 0.35
# Two landmarks closer than this (display pixels) give a rotation and zoom that a click's
# imprecision would swing wildly.
MIN_LANDMARK_SEPARATION_PX = 20.0

# What the aligned image shows where the follow-up does not cover the baseline's frame.
FILL_BGR = (48, 48, 48)

Matrix = list[list[float]]


class LandmarkError(ValueError):
    """Two landmarks that do not determine an alignment (too close together, or a zoom out of
    bounds)."""


@dataclass(frozen=True, slots=True)
class Registration:
    """The outcome of registering one photo onto its reference."""

    matrix: Matrix | None  # follow-up display px -> reference display px; None when nothing fitted
    model: str | None  # "similarity" or "homography"
    matches: int  # ratio-test matches
    inliers: int
    inlier_ratio: float
    coverage: float  # share of the follow-up spanned by the inliers
    confident: bool
    reason: str | None = None  # why it is not confident, for the log and the clinician

    @property
    def scale(self) -> float | None:
        return None if self.matrix is None else similarity_scale(self.matrix)


# -- images --------------------------------------------------------------------------------


def decode(data: bytes, *, grey: bool = False) -> np.ndarray:
    """A display image (bytes the pipeline wrote) as an array: BGR, or grey."""
    flags = cv2.IMREAD_GRAYSCALE if grey else cv2.IMREAD_COLOR
    image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if image is None:
        raise ValueError("not a decodable image")
    return image


def encode_jpeg(image: np.ndarray, quality: int = 88) -> bytes:
    """JPEG bytes (JFIF only: no metadata)."""
    params = [cv2.IMWRITE_JPEG_QUALITY, quality, cv2.IMWRITE_JPEG_OPTIMIZE, 1]
    ok, buffer = cv2.imencode(".jpg", image, params)
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buffer.tobytes()


def _working(image: np.ndarray) -> tuple[np.ndarray, float]:
    """Grey, scaled to WORK_MAX_SIDE, contrast-equalised (CLAHE: a darker or flatter exposure
    of the same scalp gives the detector the same local structure); and the scale used."""
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    height, width = grey.shape
    scale = min(1.0, WORK_MAX_SIDE / max(height, width))
    if scale < 1.0:
        grey = cv2.resize(grey, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
    clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
    return clahe.apply(grey), scale


# -- automatic registration ----------------------------------------------------------------


def make_detector():
    """AKAZE with a low response threshold (a dim, flat exposure still yields features), keeping
    the strongest MAX_FEATURES (brute-force matching grows with the square of their number)."""
    return cv2.AKAZE_create(threshold=DETECTOR_THRESHOLD, max_points=MAX_FEATURES)


def register(moving: np.ndarray, reference: np.ndarray) -> Registration:
    """Register `moving` (the follow-up, BGR or grey) onto `reference` (the baseline)."""
    moving_work, moving_scale = _working(moving)
    reference_work, reference_scale = _working(reference)
    detector = make_detector()
    moving_points, moving_descriptors = detector.detectAndCompute(moving_work, None)
    reference_points, reference_descriptors = detector.detectAndCompute(reference_work, None)
    if (
        moving_descriptors is None
        or reference_descriptors is None
        or len(moving_points) < 2
        or len(reference_points) < 2
    ):
        return _unfitted(0, "no features (a blurred or featureless photo)")

    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    pairs = matcher.knnMatch(moving_descriptors, reference_descriptors, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < RATIO * p[1].distance]
    if len(good) < 4:
        return _unfitted(len(good), "too few matching features")
    source = np.float32([moving_points[m.queryIdx].pt for m in good])
    target = np.float32([reference_points[m.trainIdx].pt for m in good])

    fitted = _fit(source, target, moving_work.shape)
    if fitted is None:
        return _unfitted(len(good), "no consistent transform")
    work_matrix, model, mask = fitted
    inliers = int(mask.sum())
    ratio = inliers / len(good)
    coverage = _coverage(source[mask], moving_work.shape)
    # Back to display pixels: scale down the follow-up, apply, scale up into the reference.
    matrix = np.diag([1 / reference_scale, 1 / reference_scale, 1.0]) @ work_matrix
    matrix = matrix @ np.diag([moving_scale, moving_scale, 1.0])
    matrix /= matrix[2, 2]
    scale = similarity_scale(matrix)
    reason = None
    if inliers < MIN_INLIERS:
        reason = f"only {inliers} matching features agree"
    elif ratio < MIN_INLIER_RATIO:
        reason = f"only {ratio:.0%} of the matching features agree"
    elif coverage < MIN_COVERAGE:
        reason = "the agreeing features cover too little of the photo"
    elif not MIN_SCALE <= scale <= MAX_SCALE:
        reason = "the photos differ too much in zoom"
    return Registration(
        matrix=_as_list(matrix),
        model=model,
        matches=len(good),
        inliers=inliers,
        inlier_ratio=round(ratio, 4),
        coverage=round(coverage, 4),
        confident=reason is None,
        reason=reason,
    )


def _unfitted(matches: int, reason: str) -> Registration:
    return Registration(None, None, matches, 0, 0.0, 0.0, confident=False, reason=reason)


def _fit(source: np.ndarray, target: np.ndarray, shape: tuple[int, ...]):
    """(matrix, model, inlier mask) in working pixels, or None."""
    affine, affine_mask = cv2.estimateAffinePartial2D(
        source,
        target,
        method=cv2.RANSAC,
        ransacReprojThreshold=RANSAC_THRESHOLD_PX,
        maxIters=RANSAC_ITERATIONS,
        confidence=0.999,
        refineIters=10,
    )
    best = None
    if affine is not None:
        best = (np.vstack([affine, [0.0, 0.0, 1.0]]), "similarity", affine_mask.ravel().astype(bool))
    if len(source) >= 8:
        homography, homography_mask = cv2.findHomography(
            source, target, cv2.USAC_MAGSAC, RANSAC_THRESHOLD_PX, maxIters=RANSAC_ITERATIONS, confidence=0.999
        )
        if homography is not None and _plausible(homography, shape):
            mask = homography_mask.ravel().astype(bool)
            if best is None or mask.sum() >= HOMOGRAPHY_GAIN * best[2].sum():
                best = (homography / homography[2, 2], "homography", mask)
    return best


def _plausible(homography: np.ndarray, shape: tuple[int, ...]) -> bool:
    """A homography a hand-held re-take can produce: the image's corners stay a convex
    quadrilateral in the same orientation, and the perspective divisor (the local zoom) varies
    across the image by less than MAX_PERSPECTIVE."""
    height, width = shape[:2]
    corners = np.float64([[0, 0], [width, 0], [width, height], [0, height]])
    w = homography[2, 0] * corners[:, 0] + homography[2, 1] * corners[:, 1] + homography[2, 2]
    if np.any(w <= 0) or (w.max() / w.min()) > 1 + MAX_PERSPECTIVE:
        return False
    quad = cv2.perspectiveTransform(corners.reshape(-1, 1, 2), homography).reshape(-1, 2)
    edges = np.roll(quad, -1, axis=0) - quad
    turns = edges[:, 0] * np.roll(edges, -1, axis=0)[:, 1] - edges[:, 1] * np.roll(edges, -1, axis=0)[:, 0]
    return bool(np.all(turns > 0))


def _coverage(points: np.ndarray, shape: tuple[int, ...]) -> float:
    if len(points) < 3:
        return 0.0
    hull = cv2.convexHull(points.reshape(-1, 1, 2).astype(np.float32))
    return float(cv2.contourArea(hull)) / float(shape[0] * shape[1])


# -- the clinician's two landmarks ---------------------------------------------------------


def similarity_from_landmarks(
    photo_points: list[tuple[float, float]] | np.ndarray,
    reference_points: list[tuple[float, float]] | np.ndarray,
) -> Matrix:
    """The similarity (shift, rotation, uniform zoom) taking two points of the photo exactly
    onto two points of the reference.

    Hand-written because it is closed-form: with points as complex numbers a similarity is
    z -> a z + b, and two pairs give a = (r1 - r2) / (p1 - p2), b = r1 - a p1 (no least squares,
    no RANSAC: OpenCV's estimators would need more points or fit approximately)."""
    (p1, p2), (r1, r2) = (_complex_pair(photo_points), _complex_pair(reference_points))
    if abs(p1 - p2) < MIN_LANDMARK_SEPARATION_PX or abs(r1 - r2) < MIN_LANDMARK_SEPARATION_PX:
        raise LandmarkError(
            f"the two landmarks must be at least {MIN_LANDMARK_SEPARATION_PX:g} pixels apart in both photos"
        )
    a = (r1 - r2) / (p1 - p2)
    b = r1 - a * p1
    if not MIN_SCALE / 2 <= abs(a) <= MAX_SCALE * 2:
        raise LandmarkError("these landmarks would zoom one photo implausibly far: check they match")
    return [[a.real, -a.imag, b.real], [a.imag, a.real, b.imag], [0.0, 0.0, 1.0]]


def _complex_pair(points) -> tuple[complex, complex]:
    array = np.asarray(points, dtype=np.float64)
    if array.shape != (2, 2) or not np.all(np.isfinite(array)):
        raise LandmarkError("give exactly two landmarks, each as [x, y]")
    return complex(array[0, 0], array[0, 1]), complex(array[1, 0], array[1, 1])


# -- applying a transform ------------------------------------------------------------------


def warp(moving: np.ndarray, matrix: Matrix, size: tuple[int, int]) -> np.ndarray:
    """The follow-up resampled into the reference's frame (`size` = its (width, height))."""
    return cv2.warpPerspective(
        moving,
        np.asarray(matrix, np.float64),
        size,
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=FILL_BGR,
    )


def transform_points(matrix: Matrix, points) -> np.ndarray:
    """Where `matrix` sends (x, y) points; shape (n, 2)."""
    array = np.asarray(points, np.float64).reshape(-1, 1, 2)
    return cv2.perspectiveTransform(array, np.asarray(matrix, np.float64)).reshape(-1, 2)


def similarity_scale(matrix: Matrix) -> float:
    """The zoom of the transform at the origin (the square root of its linear part's determinant)."""
    m = np.asarray(matrix, np.float64)
    return math.sqrt(abs(np.linalg.det(m[:2, :2] / m[2, 2])))


def css_matrix3d(matrix: Matrix, scale: float = 1.0) -> str:
    """The transform as a CSS `matrix3d()` for the follow-up's <img> laid over the baseline's,
    both drawn at `scale` CSS pixels per display pixel, with `transform-origin: 0 0`.

    CSS lists a 4x4 matrix column by column; the 2D homography [[a b c][d e f][g h i]] is the
    4x4 [[a b 0 c][d e 0 f][0 0 1 0][g h 0 i]]."""
    m = np.asarray(matrix, np.float64)
    s = np.diag([scale, scale, 1.0])
    m = s @ m @ np.linalg.inv(s)
    m = m / m[2, 2]
    columns = [
        (m[0, 0], m[1, 0], 0, m[2, 0]),
        (m[0, 1], m[1, 1], 0, m[2, 1]),
        (0, 0, 1, 0),
        (m[0, 2], m[1, 2], 0, m[2, 2]),
    ]
    values = [v for column in columns for v in column]
    return "matrix3d(" + ", ".join(_css_number(v) for v in values) + ")"


def _css_number(value: float) -> str:
    text = f"{value:.9g}"
    return "0" if text == "-0" else text


def _as_list(matrix: np.ndarray) -> Matrix:
    return [[float(v) for v in row] for row in matrix]
