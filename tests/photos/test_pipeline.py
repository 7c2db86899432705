"""The upload pipeline (photos/pipeline.py): what is refused, and what comes out of what is accepted."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops, ImageOps
from support import photofiles

from anagen.photos import pipeline
from anagen.photos.pipeline import Limits, process


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _no_metadata(data: bytes) -> None:
    image = _open(data)
    assert not image.getexif(), "EXIF survived"
    assert "exif" not in image.info and "xmp" not in image.info and "comment" not in image.info
    assert b"Exif\x00\x00" not in data and b"http://ns.adobe.com/xap" not in data
    assert b"Phonemaker" not in data and b"Shot on a phone" not in data


def _red_corner(image: Image.Image) -> str:
    """Which corner of the image the red block ended up in."""
    image = image.convert("RGB")
    w, h = image.size
    corners = {"top-left": (w // 16, h // 16), "top-right": (w - 1 - w // 16, h // 16)}
    corners |= {"bottom-left": (w // 16, h - 1 - h // 16), "bottom-right": (w - 1 - w // 16, h - 1 - h // 16)}
    for name, xy in corners.items():
        r, g, b = image.getpixel(xy)
        if r > 180 and g < 90 and b < 90:
            return name
    raise AssertionError("no red corner")


@pytest.mark.parametrize("name", sorted(photofiles.refused_corpus()))
def test_the_bad_file_corpus_is_refused_with_a_clear_4xx(name):
    data, declared, status, code = photofiles.refused_corpus()[name]
    with pytest.raises(pipeline.PhotoRefused) as refused:
        process(data, declared)
    assert (refused.value.status, refused.value.code) == (status, code)
    assert refused.value.message and "file" in refused.value.fields


def test_a_file_over_the_size_limit_is_a_413_before_anything_is_decoded(monkeypatch):
    monkeypatch.setattr(pipeline, "sniff", lambda data: pytest.fail("sniffed a file over the limit"))
    with pytest.raises(pipeline.TooLarge) as refused:
        process(photofiles.phone_jpeg(), "image/jpeg", Limits(max_bytes=1000))
    assert refused.value.status == 413


def test_the_pixel_limit_is_checked_from_the_header_before_decoding(monkeypatch):
    monkeypatch.setattr(pipeline, "_load", lambda im: pytest.fail("decoded an image over the pixel limit"))
    with pytest.raises(pipeline.TooManyPixels):
        process(photofiles.phone_jpeg(640, 480), "image/jpeg", Limits(max_pixels=640 * 480 - 1))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_phone_jpeg_with_gps_and_orientation_comes_out_upright_with_no_exif_at_all(orientation):
    data = photofiles.phone_jpeg(320, 240, orientation=orientation, trailer=b"\x00\x00motion-photo-video")
    result = process(data, "image/jpeg")
    # What a viewer honouring the EXIF tag shows: the reference for "upright".
    upright = ImageOps.exif_transpose(_open(data))
    for rendition in (result.display, result.thumb):
        _no_metadata(rendition.data)
        image = _open(rendition.data)
        assert image.size == (rendition.width, rendition.height)
        assert image.size[0] / image.size[1] == pytest.approx(upright.size[0] / upright.size[1], rel=0.02)
        assert _red_corner(image) == _red_corner(upright)
    assert (result.master.width, result.master.height) == upright.size


def test_the_jpeg_master_keeps_the_image_data_byte_for_byte_and_only_the_orientation_tag():
    data = photofiles.phone_jpeg(640, 480, orientation=6, trailer=b"\x00" * 16 + b"ftypmp42 video")
    master = process(data, "image/jpeg").master.data
    assert photofiles.scan_data(master) == photofiles.scan_data(data)
    assert master.endswith(b"\xff\xd9")
    image = _open(master)
    assert dict(image.getexif()) == {0x0112: 6}
    assert not image.getexif().get_ifd(0x8825), "GPS survived"
    for leak in (b"Phonemaker", b"Phone 15 Pro", b"Shot on a phone", b"xap/1.0", b"2026:11:30", b"ftyp"):
        assert leak not in master
    # The same pixels as the original: nothing was re-encoded.
    assert ImageChops.difference(image.convert("RGB"), _open(data).convert("RGB")).getbbox() is None


def test_an_upright_jpeg_master_carries_no_exif_at_all():
    master = process(photofiles.phone_jpeg(orientation=1), "image/jpeg").master.data
    _no_metadata(master)


def test_a_progressive_jpeg_keeps_all_its_scans():
    data = photofiles.phone_jpeg(640, 480, progressive=True)
    result = process(data, "image/jpeg")
    assert result.master.data.count(b"\xff\xda") == data.count(b"\xff\xda") > 1
    assert ImageChops.difference(_open(result.master.data), _open(data)).getbbox() is None


def test_heic_in_jpeg_out_upright_without_metadata():
    data = photofiles.heic(320, 240, orientation=6)
    result = process(data, "image/heic")
    assert result.source_media_type == "image/heic"
    for rendition in (result.master, result.display, result.thumb):
        assert rendition.media_type == "image/jpeg"
        assert _open(rendition.data).format == "JPEG"
        _no_metadata(rendition.data)
    assert (result.master.width, result.master.height) == (240, 320)


@pytest.mark.parametrize(
    ("fmt", "params", "media_type"), [("PNG", {}, "image/png"), ("WEBP", {"quality": 80}, "image/webp")]
)
def test_png_and_webp_masters_are_lossless_and_stripped(fmt, params, media_type):
    source = photofiles.picture(320, 240)
    data = photofiles.encoded(source, fmt, exif=photofiles.exif_with(orientation=3), **params)
    result = process(data, "")
    assert result.master.media_type == media_type
    master = _open(result.master.data)
    _no_metadata(result.master.data)
    # Orientation 3 applied (a half turn), and the master is the decoded pixels, losslessly.
    assert (
        ImageChops.difference(master.convert("RGB"), _open(data).convert("RGB").rotate(180)).getbbox() is None
    )
    assert _red_corner(_open(result.display.data)) == "bottom-right"


def test_a_large_jpeg_is_decoded_at_a_dct_scale_for_the_display_image_and_thumbnail():
    result = process(photofiles.phone_jpeg(4032, 3024, orientation=6, quality=85), "image/jpeg")
    assert (result.master.width, result.master.height) == (3024, 4032)
    assert (result.display.width, result.display.height) == (1512, 2016)
    assert max(result.thumb.width, result.thumb.height) == pipeline.THUMB_EDGE


def test_the_content_hash_is_of_the_file_as_uploaded():
    data = photofiles.phone_jpeg()
    assert process(data, "image/jpeg").content_hash == pipeline.content_hash(data)
    assert len(pipeline.content_hash(data)) == 64


@pytest.mark.parametrize(
    "declared", [None, "", "application/octet-stream", "image/jpeg", "IMAGE/JPEG; q=1", "image/jpg"]
)
def test_an_unknown_or_matching_declared_type_is_accepted(declared):
    assert process(photofiles.phone_jpeg(), declared).master.media_type == "image/jpeg"


def test_the_colour_profile_is_kept_in_the_master_and_checked_like_everything_else():
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = photofiles.encoded(
        photofiles.picture(), "JPEG", quality=90, icc_profile=icc, exif=photofiles.exif_with(6)
    )
    result = process(data, "image/jpeg")
    assert _open(result.master.data).info.get("icc_profile") == icc  # colours as the camera meant them
    assert "icc_profile" not in _open(result.display.data).info
    hidden = icc[:-30] + b"<script>alert(1)</script>" + icc[-5:]
    bad = photofiles.encoded(photofiles.picture(), "JPEG", quality=90, icc_profile=hidden)
    with pytest.raises(pipeline.PhotoRefused):
        process(bad, "image/jpeg")


def test_pixels_in_another_colour_space_are_converted_to_srgb_for_the_renditions(monkeypatch):
    from PIL import ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    image = photofiles.picture()
    assert pipeline._srgb(image, srgb) is image  # sRGB already: nothing to do
    assert pipeline._srgb(image, b"not a profile") is image  # unreadable: left as it is
    assert pipeline._srgb(image, None) is image
    # A profile that is not sRGB (a phone's Display P3): the pixels go through the conversion.
    monkeypatch.setattr(ImageCms, "getProfileDescription", lambda profile: "Display P3")
    converted = []
    real = ImageCms.profileToProfile
    monkeypatch.setattr(
        ImageCms,
        "profileToProfile",
        lambda im, src, dst, **kw: converted.append(kw) or real(im, src, dst, **kw),
    )
    assert pipeline._srgb(image, srgb).size == image.size and converted == [{"outputMode": "RGB"}]
