"""For every input, the pipeline either makes metadata-free renditions or refuses with a 4xx
(`PhotoRefused`): never another exception (a 500), whatever bytes an upload carries."""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from support import photofiles

from anagen.photos import pipeline

SMALL = {
    "jpeg": photofiles.phone_jpeg(48, 32),
    "progressive": photofiles.phone_jpeg(48, 32, progressive=True),
    "png": photofiles.encoded(photofiles.picture(48, 32), "PNG"),
    "webp": photofiles.encoded(photofiles.picture(48, 32), "WEBP", quality=80),
}


def _refused_or_clean(data: bytes) -> None:
    try:
        result = pipeline.process(data, None, pipeline.Limits(max_bytes=1 << 20, max_pixels=4_000_000))
    except pipeline.PhotoRefused as refused:
        assert 400 <= refused.status < 500 and refused.message
        return
    for rendition in (result.display, result.thumb):
        image = Image.open(io.BytesIO(rendition.data))
        assert image.format == "JPEG" and not image.getexif()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.binary(max_size=512),
    st.sampled_from([b"", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"RIFF\x00\x00\x00\x00WEBP"]),
)
def test_any_bytes_are_refused_or_cleaned(tail, head):
    _refused_or_clean(head + tail)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(sorted(SMALL)),
    st.lists(
        st.tuples(st.integers(min_value=0), st.integers(min_value=0, max_value=255)), min_size=1, max_size=8
    ),
    st.one_of(st.none(), st.integers(min_value=0)),
)
def test_damaged_photos_are_refused_or_cleaned(kind, flips, cut):
    data = bytearray(SMALL[kind])
    for where, value in flips:
        data[where % len(data)] = value
    if cut is not None:
        data = data[: cut % len(data)]
    _refused_or_clean(bytes(data))
