"""A figure's files besides its JSON: an HTML page on one shared plotly.js, and a PNG preview.

Previews are made by kaleido in a Chromium kept open for the process; without a Chromium they
are skipped with a log line, never failing the run.
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import shutil
import warnings
from typing import Any

from upath import UPath

from superstore_assets.engine.files import size_of, write_atomic

log = logging.getLogger(__name__)


PLOTLYJS = "plotly.min.js"


@functools.cache
def _plotlyjs() -> bytes:
    """plotly.js as this plotly ships it (3.5 MB), encoded once per process, not per figure."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs().encode()


def ensure_plotlyjs(folder: UPath) -> None:
    target = folder / PLOTLYJS
    script = _plotlyjs()
    if size_of(target) != len(script):
        write_atomic(target, script)


def find_browser() -> str | None:
    """A Chromium for kaleido: BROWSER_PATH if it is set, else one on the PATH."""
    candidate = os.environ.get("BROWSER_PATH")
    if candidate:
        return candidate if os.access(candidate, os.X_OK) else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@functools.cache
def _start_kaleido() -> None:
    """Keep one Chromium open for every preview of this process: 0.2 s an image, not 2 s."""
    import kaleido

    kaleido.start_sync_server(silence_warnings=True)
    atexit.register(kaleido.stop_sync_server, silence_warnings=True)


def png_preview(fig: Any) -> bytes | None:
    """A PNG of the figure through kaleido, or None (with a log line) without a browser."""
    browser = find_browser()
    if browser is None:
        log.info("no Chromium found (set BROWSER_PATH): figure previews skipped")
        return None
    os.environ.setdefault("BROWSER_PATH", browser)
    try:
        _start_kaleido()
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The kopts argument is ignored")
            return fig.to_image(format="png", width=900, height=500)
    except Exception as error:  # kaleido's failures are many and none should fail the run
        log.warning("figure preview failed, skipped: %s", error)
        return None
