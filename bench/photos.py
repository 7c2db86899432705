"""The upload pipeline on a 12-megapixel phone photo, against Pillow only decoding it. Prints ONE
JSON line: {"pipeline_ms", "decode_only_ms", "ratio"}.

    .venv/bin/python bench/photos.py            # 9 rounds
    .venv/bin/python bench/photos.py --runs 21

The photo is generated (nothing downloaded): a 4032 x 3024 scalp-like image (tests/support/scalp.py:
skin, pores, hair strokes, sensor noise), saved as a JPEG at quality 90 with 4:2:0 chroma, as phone
cameras write it, carrying EXIF orientation 6 (held upright), GPS, make, model and date.

`pipeline_ms`: the median wall time of `photos.pipeline.process` end to end: type by magic bytes,
size and pixel limits, the metadata segments dropped and the master rebuilt from the camera's
compressed data, decoding at the DCT scale of the display size, turning it upright, encoding the
display image and the thumbnail, and the SHA-256 of the upload. `decode_only_ms`: the median of
`Image.open(...).load()` of the same bytes at full resolution. The two alternate within each round,
in one process, so both see the same machine state; `ratio` = pipeline_ms / decode_only_ms.
No database, no storage: what is measured is CPU work on bytes already in memory.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "backend"), str(ROOT / "tests")]

from PIL import Image  # noqa: E402
from support import photofiles, scalp  # noqa: E402

from anagen.photos import pipeline  # noqa: E402

WIDTH, HEIGHT = 4032, 3024


def phone_photo() -> bytes:
    bgr = scalp.scalp_image(WIDTH, HEIGHT, seed=12, hairs=20_000)
    image = Image.fromarray(bgr[:, :, ::-1].copy(), "RGB")
    buffer = io.BytesIO()
    image.save(
        buffer, "JPEG", quality=90, subsampling="4:2:0", exif=photofiles.exif_with(orientation=6, gps=True)
    )
    return buffer.getvalue()


def decode_only(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as image:
        image.load()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()

    data = phone_photo()
    result = pipeline.process(data, "image/jpeg")  # warm-up, and a check of what is measured
    assert (result.master.width, result.master.height) == (HEIGHT, WIDTH)
    assert b"GPS" not in result.display.data and result.thumb.media_type == "image/jpeg"
    decode_only(data)

    pipeline_s, decode_s = [], []
    for _ in range(args.runs):
        start = time.perf_counter()
        pipeline.process(data, "image/jpeg")
        pipeline_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        decode_only(data)
        decode_s.append(time.perf_counter() - start)

    pipeline_ms = statistics.median(pipeline_s) * 1000
    decode_ms = statistics.median(decode_s) * 1000
    print(
        json.dumps(
            {
                "pipeline_ms": round(pipeline_ms, 1),
                "decode_only_ms": round(decode_ms, 1),
                "ratio": round(pipeline_ms / decode_ms, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
