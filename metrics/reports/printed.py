"""Values as text, the way a report's source printed them: what the TSV files and Graphite paths carry.

Reportupdater never typed a value: it wrote back what it was given. A `type: hive` report was read
from the Hive CLI's output, so its TSV holds Hive's text (`true`, `3.0`, `1.0E7`); a `type: sql`
report held the values of a Python DB-API cursor, written with `str()`; a script's TSV holds the
text the script printed (read by the runner with Python's `csv` module, not typed). NULL is an
empty field in every case. The typed values go to the warehouse table only.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import struct
from typing import Any, Callable, Literal

import pyarrow as pa

Style = Literal["hive", "python"]

JAVA_PLAIN_RANGE = (1e-3, 1e7)
"""Java's Double/Float.toString write plain decimals in [10^-3, 10^7), computerized scientific
notation (`1.0E7`, `1.0E-4`) outside it."""


def java_double(value: float) -> str:
    """Java's `Double.toString` (the shortest-digits rule of JDK 19+), as Hive prints a DOUBLE."""
    return _java(value, _shortest_double)


def java_float(value: float) -> str:
    """Java's `Float.toString`, as Hive prints a FLOAT (the value read as a 32-bit float)."""
    return _java(_single(value), _shortest_float)


def _single(value: float) -> float:
    """`value` rounded to the nearest 32-bit float."""
    return float(struct.unpack("f", struct.pack("f", value))[0])


def _java(value: float, shortest: Callable[[float], tuple[str, int]]) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    value = abs(value)
    if value == 0:
        return sign + "0.0"
    digits, exponent = shortest(value)  # value ~ d.ddd x 10^exponent
    if JAVA_PLAIN_RANGE[0] <= value < JAVA_PLAIN_RANGE[1]:
        if exponent >= 0:
            whole = digits[: exponent + 1].ljust(exponent + 1, "0")
            return f"{sign}{whole}.{digits[exponent + 1 :] or '0'}"
        return f"{sign}0.{'0' * (-exponent - 1)}{digits}"
    return f"{sign}{digits[0]}.{digits[1:] or '0'}E{exponent}"


def _digits(scientific: str) -> tuple[str, int]:
    """`4.9e-324` -> ("49", -324), trailing zeros of the digits dropped."""
    mantissa, exponent = scientific.lower().split("e")
    digits = mantissa.replace(".", "").rstrip("0") or "0"
    return digits, int(exponent)


def _shortest_double(value: float) -> tuple[str, int]:
    """Python's shortest round-tripping digits (`repr`), which is Java's rule but for one digit."""
    _, digits, exponent = decimal.Decimal(repr(value)).as_tuple()
    text = "".join(map(str, digits)).rstrip("0") or "0"
    if len(text) == 1:
        # Java never writes fewer than two digits, and of those takes the one closest to the value
        # (Double.MIN_VALUE is 4.9E-324, where Python's shortest is 5e-324).
        return _digits(f"{value:.1e}")
    return text, int(exponent) + len(digits) - 1


def _shortest_float(value: float) -> tuple[str, int]:
    """The fewest digits (two at least, as Java writes) that read back as the same 32-bit float;
    each candidate is the closest decimal of its length, so the first that reads back is Java's."""
    for precision in range(2, 10):
        text = f"{value:.{precision - 1}e}"
        if _single(float(text)) == value:
            return _digits(text)
    return _digits(f"{value:.8e}")


def hive(value: Any, type_: pa.DataType) -> str | None:
    """A value as the Hive CLI prints it in a result column; None for NULL (an empty field)."""
    if value is None:
        return None
    if pa.types.is_boolean(type_):
        return "true" if value else "false"
    if pa.types.is_floating(type_):
        return java_float(value) if pa.types.is_float32(type_) or pa.types.is_float16(type_) else java_double(value)
    if pa.types.is_decimal(type_):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return _hive_timestamp(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if _is_nested(type_):
        return _hive_json(value, type_)
    return str(value)


def _hive_timestamp(value: dt.datetime) -> str:
    """`2026-11-01 05:00:00`, with a fraction only when there is one (Hive's Timestamp.toString)."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    return text + (f".{value.microsecond:06d}".rstrip("0") if value.microsecond else "")


def _is_nested(type_: pa.DataType) -> bool:
    return pa.types.is_list(type_) or pa.types.is_large_list(type_) or pa.types.is_fixed_size_list(type_) or pa.types.is_struct(type_) or pa.types.is_map(type_)


def _hive_json(value: Any, type_: pa.DataType) -> str:
    """Hive's JSON-like text of an array, map or struct (SerDeUtils.getJSONString): strings quoted and
    escaped, NULL inside as `null`, numbers and booleans as at the top level."""
    if value is None:
        return "null"
    if pa.types.is_map(type_):
        return "{" + ",".join(f"{_hive_json(k, type_.key_type)}:{_hive_json(v, type_.item_type)}" for k, v in value) + "}"
    if pa.types.is_struct(type_):
        return "{" + ",".join(f'"{field.name}":{_hive_json(value.get(field.name), field.type)}' for field in type_) + "}"
    if _is_nested(type_):
        return "[" + ",".join(_hive_json(item, type_.value_type) for item in value) + "]"
    if pa.types.is_string(type_) or pa.types.is_large_string(type_) or pa.types.is_date(type_) or pa.types.is_timestamp(type_):
        return '"' + _json_escape(hive(value, type_) or "") + '"'
    return hive(value, type_) or ""


def _json_escape(text: str) -> str:
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char in "\b\f\n\r\t":
            out.append("\\" + "bfnrt"["\b\f\n\r\t".index(char)])
        elif char < " ":
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return "".join(out)


def python(value: Any) -> str | None:
    """A value as Reportupdater wrote a DB-API cursor's: `str()`, None for NULL.

    A boolean, which MySQL never returned (it has 1 and 0), is written `true`/`false`, as the
    query's SQL dialect prints it, never Python's `True`.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def rows(table: pa.Table, style: Style, skip: int = 1) -> list[list[str | None]]:
    """Each row of `table` as text, from column `skip` on (the date column is written apart)."""
    columns = []
    for column in table.columns[skip:]:
        values = column.to_pylist()
        if style == "hive":
            columns.append([hive(v, column.type) for v in values])
        else:
            columns.append([python(v) for v in values])
    return [list(row) for row in zip(*columns)] if columns else [[] for _ in range(table.num_rows)]
