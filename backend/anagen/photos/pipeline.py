"""The upload pipeline: decide what an uploaded file is, refuse what is not a photo, and make the
renditions the app stores — a full-resolution master, a display size and a thumbnail — with no
metadata left in any of them.

Flask-free and database-free: bytes in, bytes out (`process`), so the service, the benchmark and the
tests call the same code. Every refusal is an `AnagenError` with a 4xx status and a message a patient
can act on; nothing is written anywhere by this module.

- The type is decided by the file's first bytes (never its name or declared type), and Pillow is
  only allowed the decoder of that type, so a file cannot be read as something else.
- The pixel count is read from the header and checked before anything is decoded (decompression
  bombs), and Pillow's own bomb warning is an error here.
- JPEG masters keep the camera's compressed image data byte for byte: `strip_jpeg` rebuilds the
  file from its coding segments only (no second lossy generation). Other types are decoded, and
  stored losslessly (PNG, WebP) or, for HEIC/HEIF, once as a high-quality JPEG (browsers cannot
  show HEIC).
- The display image and the thumbnail come from the JPEG decoder's DCT scaling ("draft" mode):
  decoding a 12-MP photo at half size does a quarter of the inverse DCT and colour work, and the
  half-size image is the display image as it is (docs/BENCHMARKS.md, bench/photos.py).
"""

from __future__ import annotations

import functools
import hashlib
import io
import re
import struct
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageFile, ImageOps, UnidentifiedImageError

from anagen.errors import AnagenError

JPEG, PNG, WEBP, HEIF = "image/jpeg", "image/png", "image/webp", "image/heic"
PILLOW_FORMATS = {JPEG: "JPEG", PNG: "PNG", WEBP: "WEBP", HEIF: "HEIF"}
# Declared types that are the same thing as what the bytes say.
SAME_TYPE = {
    JPEG: {"image/jpeg", "image/jpg", "image/pjpeg"},
    PNG: {"image/png"},
    WEBP: {"image/webp"},
    HEIF: {"image/heic", "image/heif", "image/heic-sequence", "image/heif-sequence"},
}
# Declared types that say nothing (a browser that does not know the file's type).
UNKNOWN_TYPES = {"", "application/octet-stream"}
# ISO-BMFF major/compatible brands of HEIC/HEIF still images (ISO/IEC 23008-12). AVIF ("avif") is
# not among them: it is not accepted.
HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"heif"}

# The display image's longest edge is at most this; a JPEG's is the largest DCT scale (1/1, 1/2, 1/4,
# 1/8) within it, so it needs no resampling: 2016 px for a 12-MP or 48-MP phone photo.
DISPLAY_EDGE = 2048
THUMB_EDGE = 320
DISPLAY_QUALITY = 85
THUMB_QUALITY = 80
HEIF_MASTER_QUALITY = 95

# What an image file must never carry: markup or script that a browser (or a server) might run
# if the file were ever served as something else. Seven bytes or more, so random compressed data
# matches by chance about once in 10^9 files.
ACTIVE_CONTENT = re.compile(
    rb"<script|<\?php|<!doctype|<html[\s>]|<svg[\s>]|<iframe|<object[\s>]|<embed[\s>]|javascript:",
    re.IGNORECASE,
)

# An archive appended to an image (the classic image/JAR polyglot): refused where it can hide, in the
# parts of a file that are not image data.
ARCHIVE = re.compile(rb"PK\x03\x04|PK\x05\x06|Rar!\x1a\x07|7z\xbc\xaf\x27\x1c")

ORIENTATION_TAG = 0x0112
# EXIF orientation -> the transpose that makes the image upright (EXIF 2.32, 4.6.4 A).
TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

_heif_registered = False
_pool: ThreadPoolExecutor | None = None


class PhotoRefused(AnagenError):
    status = 422
    code = "invalid_image"


class TooLarge(PhotoRefused):
    status = 413
    code = "too_large"


class UnsupportedType(PhotoRefused):
    status = 415
    code = "unsupported_type"


class TooManyPixels(PhotoRefused):
    code = "too_many_pixels"


@dataclass(frozen=True, slots=True)
class Limits:
    max_bytes: int = 25 * 1024 * 1024
    # 50 MP: a 48-MP phone camera's full-resolution photo fits; a decoded image of this size is
    # about 150 MB of RGB.
    max_pixels: int = 50_000_000


@dataclass(frozen=True, slots=True)
class Rendition:
    data: bytes
    media_type: str
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class Processed:
    source_media_type: str
    content_hash: str
    byte_size: int
    master: Rendition
    display: Rendition
    thumb: Rendition


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sniff(data: bytes) -> str:
    """The file's type from its magic bytes: one of the accepted types, else UnsupportedType."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    if len(data) >= 16 and data[4:8] == b"ftyp":
        box_size = struct.unpack(">I", data[:4])[0]
        brands = {data[8:12]} | {data[i : i + 4] for i in range(16, min(box_size, len(data), 64), 4)}
        if brands & HEIF_BRANDS:
            return HEIF
    raise UnsupportedType(
        "This file is not a photo we can use. Please send a JPEG, PNG, WebP or HEIC photo.",
        {"file": "must be a JPEG, PNG, WebP or HEIC image"},
    )


def check_declared_type(declared: str | None, actual: str) -> None:
    """Refuse a file whose declared type names something else than its bytes are."""
    declared = (declared or "").split(";", 1)[0].strip().lower()
    if declared in UNKNOWN_TYPES or declared in SAME_TYPE[actual]:
        return
    raise PhotoRefused(
        "This file's contents do not match its type, so it was not accepted. Please send the photo "
        "straight from your camera or gallery.",
        {"file": f"declared as {declared[:60]} but is {actual}"},
    )


def _invalid(detail: str) -> PhotoRefused:
    return PhotoRefused(
        "This photo could not be read: it may be incomplete or damaged. Please take it again.",
        {"file": detail},
    )


# --- JPEG -------------------------------------------------------------------------------------
#
# Hand-written rather than a library: nothing on PyPI rewrites a JPEG's segment list without
# decoding it (piexif only edits the EXIF segment and keeps comments, XMP, maker notes and trailing
# data), and the job is small: JPEG (ITU T.81, B.1.1.2) is a list of marker segments, each
# 0xFF <marker> <2-byte length> <payload>, until the start-of-scan's entropy-coded data, in which a
# literal 0xFF is always followed by 0x00 (stuffing) or is a restart marker 0xD0-0xD7.

SOI, EOI, SOS = 0xD8, 0xD9, 0xDA
APP0, APP1, APP2, APP14, APP15, COM = 0xE0, 0xE1, 0xE2, 0xEE, 0xEF, 0xFE
# Reserved JPEG extension markers (JPGn): no decoder needs them, and they could carry anything.
JPG_EXTENSIONS = (0xF0, 0xFD)
# Markers without a length field (T.81 table B.1): TEM and the restart markers.
STANDALONE = {0x01, *range(0xD0, 0xD8)}
# The next marker inside entropy-coded data: 0xFF followed by anything but a stuffed zero or a
# restart marker (a fill 0xFF is skipped by the segment loop). No `\xff+`: it backtracks on every
# stuffed byte and takes 50 times longer.
NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7]")
ICC_SIGNATURE = b"ICC_PROFILE\x00"


@dataclass(frozen=True, slots=True)
class StrippedJpeg:
    data: bytes
    orientation: int
    # Every byte that is not image data (the metadata dropped, the trailing bytes, and the colour
    # profile kept), for the active-content check.
    not_image_data: bytes


def _orientation_segment(orientation: int) -> bytes:
    """An APP1 Exif segment holding one tag, Orientation (a big-endian TIFF IFD0 of one entry)."""
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8)
    ifd = struct.pack(">H", 1) + struct.pack(">HHIHH", ORIENTATION_TAG, 3, 1, orientation, 0) + b"\0\0\0\0"
    payload = b"Exif\x00\x00" + tiff + ifd
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def _exif_orientation(app1_payload: bytes) -> int | None:
    """The Orientation tag of an APP1 Exif payload (IFD0), or None."""
    if not app1_payload.startswith(b"Exif\x00\x00") or len(app1_payload) < 14:
        return None
    tiff = app1_payload[6:]
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None:
        return None
    try:
        (offset,) = struct.unpack(order + "I", tiff[4:8])
        (count,) = struct.unpack(order + "H", tiff[offset : offset + 2])
        for i in range(min(count, 512)):
            entry = tiff[offset + 2 + 12 * i : offset + 14 + 12 * i]
            tag, kind, _n = struct.unpack(order + "HHI", entry[:8])
            if tag == ORIENTATION_TAG and kind == 3:
                (value,) = struct.unpack(order + "H", entry[8:10])
                return value if 1 <= value <= 8 else None
    except struct.error:
        return None
    return None


def strip_jpeg(data: bytes) -> StrippedJpeg:
    """The JPEG rebuilt from its coding segments, byte for byte, without metadata.

    Kept: the quantisation and Huffman tables, the frame and scan headers, restart intervals and
    every scan's entropy-coded data as they came, plus two segments that change how the pixels
    decode rather than describe anything: Adobe's APP14 (its colour-transform flag) and the ICC
    colour profile (APP2), without which a Display-P3 phone photo shows wrong colours. Dropped:
    every other APPn (EXIF with GPS, maker notes and the embedded thumbnail, XMP, JFIF, MPF,
    Photoshop IRB...), comments, and anything after the end of the image (motion-photo videos,
    appended archives). The EXIF orientation comes back as the one tag of a new EXIF segment.
    """
    if not data.startswith(b"\xff\xd8"):
        raise _invalid("not a JPEG stream")
    out = [b"\xff\xd8"]
    dropped = []
    orientation = 1
    pos, end = 2, len(data)
    while True:
        # Markers may be preceded by any number of 0xFF fill bytes (T.81 B.1.1.2); after a scan,
        # pos is already at the next marker's code.
        while pos < end and data[pos] == 0xFF:
            pos += 1
        if pos >= end or data[pos - 1] != 0xFF:
            raise _invalid("truncated or malformed JPEG (no marker where one must be)")
        marker = data[pos]
        pos += 1
        if marker == EOI:
            out.append(b"\xff\xd9")
            dropped.append(data[pos:])
            break
        if marker in STANDALONE or marker == SOI:
            raise _invalid(f"unexpected JPEG marker 0x{marker:02X}")
        if pos + 2 > end:
            raise _invalid("truncated JPEG segment")
        (length,) = struct.unpack(">H", data[pos : pos + 2])
        if length < 2 or pos + length > end:
            raise _invalid("truncated JPEG segment")
        segment = data[pos - 2 : pos + length]
        payload = data[pos + 2 : pos + length]
        pos += length
        if marker == SOS:
            found = NEXT_MARKER.search(data, pos)
            if found is None:
                raise _invalid("truncated JPEG (the image data has no end)")
            out.append(segment)
            out.append(data[pos : found.start()])
            pos = found.start() + 1
            continue
        if APP0 <= marker <= APP15 or marker == COM or JPG_EXTENSIONS[0] <= marker <= JPG_EXTENSIONS[1]:
            if marker == APP1 and orientation == 1:
                orientation = _exif_orientation(payload) or 1
            if marker == APP14 and payload.startswith(b"Adobe") and len(payload) >= 12:
                # Rebuilt from its fixed fields (version, flags, transform): no room for anything else.
                adobe = payload[:12]
                out.append(b"\xff\xee\x00\x0e" + adobe)
                continue
            if marker == APP2 and payload.startswith(ICC_SIGNATURE):
                out.append(segment)
                dropped.append(payload)  # kept, but checked like the rest
                continue
            dropped.append(payload)
            continue
        out.append(segment)
    if orientation != 1:
        out.insert(1, _orientation_segment(orientation))
    return StrippedJpeg(b"".join(out), orientation, not_image_data=b"".join(dropped))


# --- decoding -----------------------------------------------------------------------------------


def _register_heif() -> None:
    global _heif_registered
    if not _heif_registered:
        import pillow_heif

        # The thumbnails a HEIC file may carry are never used.
        pillow_heif.register_heif_opener(thumbnails=False)
        _heif_registered = True


def _open(data: bytes, kind: str, limits: Limits) -> Image.Image:
    """Open (header only) with this type's decoder alone, and check the pixel count."""
    if kind == HEIF:
        _register_heif()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=[PILLOW_FORMATS[kind]])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(limits) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, struct.error) as exc:
        raise _invalid(f"could not read the image header ({type(exc).__name__})") from None
    width, height = im.size
    if width < 1 or height < 1:
        raise _invalid("the image has no pixels")
    if width * height > limits.max_pixels:
        raise _too_many_pixels(limits)
    if getattr(im, "n_frames", 1) > 1 and kind != HEIF:
        raise PhotoRefused("Animated images are not accepted. Please send a photo.", {"file": "animated"})
    return im


def _too_many_pixels(limits: Limits) -> TooManyPixels:
    mp = limits.max_pixels // 1_000_000
    return TooManyPixels(
        f"This image is larger than {mp} megapixels. Please send a photo from your phone's camera.",
        {"file": f"more than {limits.max_pixels} pixels"},
    )


def _load(im: Image.Image) -> None:
    """Decode fully; a truncated or corrupt file is refused (never padded with grey)."""
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im.load()
    except (OSError, ValueError, SyntaxError, struct.error, Image.DecompressionBombWarning) as exc:
        raise _invalid(f"could not decode the image ({type(exc).__name__})") from None


def _rgb(im: Image.Image) -> Image.Image:
    """RGB for JPEG output; transparency composed on white."""
    if im.mode == "RGB":
        return im
    if im.mode in {"RGBA", "LA", "PA"} or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
        background = Image.new("RGB", im.size, (255, 255, 255))
        background.paste(im, mask=im.getchannel("A"))
        return background
    return im.convert("RGB")


def _srgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    """The pixels converted from the file's colour profile to sRGB, the space every screen assumes
    for an image without one (the renditions carry no profile): a Display-P3 photo keeps its
    colours. An unreadable profile, or sRGB already, leaves the pixels as they are."""
    if not icc or im.mode not in {"RGB", "RGBA"}:
        return im
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" in ImageCms.getProfileDescription(source).lower().replace(" ", ""):
            return im
        return ImageCms.profileToProfile(im, source, _srgb_profile(), outputMode=im.mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return im


@functools.cache
def _srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _fit(size: tuple[int, int], edge: int) -> tuple[int, int]:
    width, height = size
    scale = min(1.0, edge / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _jpeg(im: Image.Image, quality: int) -> Rendition:
    buffer = io.BytesIO()
    # No exif=, icc_profile= or comment: the output carries no metadata at all.
    im.save(buffer, "JPEG", quality=quality, optimize=False, progressive=False)
    return Rendition(buffer.getvalue(), JPEG, *im.size)


def _smaller(im: Image.Image, edge: int) -> Image.Image:
    size = _fit(im.size, edge)
    if size == im.size:
        return im
    # reducing_gap: a box reduction by an integer factor first, then a short Lanczos pass.
    return im.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _thumb(display: Image.Image) -> Rendition:
    # A box reduction by a whole factor first (one cheap pass), then a short Lanczos pass.
    factor = max(1, max(display.size) // THUMB_EDGE)
    small = display.reduce(factor) if factor > 1 else display
    return _jpeg(_smaller(small, THUMB_EDGE), THUMB_QUALITY)


def _helpers() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="photo-pipeline")
    return _pool


def _display_and_thumb(im: Image.Image) -> tuple[Rendition, Rendition]:
    display = _smaller(im, DISPLAY_EDGE)
    # Pillow releases the GIL while it resamples and encodes: the thumbnail is made on a helper
    # thread while this one encodes the display image.
    thumb = _helpers().submit(_thumb, display)
    return _jpeg(display, DISPLAY_QUALITY), thumb.result()


def _ends_in_padding(im: Image.Image) -> bool:
    """True when the decoded JPEG's last row is libjpeg's padding: a scan cut short but closed with
    an end-of-image marker decodes without an error (libjpeg only warns, and Pillow does not pass
    warnings on), every block after the cut having no coefficients, i.e. exactly mid-grey. A
    camera's last row of pixels is never exactly uniform mid-grey (sensor noise alone prevents it)."""
    width, height = im.size
    extrema = im.crop((0, height - 1, width, height)).getextrema()
    if im.mode in {"L", "I", "F"}:
        extrema = (extrema,)
    return all(band == (128, 128) for band in extrema)


def _draft_size(size: tuple[int, int]) -> tuple[int, int]:
    """The size to ask `Image.draft` for so that it picks the largest scale within DISPLAY_EDGE
    (draft picks the smallest scale whose result still covers the size asked for)."""
    width, height = size
    for denominator in (1, 2, 4, 8):
        if -(-max(width, height) // denominator) <= DISPLAY_EDGE:
            break
    return -(-width // denominator), -(-height // denominator)


def _upright_size(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    return (size[1], size[0]) if orientation in {5, 6, 7, 8} else size


def _process_jpeg(data: bytes, limits: Limits) -> tuple[Rendition, Rendition, Rendition]:
    stripped = strip_jpeg(data)
    if ACTIVE_CONTENT.search(stripped.not_image_data) or ARCHIVE.search(stripped.not_image_data):
        raise _polyglot()
    im = _open(stripped.data, JPEG, limits)
    width, height = _upright_size(im.size, stripped.orientation)
    # DCT scaling: decode at the largest of 1/1, 1/2, 1/4 and 1/8 that fits the display edge.
    # Every coefficient of every scan is still read, so a truncated file still fails here.
    im.draft("RGB", _draft_size(im.size))
    _load(im)
    if _ends_in_padding(im):
        raise _invalid("the image data ends early (the rest of the picture is missing)")
    im = _srgb(_rgb(im), im.info.get("icc_profile"))
    if stripped.orientation in TRANSPOSE:
        im = im.transpose(TRANSPOSE[stripped.orientation])
    display, thumb = _display_and_thumb(im)
    master = Rendition(stripped.data, JPEG, width, height)
    return master, display, thumb


def _trailing(data: bytes, kind: str) -> bytes:
    """What follows the end of a PNG (its IEND chunk) or a WebP (its RIFF container)."""
    if kind == PNG:
        end = data.find(b"IEND\xaeB`\x82")
        return data[end + 8 :] if end >= 0 else b""
    if kind == WEBP:
        size = struct.unpack("<I", data[4:8])[0] + 8
        return data[size + (size & 1) :]
    return b""


def _process_other(data: bytes, kind: str, limits: Limits) -> tuple[Rendition, Rendition, Rendition]:
    if ACTIVE_CONTENT.search(data) or _trailing(data, kind).strip(b"\x00"):
        raise _polyglot()
    im = _open(data, kind, limits)
    _load(im)
    try:
        upright = ImageOps.exif_transpose(im)
    except (OSError, ValueError, SyntaxError, struct.error):
        upright = im  # an unreadable EXIF block: no orientation to apply
    # The masters of these types are decoded pixels saved without a profile: make them sRGB.
    upright = _srgb(upright, im.info.get("icc_profile"))
    buffer = io.BytesIO()
    if kind == PNG:
        master_im = upright if upright.mode in {"1", "L", "LA", "RGB", "RGBA", "I;16"} else _rgb(upright)
        master_im.save(buffer, "PNG", compress_level=6)
        master_type = PNG
    elif kind == WEBP:
        master_im = upright if upright.mode in {"RGB", "RGBA"} else _rgb(upright)
        # Lossless: a lossy WebP is not compressed a second time.
        master_im.save(buffer, "WEBP", lossless=True, quality=60, method=2)
        master_type = WEBP
    else:
        # HEIC/HEIF: browsers cannot show it, so the master is one high-quality JPEG generation.
        master_im = _rgb(upright)
        master_im.save(buffer, "JPEG", quality=HEIF_MASTER_QUALITY, subsampling=0)
        master_type = JPEG
    master = Rendition(buffer.getvalue(), master_type, *master_im.size)
    display, thumb = _display_and_thumb(_rgb(upright))
    return master, display, thumb


def _polyglot() -> PhotoRefused:
    return PhotoRefused(
        "This file contains more than a photo (such as web page or script content), so it was not "
        "accepted. Please send the photo straight from your camera or gallery.",
        {"file": "contains markup or script"},
    )


def process(data: bytes, declared_type: str | None = None, limits: Limits = Limits()) -> Processed:
    """Validate an upload and make its master, display and thumbnail renditions (no metadata)."""
    if not data:
        raise PhotoRefused("The file is empty. Please choose the photo again.", {"file": "empty"})
    if len(data) > limits.max_bytes:
        raise TooLarge(
            f"This photo is larger than {limits.max_bytes // (1024 * 1024)} MB. Please send a smaller one.",
            {"file": f"more than {limits.max_bytes} bytes"},
        )
    kind = sniff(data)
    check_declared_type(declared_type, kind)
    # The hash (the idempotency key) is computed on a helper thread while the image decodes.
    digest = _helpers().submit(content_hash, data)
    if kind == JPEG:
        master, display, thumb = _process_jpeg(data, limits)
    else:
        master, display, thumb = _process_other(data, kind, limits)
    return Processed(
        source_media_type=kind,
        content_hash=digest.result(),
        byte_size=len(data),
        master=master,
        display=display,
        thumb=thumb,
    )
