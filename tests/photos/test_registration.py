"""Registration of a follow-up photo onto the baseline (photos/registration.py), on generated
scalp-like images: a moved and re-lit copy comes back to within a pixel or two, a photo with
nothing to match is reported as not confident, and the clinician's two-landmark solver is exact."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from support import scalp

from anagen.photos import registration

WIDTH, HEIGHT = 1280, 960


@pytest.fixture(scope="module")
def baseline() -> np.ndarray:
    return scalp.scalp_image(WIDTH, HEIGHT, seed=7)


@pytest.mark.parametrize(
    "moved",
    [
        # Shifted, turned 8 degrees, 8 % closer, brighter with less contrast and a darker gamma.
        dict(dx=37, dy=-22, degrees=8, scale=1.08, brightness=18, contrast=0.8, gamma=1.3),
        # The other way: turned back 10 degrees, further away, darker and harder.
        dict(dx=-50, dy=30, degrees=-10, scale=0.92, brightness=-20, contrast=1.2, gamma=0.7),
        # A flat, washed-out exposure, turned 5 degrees.
        dict(dx=12, dy=40, degrees=5, scale=1.0, brightness=60, contrast=0.45, gamma=1.6),
    ],
)
def test_a_moved_and_relit_copy_registers_back_within_two_pixels(baseline, moved):
    follow_up, truth = scalp.resample(baseline, **moved)

    result = registration.register(follow_up, baseline)

    assert result.confident, result.reason
    assert result.inlier_ratio >= registration.MIN_INLIER_RATIO
    assert result.inliers >= registration.MIN_INLIERS
    # Every point of a grid over the photo lands within 2 px of where the true transform puts it.
    assert scalp.grid_error(np.array(result.matrix), truth, WIDTH, HEIGHT) < 2.0
    assert result.scale == pytest.approx(1 / moved["scale"], rel=0.01)


@pytest.mark.parametrize(
    "change",
    ["grown", "blurred", "noisy"],
)
def test_registration_survives_what_weeks_and_a_phone_change(baseline, change):
    """40 % more hairs (the course working), a slightly soft focus, or a grainy low-light photo:
    still registered within two pixels."""
    follow_up, truth = scalp.resample(
        scalp.grown(baseline, 1000) if change == "grown" else baseline, degrees=6, scale=1.05, gamma=1.2
    )
    if change == "blurred":
        follow_up = cv2.GaussianBlur(follow_up, (0, 0), 1.5)
    elif change == "noisy":
        grain = np.random.default_rng(2).normal(0, 12, follow_up.shape)
        follow_up = np.clip(follow_up + grain, 0, 255).astype(np.uint8)

    result = registration.register(follow_up, baseline)

    assert result.confident, result.reason
    assert scalp.grid_error(np.array(result.matrix), truth, WIDTH, HEIGHT) < 2.0


def test_a_tilted_camera_is_registered_with_a_homography(baseline):
    """A phone held at a slight angle: the scale changes across the photo, which a similarity
    cannot follow; the homography explains more matches, stays plausible, and is used."""
    tilt = np.eye(3)
    tilt[2, :2] = (1e-4, -5e-5)
    forward = tilt @ scalp.similarity(20, -10, 6, 1.03, (WIDTH / 2, HEIGHT / 2))  # baseline -> follow-up
    follow_up = scalp.relight(cv2.warpPerspective(baseline, forward, (WIDTH, HEIGHT)), 10, 0.9, 1.2)

    result = registration.register(follow_up, baseline)

    assert result.confident, result.reason
    assert result.model == "homography"
    assert scalp.grid_error(np.array(result.matrix), np.linalg.inv(forward), WIDTH, HEIGHT) < 2.0


def test_the_aligned_image_shows_the_baseline_where_the_baseline_is(baseline):
    follow_up, _ = scalp.resample(baseline, degrees=-7, scale=1.05, dx=25, dy=15, brightness=10)
    result = registration.register(follow_up, baseline)

    aligned = registration.warp(follow_up, result.matrix, (WIDTH, HEIGHT))

    assert aligned.shape == baseline.shape
    centre = (slice(HEIGHT // 4, 3 * HEIGHT // 4), slice(WIDTH // 4, 3 * WIDTH // 4))

    def grey(image):
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)[centre].astype(np.float32).ravel()

    # The hair strokes coincide: strongly correlated once aligned, hardly at all before.
    assert np.corrcoef(grey(aligned), grey(baseline))[0, 1] > 0.8
    assert np.corrcoef(grey(follow_up), grey(baseline))[0, 1] < 0.3


def test_a_featureless_photo_is_not_confident(baseline):
    rng = np.random.default_rng(3)
    skin = np.full((HEIGHT, WIDTH, 3), (150, 170, 212), np.float32)
    flat = np.clip(skin + rng.normal(0, 3, skin.shape), 0, 255).astype(np.uint8)

    for moving, reference in ((flat, baseline), (baseline, flat), (flat, flat[::-1].copy())):
        result = registration.register(moving, reference)
        assert not result.confident
        assert result.reason


def test_a_blurred_photo_is_not_confident(baseline):
    result = registration.register(cv2.GaussianBlur(baseline, (0, 0), 25), baseline)

    assert not result.confident


def test_another_scalp_is_not_a_confident_match(baseline):
    """Hair is a repetitive texture: a photo of somewhere else has matches that agree by chance,
    never enough to be mistaken for a registration."""
    other = scalp.scalp_image(WIDTH, HEIGHT, seed=99)

    result = registration.register(other, baseline)

    assert not result.confident
    assert result.inlier_ratio < registration.MIN_INLIER_RATIO


def test_two_landmarks_give_the_exact_similarity():
    truth = scalp.similarity(dx=31, dy=-17, degrees=23, scale=1.12, centre=(400, 300))
    photo_points = np.array([[120.0, 80.0], [700.0, 520.0]])
    reference_points = registration.transform_points(truth.tolist(), photo_points)

    matrix = registration.similarity_from_landmarks(photo_points, reference_points)

    np.testing.assert_allclose(matrix, truth, atol=1e-9)
    assert registration.similarity_scale(matrix) == pytest.approx(1.12)


@pytest.mark.parametrize(
    ("photo_points", "reference_points"),
    [
        ([[100, 100], [105, 103]], [[100, 100], [300, 300]]),  # too close in the photo
        ([[100, 100], [300, 300]], [[100, 100], [100, 110]]),  # too close in the reference
        ([[100, 100], [130, 100]], [[0, 0], [600, 0]]),  # a 20x zoom: the wrong points
        ([[100, 100]], [[100, 100]]),  # one landmark
        ([[100, math.nan], [300, 300]], [[100, 100], [300, 300]]),
    ],
)
def test_landmarks_that_do_not_determine_an_alignment_are_refused(photo_points, reference_points):
    with pytest.raises(registration.LandmarkError):
        registration.similarity_from_landmarks(photo_points, reference_points)


coordinate = st.floats(min_value=0, max_value=2000, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(
    p1=st.tuples(coordinate, coordinate),
    p2=st.tuples(coordinate, coordinate),
    degrees=st.floats(min_value=-180, max_value=180),
    scale=st.floats(min_value=0.5, max_value=2.0),
    dx=st.floats(min_value=-500, max_value=500),
    dy=st.floats(min_value=-500, max_value=500),
)
def test_two_landmark_solver_round_trip(p1, p2, degrees, scale, dx, dy):
    """For any similarity and any two distinct points, solving from the points and their images
    gives back a transform that maps both points, and any other point, where the similarity does."""
    # Far enough apart in both photos to be landmarks (closer ones are refused, as tested above).
    assume(math.dist(p1, p2) > registration.MIN_LANDMARK_SEPARATION_PX * max(1.0, 1.0 / scale) + 1)
    truth = scalp.similarity(dx, dy, degrees, scale, centre=(0.0, 0.0)).tolist()
    photo_points = np.array([p1, p2])
    reference_points = registration.transform_points(truth, photo_points)

    matrix = registration.similarity_from_landmarks(photo_points, reference_points)

    probe = np.array([p1, p2, (0.0, 0.0), (1000.0, 750.0)])
    np.testing.assert_allclose(
        registration.transform_points(matrix, probe), registration.transform_points(truth, probe), atol=1e-6
    )
    back = registration.transform_points(np.linalg.inv(matrix).tolist(), reference_points)
    np.testing.assert_allclose(back, photo_points, atol=1e-6)


def test_css_matrix3d_moves_points_as_the_matrix_does():
    """The browser's matrix3d (column-major 4x4) applied to a point gives the matrix's image of it,
    also when both photos are drawn at another scale."""
    matrix = [[0.98, -0.17, 40.0], [0.17, 0.98, -12.0], [1e-5, -2e-5, 1.0]]
    for scale in (1.0, 0.5):
        text = registration.css_matrix3d(matrix, scale)
        values = [float(v) for v in text.removeprefix("matrix3d(").removesuffix(")").split(",")]
        css = np.array(values).reshape(4, 4).T  # column-major
        point = np.array([300.0, 200.0])
        x, y, _, w = css @ np.array([point[0] * scale, point[1] * scale, 0.0, 1.0])
        expected = registration.transform_points(matrix, [point])[0] * scale
        np.testing.assert_allclose([x / w, y / w], expected, atol=1e-6)


def test_jpeg_round_trip_carries_no_metadata(baseline):
    data = registration.encode_jpeg(baseline)

    assert data[:2] == b"\xff\xd8"
    assert b"Exif" not in data[:4096]
    assert registration.decode(data).shape == baseline.shape
    with pytest.raises(ValueError):
        registration.decode(b"not an image")
