"""URL converters. ``<id:name>`` matches a database id: 1 .. 2**31-1, the range of the INTEGER primary keys
(lti_tool/db/models.py, migrations/). A larger number would make PostgreSQL raise NumericValueOutOfRange
(an HTTP 500); with this converter such a URL matches no route, which is a 404.

The range is in the converter's regex, not only in ``to_python``: werkzeug checks a rule's method before
converting, so a value refused only by ``to_python`` would answer 405 on a path with a GET and a POST rule.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter, Map

MAX_ID = 2**31 - 1


def positive_up_to(limit: int) -> str:
    """A regex matching exactly the decimal numbers 1..limit, written without leading zeros."""
    digits = str(limit)
    length = len(digits)
    options = [f"[1-9][0-9]{{0,{length - 2}}}"] if length > 1 else []  # the shorter numbers
    for i, digit in enumerate(digits):
        low = 1 if i == 0 else 0
        if int(digit) > low:
            rest = f"[0-9]{{{length - i - 1}}}" if i < length - 1 else ""
            options.append(f"{digits[:i]}[{low}-{int(digit) - 1}]{rest}")
    options.append(digits)
    return "(?:" + "|".join(options) + ")"


class IdConverter(IntegerConverter):
    """A database id: 1..``MAX_ID`` in ASCII digits without leading zeros; anything else does not match."""

    regex = positive_up_to(MAX_ID)

    def __init__(self, map: Map) -> None:
        super().__init__(map, min=1, max=MAX_ID)


def register(app: Flask) -> None:
    """Before any blueprint is registered, so their rules can use ``<id:...>``."""
    app.url_map.converters["id"] = IdConverter
