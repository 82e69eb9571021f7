"""A CJK font for the charts (issue #10.7), installed with the package: Noto Sans CJK SC from the
``mplfonts`` wheel.  matplotlib draws Chinese labels as boxes unless a font with the glyphs is both known
to its font manager and first in ``font.sans-serif``; ``mplfonts.use_font()`` alone still draws boxes, so
the font file is registered with ``fontManager.addfont`` and its family put first by `use_cjk_font`.
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

FONT_FILE = "NotoSansCJKsc-Regular.otf"  # in mplfonts/fonts/


def font_path() -> Path | None:
    """The font file of the installed mplfonts package (found without importing it), or None."""
    spec = importlib.util.find_spec("mplfonts")
    for root in (spec.submodule_search_locations or []) if spec else []:
        path = Path(root) / "fonts" / FONT_FILE
        if path.is_file():
            return path
    return None


_registered: dict[Path, str] = {}


def use_cjk_font() -> str | None:
    """Register the CJK font with matplotlib (once) and put its family first in ``font.sans-serif``;
    returns the family's name, or None with a warning when mplfonts is not installed (labels may then
    show as boxes)."""
    from matplotlib import font_manager, rcParams

    path = font_path()
    if path is None:
        warnings.warn("the mplfonts package is not installed: Chinese chart labels may show as boxes "
                      "(pip install mplfonts)", stacklevel=2)
        return None
    if path not in _registered:
        font_manager.fontManager.addfont(str(path))
        _registered[path] = font_manager.FontProperties(fname=str(path)).get_name()
    family = _registered[path]
    rcParams["font.family"] = "sans-serif"
    rcParams["font.sans-serif"] = [family, *[f for f in rcParams["font.sans-serif"] if f != family]]
    return family
