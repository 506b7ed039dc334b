"""Charts drawn with matplotlib as SVG elements to put inline in a page (the plots page, the
drift page): no script, no link, text kept as text, and the same input gives the same bytes.
matplotlib is imported when a chart is drawn: commands that draw nothing never load it.
Labels come from data: they are cut to LONGEST characters and never read as math."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes

COLORS = ("#0969da", "#cf222e", "#1a7f37", "#8250df", "#bc4c00", "#57606a")
LONGEST = 40  # characters of a label from data; a longer one ends in an ellipsis
RC_PARAMS = {  # matplotlib settings for every chart
    "svg.fonttype": "none",  # text stays text: small files, labels that can be selected
    "svg.hashsalt": "svg_chart",  # ids from content, not random: the same input, the same bytes
    "text.parse_math": False,  # a label like `$x^2$` is shown as written
    "date.converter": "concise",  # a date axis: months (or days) along it, and the year
    "font.sans-serif": ["DejaVu Sans"],  # matplotlib's own; the reader's sans-serif if missing
    "font.size": 9,
    "text.color": "#1f2328",
    "axes.labelcolor": "#1f2328",
    "axes.edgecolor": "#8c959f",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#d0d7de",
    "grid.linewidth": 0.6,
    "xtick.color": "#57606a",
    "ytick.color": "#57606a",
    "legend.frameon": False,
}
# No creation date (the same bytes every time) and no links to matplotlib.org in the page.
NO_METADATA = dict.fromkeys(("Creator", "Date", "Format", "Type"))


def cut(label: Any, longest: int = LONGEST) -> str:
    text = str(label)
    return text if len(text) <= longest else text[: longest - 1] + "…"


def svg(draw: Callable[[Axes], object], width: float = 5.6, height: float = 3.4) -> str:
    """What `draw` puts on one pair of axes, as an <svg> element of `width` x `height` inches.

    The page's CSS lets it shrink to its card (`svg { max-width: 100%; height: auto; }`).
    """
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    buffer = io.StringIO()
    with rc_context(RC_PARAMS):
        figure = Figure(figsize=(width, height), layout="constrained")
        draw(figure.add_subplot())
        figure.savefig(buffer, format="svg", metadata=NO_METADATA)
    text = buffer.getvalue()
    element = text[text.index("<svg ") :]  # no XML declaration or DOCTYPE inside HTML
    # nor namespaces: the HTML parser knows SVG's (and they read as links to fetch)
    element = re.sub(r' (?:xmlns(?::xlink)?|version)="[^"]*"', "", element, count=3)
    return element.replace("<svg ", '<svg role="img" ', 1)
