"""PNG / JPEG headers read before decoding, so a small file that declares a huge picture is refused.

``read_picture(path)`` reads the file once (at most the array limit), parses its header (PNG IHDR,
JPEG SOFn) and checks the decoded size ``height x width x channels x 4`` bytes (the float32 working
copy the readers make) against ``limits.check_array_size``; the bytes are returned for the decoder,
so what is checked is what is decoded.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

from medinterp_widgets.data.errors import DataFormatError
from medinterp_widgets.data.limits import ARRAY_LIMIT_ENV, check_array_size, check_file_size, max_array_bytes

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_CHANNELS = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}  # colour type -> decoded channels (palette -> BGR)
JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
JPEG_NO_LENGTH = {0x01, 0xD8} | set(range(0xD0, 0xD8))
WORKING_ITEMSIZE = 4  # readers convert the pixels to float32


@dataclass(frozen=True)
class PictureHeader:
    kind: str  # "PNG" or "JPEG"
    height: int
    width: int
    channels: int


def _png_header(data: bytes, path) -> PictureHeader:
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise DataFormatError(path, "PNG header: missing IHDR chunk")
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    if colour not in PNG_CHANNELS or depth not in (1, 2, 4, 8, 16) or width == 0 or height == 0:
        raise DataFormatError(path, f"PNG header IHDR: width {width}, height {height}, bit depth {depth}, "
                                    f"colour type {colour} is not a valid picture")
    return PictureHeader("PNG", height, width, PNG_CHANNELS[colour])


def _jpeg_header(data: bytes, path) -> PictureHeader:
    """Walk the JPEG segments up to the first start-of-frame (SOFn) marker."""
    offset = 2
    while offset + 4 <= len(data):
        if data[offset] != 0xFF:
            raise DataFormatError(path, f"JPEG header: expected a marker at byte {offset}")
        marker = data[offset + 1]
        if marker == 0xFF:  # fill byte
            offset += 1
            continue
        if marker in JPEG_NO_LENGTH:
            offset += 2
            continue
        (length,) = struct.unpack(">H", data[offset + 2:offset + 4])
        if marker in JPEG_SOF and offset + 10 <= len(data):
            height, width, channels = struct.unpack(">HHB", data[offset + 5:offset + 10])
            if width == 0 or height == 0 or channels not in (1, 3, 4):
                raise DataFormatError(path, f"JPEG header SOF: {width} x {height} pixels, {channels} components "
                                            "is not a valid picture")
            return PictureHeader("JPEG", height, width, channels)
        if marker == 0xDA or length < 2:
            break
        offset += 2 + length
    raise DataFormatError(path, "JPEG header: no start-of-frame (SOFn) segment with the picture size")


def picture_header(data: bytes, path) -> PictureHeader:
    """The header of PNG or JPEG ``data`` (DataFormatError for anything else)."""
    if data.startswith(PNG_SIGNATURE):
        return _png_header(data, path)
    if data.startswith(b"\xff\xd8"):
        return _jpeg_header(data, path)
    raise DataFormatError(path, "signature: not a PNG or JPEG file")


def read_picture(path: str | os.PathLike) -> tuple[bytes, PictureHeader]:
    """(file bytes, header) after the size checks of the module docstring."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image not found: {path}")
    check_file_size(path, "file size", path.stat().st_size, max_array_bytes(), ARRAY_LIMIT_ENV)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise DataFormatError(path, f"cannot read the file ({error.strerror or error})") from error
    header = picture_header(data, path)
    check_array_size(path, f"{header.kind} pixels (height, width, channels)",
                     (header.height, header.width, header.channels), WORKING_ITEMSIZE)
    return data, header
