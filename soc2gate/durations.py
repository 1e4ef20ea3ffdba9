"""Durations as users write them: ``90s``, ``20m``, ``1h30m``, ``0.5s`` or a bare number of seconds."""

from __future__ import annotations

import math
import re

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: object) -> float:
    """Return seconds; ValueError naming the bad value otherwise. Negative durations are refused."""
    if isinstance(text, bool):
        raise ValueError(f"bad duration {text!r} (use e.g. 90s, 20m, 1h)")
    if isinstance(text, (int, float)):
        if not math.isfinite(text):
            # nan would never reach a deadline (every comparison with it is false).
            raise ValueError(f"bad duration {text!r}: must be a finite number")
        if text < 0:
            raise ValueError(f"bad duration {text!r}: must not be negative")
        return float(text)
    raw = str(text).strip().lower()
    if raw.startswith("-"):
        raise ValueError(f"bad duration {text!r}: must not be negative")
    try:
        seconds = float(raw)  # also reads "nan" and "inf": the number rules above refuse them
    except ValueError:
        pass
    else:
        return parse_duration(seconds)
    pos, total = 0, 0.0
    for match in _PART.finditer(raw):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT[match.group(2)]
        pos = match.end()
    if pos != len(raw) or not raw:
        raise ValueError(f"bad duration {text!r} (use e.g. 90s, 20m, 1h30m)")
    return total


def format_duration(seconds: float) -> str:
    """Short human form: ``45s``, ``3m05s``, ``1h02m``."""
    if seconds < 10:
        return f"{seconds:.1f}s"
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"
