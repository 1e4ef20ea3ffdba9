"""Making untrusted strings (from AWS or users) safe to print on one line."""

from __future__ import annotations

import re

# C0/C1 control characters and ANSI escape sequences; tab and newline are handled separately.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]")
# Also lone surrogates (a JSON "\\ud800" escape decodes to one) and U+FFFE/U+FFFF: none of
# them is an XML character, and one would make the JUnit file unreadable.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_NEWLINES = re.compile(r"[\r\n\u2028\u2029\x85]+")


def clean(text: object, limit: int = 4000) -> str:
    """Drop ANSI escapes and control characters, keep newlines, cut to ``limit`` characters."""
    value = _CONTROL.sub("", _ANSI.sub("", str(text)))
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return value


def one_line(text: object, limit: int = 500) -> str:
    """``clean`` plus newlines folded into " / ", so a value can never start a new output line.

    Also breaks ``##[``: GitHub's runner still parses the legacy ``##[command]`` form anywhere in
    a line. (The ``::command::`` form only counts at the start of a line, and every line soc2gate
    prints starts with a fixed marker of its own, so ``::`` inside a value is harmless.)
    """
    folded = _NEWLINES.sub(" / ", str(text)).replace("\t", " ").replace("##[", "#\u200b#[")
    return clean(folded, limit)
