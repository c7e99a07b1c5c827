"""Text from outside made inert for markdown (shirtsim.text)."""

from shirtsim.text import WORD_JOINER, markdown_literal, unlinked


def test_punctuation_is_escaped_and_control_characters_printable():
    assert markdown_literal("**x** [y](z)\n$1_2$") == "\\*\\*x\\*\\* \\[y\\]\\(z\\)\\%0A\\$1\\_2\\$"
    assert markdown_literal(b"caf\xe9".decode("utf-8", "surrogateescape")) == "caf\\%E9"


def test_web_and_mail_addresses_are_never_linked():
    # GitHub-flavoured markdown links these after escapes are resolved: an invisible word joiner
    # after each trigger breaks the pattern (checked in chromium: tests/test_browser.py)
    assert markdown_literal("www.evil.example") == f"www{WORD_JOINER}\\.evil\\.example"
    assert markdown_literal("WWW.x.example") == f"WWW{WORD_JOINER}\\.x\\.example"
    assert markdown_literal("a@b.example") == f"a\\@{WORD_JOINER}b\\.example"
    assert markdown_literal("https://x.example") == f"https\\:{WORD_JOINER}\\/\\/x\\.example"
    assert markdown_literal("wwwx.example") == "wwwx\\.example"  # not a trigger: unchanged
    assert unlinked("mailto:a@b.c") == f"mailto:a@{WORD_JOINER}b.c"
    assert unlinked("Selected: 1050") == "Selected: 1050"  # other colons stay as they are
