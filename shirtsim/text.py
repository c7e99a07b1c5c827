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

# GitHub-flavoured markdown (which Streamlit renders) turns www.x, http://x and a@b.c into links
# after escapes are resolved, so escaping cannot stop it: an invisible WORD JOINER (U+2060) after
# "www" (before "."), "@" and ":" (before "/") breaks each pattern and displays nothing.
AUTOLINK_TRIGGERS = re.compile(r"(?i)(www(?=\.)|@|:(?=/))")
WORD_JOINER = "\u2060"


def markdown_literal(text: object) -> str:
    """``text`` as markdown that displays exactly ``text``: every ASCII punctuation character is
    backslash-escaped (CommonMark allows that for all of them, and Streamlit's directives, emoji
    codes and maths then stay text too), web and mail addresses are not linked (see
    :data:`WORD_JOINER`), and undecodable bytes and control characters (line breaks too) take the
    catalog's printable ``%XX`` form, as ids do."""
    flat = unlinked(printable(str(text)))
    return "".join("\\" + ch if ch in string.punctuation else ch for ch in flat)


def unlinked(text: str) -> str:
    """``text`` with a :data:`WORD_JOINER` after each autolink trigger: what the page displays."""
    return AUTOLINK_TRIGGERS.sub(lambda m: m.group(0) + WORD_JOINER, text)
