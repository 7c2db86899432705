"""How each view is taken: the protocol's words, an outline for the viewfinder, tips."""

from __future__ import annotations

import re

from anagen.photos import guides
from anagen.protocol.definition import PhotoView, default_protocol

PATH = re.compile(r"^[MmLlCcAaZz0-9 .\-]+$")


def _nose_x(path: str) -> float:
    """The x of the profile's nose tip (the point of the L25/L275 spike)."""
    return float(re.search(r"L(\d+) 215", path).group(1))


def test_every_protocol_view_has_its_words_an_outline_and_tips():
    protocol = default_protocol()
    made = guides.guides(protocol)
    assert [g.key for g in made] == [v.key for v in protocol.views]
    for guide, view in zip(made, protocol.views, strict=True):
        assert (guide.label, guide.guidance) == (view.label, view.guidance)
        assert (
            guide.outline == view.key
            and PATH.match(guide.outline_path)
            and guide.outline_path.startswith("M")
        )
        assert guide.tips


def test_the_temples_face_the_way_the_camera_sees_them():
    # Turned to their right, the patient's face points to the left of the (unmirrored) frame.
    assert _nose_x(guides.OUTLINES["left_temple"]) < 150 < _nose_x(guides.OUTLINES["right_temple"])


def test_a_view_a_clinic_adds_gets_the_default_outline():
    extra = guides.guide(PhotoView("beard_line", "Beard line", "Face the camera."))
    assert extra.outline == guides.DEFAULT_OUTLINE and extra.outline_path == guides.OUTLINES["crown"]
    assert extra.tips == ()
