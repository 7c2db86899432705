"""Photo files made by the tests (nothing downloaded): phone-like JPEGs with EXIF orientation, GPS,
XMP, comments and trailing data, other accepted types, and a corpus of files that must be refused."""

from __future__ import annotations

import io
import struct

import numpy as np
from PIL import Image
from PIL.ExifTags import IFD

GPS = {1: "N", 2: (51.0, 30.0, 12.5), 3: "W", 4: (0.0, 7.0, 39.0), 29: "2026:11:30"}


def picture(width: int = 320, height: int = 240, seed: int = 1) -> Image.Image:
    """A photo-like RGB image: gradients, noise, and a red block in the stored top-left corner (so
    the tests can tell which way up it came out)."""
    rng = np.random.default_rng(seed)
    x = np.linspace(40, 220, width, dtype=np.float32)[None, :]
    y = np.linspace(60, 200, height, dtype=np.float32)[:, None]
    base = np.stack([x + 0 * y, y + 0 * x, (x + y) / 2], axis=2)
    pixels = np.clip(base + rng.normal(0, 6, (height, width, 3)), 0, 255).astype(np.uint8)
    pixels[: height // 4, : width // 4] = (230, 20, 20)
    return Image.fromarray(pixels, "RGB")


def exif_with(orientation: int = 1, gps: bool = True) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "Phonemaker"
    exif[0x0110] = "Phone 15 Pro"
    exif[0x0131] = "Camera 17.1"
    if gps:
        exif.get_ifd(IFD.GPSInfo).update(GPS)
    exif.get_ifd(IFD.Exif)[0x9003] = "2026:11:30 09:15:00"  # DateTimeOriginal
    return exif.tobytes()


XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="51,30.2N"/>'
    b"</rdf:RDF></x:xmpmeta>"
)


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def phone_jpeg(
    width: int = 320,
    height: int = 240,
    *,
    orientation: int = 6,
    gps: bool = True,
    comment: bytes | None = b"Shot on a phone",
    xmp: bool = True,
    trailer: bytes = b"",
    quality: int = 90,
    seed: int = 1,
    progressive: bool = False,
) -> bytes:
    """A JPEG as a phone writes it: EXIF (orientation, GPS, make and model, date), XMP, a comment,
    optionally bytes after the end of the image (a motion photo's video, an appended archive)."""
    buffer = io.BytesIO()
    picture(width, height, seed).save(
        buffer, "JPEG", quality=quality, exif=exif_with(orientation, gps), progressive=progressive
    )
    data = buffer.getvalue()
    extra = b""
    if xmp:
        extra += _segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + XMP)
    if comment is not None:
        extra += _segment(0xFE, comment)
    # After SOI and the APP segments Pillow wrote (JFIF/EXIF): before the first table.
    first_table = data.find(b"\xff\xdb")
    return data[:first_table] + extra + data[first_table:] + trailer


def encoded(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def heic(width: int = 320, height: int = 240, orientation: int = 1) -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()
    return encoded(picture(width, height), "HEIF", quality=80, exif=exif_with(orientation))


def scan_data(jpeg: bytes) -> bytes:
    """A JPEG's entropy-coded image data: from the first start-of-scan to the end of image."""
    start = jpeg.index(b"\xff\xda")
    return jpeg[start : jpeg.index(b"\xff\xd9", start) + 2]


def cut_and_closed(jpeg: bytes) -> bytes:
    """The JPEG with its image data cut in the middle and an end-of-image marker put after the cut
    (an interrupted write that still closed the file)."""
    start, end = jpeg.index(b"\xff\xda"), jpeg.rindex(b"\xff\xd9")
    return jpeg[: start + (end - start) // 2] + b"\xff\xd9"


def with_size_in_header(jpeg: bytes, width: int, height: int) -> bytes:
    """The JPEG with its frame header claiming another size (a decompression bomb's header)."""
    sof = jpeg.index(b"\xff\xc0")
    return jpeg[: sof + 5] + struct.pack(">HH", height, width) + jpeg[sof + 9 :]


def refused_corpus() -> dict[str, tuple[bytes, str | None, int, str]]:
    """name -> (file, declared type, expected status, expected code)."""
    jpeg = phone_jpeg()
    png = encoded(picture(), "PNG")
    webp = encoded(picture(), "WEBP", quality=80)
    frames = [picture(seed=s) for s in (1, 2)]
    animated = encoded(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100)
    bomb_png = encoded(Image.new("1", (12_000, 12_000)), "PNG")
    return {
        "zero-byte": (b"", "image/jpeg", 422, "invalid_image"),
        "svg": (
            b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "image/svg+xml",
            415,
            "unsupported_type",
        ),
        "svg-named-jpeg": (
            b'<svg xmlns="http://www.w3.org/2000/svg"/>',
            "image/jpeg",
            415,
            "unsupported_type",
        ),
        "html": (
            b"<!doctype html><html><body><script>alert(1)</script></body></html>",
            "text/html",
            415,
            "unsupported_type",
        ),
        "gif": (encoded(picture(), "GIF"), "image/gif", 415, "unsupported_type"),
        "bmp": (encoded(picture(), "BMP"), "image/bmp", 415, "unsupported_type"),
        "tiff": (encoded(picture(), "TIFF"), "image/tiff", 415, "unsupported_type"),
        "pdf": (
            b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF",
            "application/pdf",
            415,
            "unsupported_type",
        ),
        "text": (b"just some text", "text/plain", 415, "unsupported_type"),
        "jpeg-magic-then-garbage": (
            b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8,
            "image/jpeg",
            422,
            "invalid_image",
        ),
        "truncated-jpeg": (jpeg[: len(jpeg) // 2], "image/jpeg", 422, "invalid_image"),
        "truncated-jpeg-header": (jpeg[:40], "image/jpeg", 422, "invalid_image"),
        "truncated-jpeg-closed": (cut_and_closed(jpeg), "image/jpeg", 422, "invalid_image"),
        "truncated-png": (png[: len(png) // 2], "image/png", 422, "invalid_image"),
        "truncated-webp": (webp[: len(webp) // 2], "image/webp", 422, "invalid_image"),
        "png-declared-jpeg": (png, "image/jpeg", 422, "invalid_image"),
        "jpeg-declared-html": (jpeg, "text/html", 422, "invalid_image"),
        "jpeg-declared-svg": (jpeg, "image/svg+xml", 422, "invalid_image"),
        "jpeg-with-script-comment": (
            phone_jpeg(comment=b"<script>alert(1)</script>"),
            "image/jpeg",
            422,
            "invalid_image",
        ),
        "jpeg-then-html": (
            phone_jpeg(trailer=b"<html><body><script>alert(1)</script>"),
            "image/jpeg",
            422,
            "invalid_image",
        ),
        "jpeg-then-zip": (
            phone_jpeg(trailer=b"PK\x03\x04" + b"\x14\x00" * 20),
            "image/jpeg",
            422,
            "invalid_image",
        ),
        "png-with-script-text": (
            encoded(picture(), "PNG", pnginfo=_pnginfo("Comment", "<script>alert(1)</script>")),
            "image/png",
            422,
            "invalid_image",
        ),
        "png-then-zip": (png + b"PK\x03\x04" + bytes(60), "image/png", 422, "invalid_image"),
        "animated-webp": (animated, "image/webp", 422, "invalid_image"),
        "png-bomb": (bomb_png, "image/png", 422, "too_many_pixels"),
        "jpeg-bomb-header": (with_size_in_header(jpeg, 60_000, 60_000), "image/jpeg", 422, "too_many_pixels"),
    }


def _pnginfo(key: str, value: str):
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text(key, value)
    return info
