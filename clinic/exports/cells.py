"""How one value becomes one CSV cell that a spreadsheet reads as the same value.

Numbers keep a decimal point and no thousands separator, so a negative number stays a
number; dates and times are ISO 8601 in the clinic's time zone (named in the header, so the
cell itself stays a plain "YYYY-MM-DD HH:MM:SS" that Excel and LibreOffice parse as a date).
Text that a spreadsheet would run as a formula is neutralised with a leading single quote
(OWASP "CSV injection"): only text columns, never a number column.
"""

import datetime
from decimal import Decimal

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def text(value):
    if value is None:
        return ""
    value = str(value)
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value


def number(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        raise TypeError("A boolean is not a number column.")
    if isinstance(value, Decimal):
        # "f" never switches to exponent notation (Decimal("1E+1") would read as text).
        return format(value, "f")
    if isinstance(value, int | float):
        return str(value)
    raise TypeError(f"Not a number: {value!r}")


def yes_no(value):
    if value is None:
        return ""
    return "yes" if value else "no"


def date(value):
    return "" if value is None else value.isoformat()


def joined(values, separator="; "):
    """A list stored as JSON (tags, criteria) as one text cell."""
    return text(separator.join(str(v) for v in values or []))


class LocalClock:
    """Aware datetimes as wall-clock times in one time zone."""

    def __init__(self, tz):
        self.tz = tz

    def __call__(self, value):
        if value is None:
            return ""
        if not isinstance(value, datetime.datetime):
            raise TypeError(f"Not a datetime: {value!r}")
        return value.astimezone(self.tz).strftime("%Y-%m-%d %H:%M:%S")
