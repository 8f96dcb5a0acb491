"""Real media files for upload tests, made in memory: a PNG, a WAV, a WebM header."""

from __future__ import annotations

import io
import struct
import wave
import zlib


def png(width: int = 64, height: int = 64, rgb: tuple[int, int, int] = (124, 108, 255)) -> bytes:
    row = b"\x00" + bytes(rgb) * width
    raw = row * height

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def wav(milliseconds: int = 200) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        frames = 8 * milliseconds
        w.writeframes(b"".join(struct.pack("<h", (i % 40 - 20) * 800) for i in range(frames)))
    return out.getvalue()
