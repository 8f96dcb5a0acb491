"""Synthesise the default alert sounds of the alerts plugin (our own, no third-party audio).

Run ``python scripts/make_alert_sounds.py`` to rewrite
``plugins/limelight_alerts/static/sounds/*.wav``: short chimes made of bell-like partials
with exponential decay, 22.05 kHz mono 16-bit (small, and every browser plays WAV).
"""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

RATE = 22_050
OUT = Path(__file__).resolve().parents[1] / "plugins" / "limelight_alerts" / "static" / "sounds"


def hz(note: str) -> float:
    """``"C5"`` -> frequency (A4 = 440 Hz)."""
    names = {"C": -9, "D": -7, "E": -5, "F": -4, "G": -2, "A": 0, "B": 2}
    semis = names[note[0]]
    rest = note[1:]
    if rest.startswith("#"):
        semis, rest = semis + 1, rest[1:]
    elif rest.startswith("b"):
        semis, rest = semis - 1, rest[1:]
    return 440.0 * 2 ** ((semis + 12 * (int(rest) - 4)) / 12)


def bell(freq: float, length: float, decay: float = 3.0, bright: float = 0.5) -> list[float]:
    """A struck bell: a few inharmonic partials, a 4 ms attack, exponential decay."""
    partials = ((1.0, 1.0), (2.0, 0.5 * bright), (3.01, 0.25 * bright), (4.2, 0.12 * bright))
    out = []
    for i in range(int(length * RATE)):
        t = i / RATE
        env = min(1.0, t / 0.004) * math.exp(-decay * t)
        out.append(env * sum(a * math.sin(2 * math.pi * freq * m * t) for m, a in partials))
    return out


def pad(freq: float, length: float) -> list[float]:
    """A soft swell (slow attack, slow release) for chords under a chime."""
    out = []
    for i in range(int(length * RATE)):
        t = i / RATE
        env = min(1.0, t / 0.12) * min(1.0, (length - t) / 0.35)
        tone = math.sin(2 * math.pi * freq * t) + 0.3 * math.sin(2 * math.pi * freq * 2 * t)
        out.append(env * tone * (1 + 0.05 * math.sin(2 * math.pi * 5 * t)))
    return out


def mix(length: float, parts: list[tuple[float, list[float], float]]) -> list[float]:
    """Lay ``(start seconds, samples, gain)`` parts over ``length`` seconds of silence."""
    out = [0.0] * int(length * RATE)
    for start, samples, gain in parts:
        offset = int(start * RATE)
        for i, value in enumerate(samples):
            if offset + i < len(out):
                out[offset + i] += gain * value
    return out


def notes(
    seq: list[str], step: float, length: float, decay: float = 3.0, gain: float = 0.5
) -> list[tuple[float, list[float], float]]:
    return [(i * step, bell(hz(n), length - i * step, decay), gain) for i, n in enumerate(seq)]


def write(name: str, samples: list[float]) -> None:
    peak = max(abs(s) for s in samples) or 1.0
    scale = 0.8 * 32767 / peak
    # A 30 ms fade out: no click at the end.
    fade = int(0.03 * RATE)
    for i in range(fade):
        samples[-1 - i] *= i / fade
    frames = b"".join(struct.pack("<h", int(s * scale)) for s in samples)
    with wave.open(str(OUT / f"{name}.wav"), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(frames)


SOUNDS = {
    # A coin: two bright dings.
    "tip": lambda: mix(1.1, notes(["B5", "E6"], 0.09, 1.1, decay=4.0)),
    # Sparkles: a quick arpeggio up.
    "cheer": lambda: mix(1.2, notes(["C6", "E6", "G6", "C7"], 0.07, 1.2, decay=4.5, gain=0.4)),
    # A warm chord swell under a chime.
    "subscription": lambda: mix(
        1.4,
        [(0.0, pad(hz(n), 1.3), 0.18) for n in ("C4", "E4", "G4")]
        + notes(["G5", "C6"], 0.12, 1.4, decay=3.0, gain=0.5),
    ),
    # Gifts: a fast run of six notes.
    "gift_bomb": lambda: mix(
        1.4, notes(["C5", "E5", "G5", "C6", "E6", "G6"], 0.06, 1.4, decay=3.5, gain=0.35)
    ),
    # A raid: a low fanfare.
    "raid": lambda: mix(
        1.5,
        [(0.0, pad(hz(n), 1.4), 0.25) for n in ("G3", "D4")]
        + notes(["G4", "C5", "E5", "G5"], 0.13, 1.5, decay=2.5, gain=0.45),
    ),
    # A donation: a soft harp run on a pentatonic scale.
    "donation": lambda: mix(
        1.4, notes(["D5", "E5", "G5", "A5", "D6"], 0.08, 1.4, decay=3.0, gain=0.35)
    ),
    # A purchase: "ka-ching".
    "merch.order": lambda: mix(
        1.0,
        [
            (0.0, bell(hz("E4"), 0.15, decay=30, bright=1.0), 0.6),
            *notes(["A6", "E7"], 0.07, 0.9, decay=5.0, gain=0.35),
        ],
    ),
    # A new member: a regal call.
    "membership.changed": lambda: mix(
        1.5,
        [(0.0, pad(hz(n), 1.4), 0.16) for n in ("C4", "G4")]
        + notes(["C5", "G5", "C6"], 0.15, 1.5, decay=2.5, gain=0.5),
    ),
    # A goal milestone: a triumphant chord, struck.
    "milestone": lambda: mix(
        1.6,
        [(0.0, bell(hz(n), 1.6, decay=2.0), 0.3) for n in ("C5", "E5", "G5")]
        + notes(["C6"], 0.0, 1.6, decay=2.0, gain=0.4),
    ),
}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, make in SOUNDS.items():
        write(name, make())
        print(f"{OUT / (name + '.wav')}: {(OUT / (name + '.wav')).stat().st_size} bytes")


if __name__ == "__main__":
    main()
