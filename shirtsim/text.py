"""Text from outside (ids, file and folder names, ``labels.csv`` names and values, upload names,
links) shown in places that render markdown, exactly as written.

Streamlit renders markdown in titles, captions, messages, button and widget labels: a file called
``[sale](https:evil.example).jpg`` would become a link, ``**x**`` bold, ``:red[x]`` red,
``$x$`` maths. :func:`markdown_literal` makes such text inert; ``st.text`` needs nothing.
"""

from __future__ import annotations

import re
import string

from .catalog import printable

_LINE_BREAKS = re.compile(r"[\r\n\t\v\f]")


def markdown_literal(text: object) -> str:
    """``text`` as markdown that displays exactly ``text``: every ASCII punctuation character is
    backslash-escaped (CommonMark allows that for all of them, and Streamlit's directives, emoji
    codes and maths then stay text too), line breaks become spaces, and names that are not valid
    UTF-8 take the catalog's printable form."""
    flat = _LINE_BREAKS.sub(" ", printable(str(text)))
    return "".join("\\" + ch if ch in string.punctuation else ch for ch in flat)
