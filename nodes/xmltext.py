"""Which characters XML 1.0 can carry: the one rule for text that reaches instance.xml, a
stylesheet parameter or a domain definition. Pure: no Django."""

import re

# XML 1.0 "Char": tab, newline, carriage return and the rest of Unicode but the C0 controls,
# the surrogates, U+FFFE and U+FFFF.
INCOMPATIBLE = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def incompatibility(text, what="This text"):
    """Why text cannot go into XML (naming the first character that cannot), or ""."""
    found = INCOMPATIBLE.search(text)
    if found is None:
        return ""
    return (
        f"{what} holds the character U+{ord(found.group()):04X} at position "
        f"{found.start() + 1}, which XML cannot carry: remove it."
    )


def xml_safe(text):
    """text with every character XML cannot carry replaced by U+FFFD."""
    return INCOMPATIBLE.sub("\ufffd", text)
