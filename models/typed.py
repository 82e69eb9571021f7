"""Numbers as a planner types them into a form or a command line: ``4%``, ``0.04``, ``+10%``, and the same
typed with a Chinese input method in full width (``４％``, ``＋１０％``, ``－２０％``) or with the minus sign
U+2212.  Only the width is folded: anything that is not a number after that is refused by
the caller, never read as a default."""

from __future__ import annotations

import math

# the full-width forms of ASCII (U+FF01..U+FF5E), the ideographic space and the minus sign U+2212; nothing
# else (NFKC would also turn a superscript ² into 2, and 4² into 42)
_FOLD = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20, 0x2212: ord("-")}


def plain(text: object) -> str:
    """``text`` with full-width digits, signs, point and percent folded to ASCII, spaces around removed."""
    return str(text).translate(_FOLD).strip()


def fraction(text: object) -> float:
    """``"4%"`` or ``"0.04"`` (full width too) as a float, 0.04; a ValueError for anything else, ``nan`` and
    ``inf`` included."""
    spec = plain(text)
    value = float(spec[:-1]) / 100 if spec.endswith("%") else float(spec)
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {spec!r}")
    return value
