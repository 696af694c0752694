"""The API's JSON parser: DRF's, refusing bodies nested deeper than MAX_DEPTH."""

import io
import re

from rest_framework import exceptions
from rest_framework.parsers import JSONParser, get_encoding

MAX_DEPTH = 64
# A JSON string (its closing quote optional, so that an unterminated one runs to the end).
STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
BRACKET = re.compile(r"[\[\]{}]")


def nesting_over(text, limit):
    """True when arrays and objects in JSON text nest deeper than limit. A flat scan, since
    Python's json parser recurses and dies of RecursionError long before it says why."""
    depth = 0
    for bracket in BRACKET.finditer(STRING.sub("", text)):
        depth += 1 if bracket.group() in "[{" else -1
        if depth > limit:
            return True
    return False


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read()
        text = raw.decode(get_encoding(parser_context or {}), errors="replace")
        if nesting_over(text, MAX_DEPTH):
            raise exceptions.ParseError(f"JSON nested deeper than {MAX_DEPTH} levels is refused.")
        return super().parse(io.BytesIO(raw), media_type, parser_context)
