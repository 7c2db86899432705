"""Registering one follow-up photo onto its baseline, at display size (the background job's work
per photo, photos/alignment.py), on a generated scalp-like image and a shifted, rotated, zoomed
and re-lit copy of it (tests/support/scalp.py). Prints ONE JSON line.

    .venv/bin/python bench/photo_registration.py              # 1600 x 1200, 7 runs
    .venv/bin/python bench/photo_registration.py --runs 15 --width 1200 --height 1600

`register_ms`: median wall time of `registration.register` (features, matching, RANSAC) on the
two decoded display images; `warp_encode_ms`: median of warping the follow-up into the
baseline's frame and encoding the aligned JPEG; `decode_ms`: median of decoding both display
JPEGs; `per_photo_ms` is their sum (storage reads and the database writes aside). `error_px`: the
largest distance, over a grid on the photo, between the found and the true transform. One process,
one thread from Python's side (OpenCV may use its own threads); no database.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "backend"), str(ROOT / "tests")]

from support import scalp  # noqa: E402

from anagen.photos import registration  # noqa: E402


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--width", type=int, default=1600)
    parser.add_argument("--height", type=int, default=1200)
    args = parser.parse_args()

    baseline = scalp.scalp_image(
        args.width, args.height, seed=7, hairs=int(2600 * args.width * args.height / 1228800)
    )
    follow_up, truth = scalp.resample(baseline, dx=45, dy=-30, degrees=8, scale=1.08, contrast=0.8, gamma=1.3)
    files = [registration.encode_jpeg(image) for image in (follow_up, baseline)]

    decode, register, warp = [], [], []
    result = None
    for _ in range(args.runs):
        started = time.perf_counter()
        moving, reference = (registration.decode(data) for data in files)
        decode.append(time.perf_counter() - started)

        started = time.perf_counter()
        result = registration.register(moving, reference)
        register.append(time.perf_counter() - started)

        started = time.perf_counter()
        registration.encode_jpeg(registration.warp(moving, result.matrix, (args.width, args.height)))
        warp.append(time.perf_counter() - started)

    line = {
        "display_size": f"{args.width}x{args.height}",
        "runs": args.runs,
        "decode_ms": _median_ms(decode),
        "register_ms": _median_ms(register),
        "warp_encode_ms": _median_ms(warp),
        "per_photo_ms": round(_median_ms(decode) + _median_ms(register) + _median_ms(warp), 1),
        "inliers": result.inliers,
        "inlier_ratio": result.inlier_ratio,
        "confident": result.confident,
        "error_px": round(scalp.grid_error(np.array(result.matrix), truth, args.width, args.height), 3),
        "opencv": cv2.__version__,
        "opencv_threads": cv2.getNumThreads(),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
    }
    print(json.dumps(line))


if __name__ == "__main__":
    main()
