"""Charts as PNG images, rendered offline from their Vega-Lite spec with its data inline (vl-convert: no browser,
no network) — for a slide (the Metrics screen's PNG downloads) and for the weekly digest's mail. Chinese text needs
a CJK font on the machine: WenQuanYi Micro Hei (Debian's fonts-wqy-microhei) or any the system has."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import vl_convert as vlc

FONT_DIRS = ("/usr/share/fonts/truetype/wqy", "/usr/share/fonts/opentype/noto", "/usr/share/fonts/truetype")
_fonts_ready = False
_lock = threading.Lock()


def _register_fonts() -> None:
    global _fonts_ready
    with _lock:
        if _fonts_ready:
            return
        for folder in FONT_DIRS:
            if Path(folder).is_dir():
                vlc.register_font_directory(folder)
        _fonts_ready = True


def chart_png(chart: Any, *, scale: float = 2.0) -> bytes:
    """The altair chart `chart` as PNG bytes (`scale` 2: sharp on a slide and a high-density screen)."""
    _register_fonts()
    spec = chart.to_dict(format="vega-lite")
    return vlc.vegalite_to_png(spec, scale=scale)
