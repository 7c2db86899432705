"""How each photo view is taken: the protocol's label and instruction (protocol/definitions), plus
the outline the camera screen draws over the viewfinder and the tips that make photos comparable.

The outlines are SVG path data in a 300 x 400 (portrait) viewBox, stroked, not filled: a head seen
from above for the crown and the parting, from the front for the hairline, in profile for the
temples. They are a guide to framing (the same distance and angle each time), not a mask.
"""

from __future__ import annotations

from dataclasses import dataclass

from anagen.protocol.definition import PhotoView, Protocol

VIEWBOX = "0 0 300 400"

# A head seen from above: an egg shape, narrower at the forehead (top of the frame), with the ears.
_HEAD_FROM_ABOVE = (
    "M150 40 C205 40 250 95 255 170 C262 265 225 360 150 365 C75 360 38 265 45 170 C50 95 95 40 150 40 Z "
    "M45 190 C30 195 30 235 47 240 M255 190 C270 195 270 235 253 240"
)
OUTLINES: dict[str, str] = {
    # The crown's whorl sits in the middle of the frame.
    "crown": _HEAD_FROM_ABOVE + " M150 215 m-22 0 a22 22 0 1 0 44 0 a22 22 0 1 0 -44 0",
    # The parting runs from the forehead to the crown, down the middle of the frame.
    "parting": _HEAD_FROM_ABOVE + " M150 48 L150 300",
    # The face from the front, the hairline across the upper third.
    "frontal_hairline": (
        "M150 30 C220 30 255 90 255 170 C255 260 215 350 150 370 C85 350 45 260 45 170 C45 90 80 30 150 30 Z "
        "M62 150 C90 105 210 105 238 150 M45 185 C32 190 32 235 48 240 M255 185 C268 190 268 235 252 240"
    ),
    # The head in profile as the (rear) camera sees it: turned to the patient's right, the face
    # points to the left of the frame and the left temple is towards the camera.
    "left_temple": (
        "M160 40 C90 40 45 90 42 160 L25 215 L42 225 C38 270 50 300 75 310 L100 365 "
        "M160 40 C220 40 258 95 255 170 C252 250 220 310 170 340 M182 190 C200 195 200 240 180 245 "
        "M150 95 C115 110 95 140 90 175"
    ),
    # Mirrored: turned to the patient's left, the face points to the right of the frame.
    "right_temple": (
        "M140 40 C210 40 255 90 258 160 L275 215 L258 225 C262 270 250 300 225 310 L200 365 "
        "M140 40 C80 40 42 95 45 170 C48 250 80 310 130 340 M118 190 C100 195 100 240 120 245 "
        "M150 95 C185 110 205 140 210 175"
    ),
}
# A view a clinic's protocol adds without an outline of its own gets the head from above.
DEFAULT_OUTLINE = "crown"

VIEW_TIPS: dict[str, tuple[str, ...]] = {
    "crown": ("Hold the phone about 30 cm above your head.", "Keep your hair dry and unstyled."),
    "parting": ("Comb a straight parting first.", "Hold the phone about 30 cm away, straight above it."),
    "frontal_hairline": ("Push your hair back with a comb or a hair band.", "Look straight at the camera."),
    "left_temple": ("Push your hair back behind your ear.", "Keep the phone level with your temple."),
    "right_temple": ("Push your hair back behind your ear.", "Keep the phone level with your temple."),
}
LIGHTING = (
    "Use the same place and light every time: bright, even daylight or a ceiling light, facing the "
    "light, with no window behind you. Turn the flash off."
)
DISTANCE = (
    "Fill the outline with your head at the same distance each time, about 30 cm, and keep the "
    "phone steady. The faint earlier photo shows where to line up."
)


@dataclass(frozen=True, slots=True)
class Guide:
    key: str
    label: str
    guidance: str
    outline: str
    outline_path: str
    tips: tuple[str, ...]


def guide(view: PhotoView) -> Guide:
    outline = view.key if view.key in OUTLINES else DEFAULT_OUTLINE
    return Guide(
        key=view.key,
        label=view.label,
        guidance=view.guidance,
        outline=outline,
        outline_path=OUTLINES[outline],
        tips=VIEW_TIPS.get(view.key, ()),
    )


def guides(protocol: Protocol) -> list[Guide]:
    """Every view of the protocol, in its order, with its outline and tips."""
    return [guide(view) for view in protocol.views]
