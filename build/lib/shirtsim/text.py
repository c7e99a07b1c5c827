"""Text from outside (ids, file and folder names, ``labels.csv`` names and values, upload names,
links) shown in places that render markdown, exactly as written.

Streamlit renders markdown in titles, captions, messages, button and widget labels: a file called
``[sale](https:evil.example).jpg`` would become a link, ``**x**`` bold, ``:red[x]`` red,
``$x$`` maths. :func:`markdown_literal` makes such text inert; ``st.text`` needs nothing.
"""

from __future__ import annotations

import re
import string

# GitHub-flavoured markdown (which Streamlit renders) turns www.x, http://x and a@b.c into links
# after escapes are resolved, so escaping cannot stop it: an invisible WORD JOINER (U+2060) after
# "www" (before "."), "@" and ":" (before "/") breaks each pattern and displays nothing.
AUTOLINK_TRIGGERS = re.compile(r"(?i)(www(?=\.)|@|:(?=/))")
WORD_JOINER = "\u2060"
# Control characters (C0, DEL, C1: a terminal may act on them), the line and paragraph separators
# (some renderers break lines there) and lone surrogates: what printable() writes as %XX.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def printable(text: str) -> str:
    """The printable, one-line form of outside text: a name or path from ``os.walk`` (ids: see
    :mod:`shirtsim.catalog.folder`), a label, an error quoting them, before it reaches a terminal.

    Undecodable bytes (U+DC80..U+DCFF) become ``%XX`` of the byte; control characters (C0, DEL
    and C1), U+2028/U+2029 and other lone surrogates become ``%XX`` of each UTF-8 byte; the rest
    is unchanged.  The result always encodes as UTF-8 and holds no line break.
    ``printable(printable(s)) == printable(s)``.
    """
    if _UNPRINTABLE.search(text) is None:
        return text
    return _UNPRINTABLE.sub(_percent, text)


def _percent(match: re.Match[str]) -> str:
    code = ord(match.group())
    data = bytes([code - 0xDC00]) if 0xDC80 <= code <= 0xDCFF else match.group().encode("utf-8", "surrogatepass")
    return "".join(f"%{b:02X}" for b in data)


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
