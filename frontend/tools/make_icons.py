"""Draws the patient app's icons (run again after changing the design):

    .venv/bin/python frontend/tools/make_icons.py

A calm teal square with a white sprout (anagen is the growth phase of the hair cycle).
The maskable icon keeps the sprout inside the central 60 % safe zone."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parents[1] / "patient" / "icons"
TEAL = (29, 94, 94)
WHITE = (255, 255, 255)
SCALE = 4  # draw large, then downsample for smooth edges


def sprout(size: int, *, content: float, rounded: bool) -> Image.Image:
    big = size * SCALE
    im = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    if rounded:
        d.rounded_rectangle([0, 0, big - 1, big - 1], radius=big // 5, fill=TEAL)
    else:
        d.rectangle([0, 0, big, big], fill=TEAL)
    c = big / 2
    s = big * content  # side of the box the drawing fits in
    w = max(1, int(s * 0.07))
    # stem
    d.line([(c, c + s * 0.45), (c, c - s * 0.05)], fill=WHITE, width=w)
    # two leaves
    d.ellipse([c - s * 0.42, c - s * 0.22, c - s * 0.02, c + s * 0.02], fill=WHITE)
    d.ellipse([c + s * 0.02, c - s * 0.42, c + s * 0.42, c - s * 0.18], fill=WHITE)
    # soil line
    d.line([(c - s * 0.35, c + s * 0.45), (c + s * 0.35, c + s * 0.45)], fill=WHITE, width=w)
    return im.resize((size, size), Image.LANCZOS)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    sprout(192, content=0.7, rounded=True).save(OUT / "icon-192.png", optimize=True)
    sprout(512, content=0.7, rounded=True).save(OUT / "icon-512.png", optimize=True)
    sprout(512, content=0.55, rounded=False).save(OUT / "icon-maskable-512.png", optimize=True)
    # iOS draws its own rounded corners and shows transparency as black: full square, no alpha.
    sprout(180, content=0.6, rounded=False).convert("RGB").save(OUT / "apple-touch-icon.png", optimize=True)


if __name__ == "__main__":
    main()
