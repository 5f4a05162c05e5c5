"""Values as their source printed them: Java's number text (checked on a real JVM), Hive's and Python's."""

from __future__ import annotations

import datetime as dt
import decimal
import random
import struct
import subprocess
from pathlib import Path

import pyarrow as pa
import pytest

from metrics.reports import printed

# Known outputs of Java's Double.toString (the Javadoc's rules; the same on every JDK for these).
JAVA_DOUBLES = [
    (1e7, "1.0E7"),
    (0.001, "0.001"),
    (1.0e-4, "1.0E-4"),
    (123456.789, "123456.789"),
    (1 / 3, "0.3333333333333333"),
    (3.0, "3.0"),
    (0.1, "0.1"),
    (100.0, "100.0"),
    (9999999.0, "9999999.0"),
    (12345678.9, "1.23456789E7"),
    (0.00099, "9.9E-4"),
    (-2.5, "-2.5"),
    (0.0, "0.0"),
    (-0.0, "-0.0"),
    (5e-324, "4.9E-324"),
    (1.7976931348623157e308, "1.7976931348623157E308"),
    (float("nan"), "NaN"),
    (float("inf"), "Infinity"),
    (float("-inf"), "-Infinity"),
]
JAVA_FLOATS = [
    (0.1, "0.1"),
    (1 / 3, "0.33333334"),
    (1e7, "1.0E7"),
    (1e-4, "1.0E-4"),
    (16777216.0, "1.6777216E7"),
    (1.4e-45, "1.4E-45"),
    (2.5, "2.5"),
    (9999999.9, "1.0E7"),
]

JAVA_SOURCE = """
import java.io.*;
public class ToText {
    public static void main(String[] args) throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        for (String line; (line = in.readLine()) != null; ) {
            if (line.startsWith("F")) System.out.println(Float.toString(Float.intBitsToFloat(Integer.parseUnsignedInt(line.substring(1), 16))));
            else System.out.println(Double.toString(Double.longBitsToDouble(Long.parseUnsignedLong(line, 16))));
        }
    }
}
"""
JVMS = {17: Path("/usr/lib/jvm/java-17-openjdk-amd64/bin/java"), 25: Path("/usr/lib/jvm/temurin-25-jdk-amd64/bin/java")}


def java_text(java: Path, tmp_path: Path, doubles: list[float], floats: list[float]) -> list[str]:
    """What a real JVM prints for each value (doubles first, then floats), passed bit for bit."""
    source = tmp_path / "ToText.java"
    source.write_text(JAVA_SOURCE)
    lines = [struct.pack(">d", v).hex() for v in doubles] + ["F" + struct.pack(">f", v).hex() for v in floats]
    result = subprocess.run([str(java), str(source)], input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=120, check=True)
    return result.stdout.splitlines()


def jvm(version: int) -> Path:
    java = JVMS[version]
    if not java.exists():
        pytest.skip(f"no Java {version} at {java}")
    return java


def test_known_java_outputs() -> None:
    assert [(v, printed.java_double(v)) for v, _ in JAVA_DOUBLES] == JAVA_DOUBLES
    assert [(v, printed.java_float(v)) for v, _ in JAVA_FLOATS] == JAVA_FLOATS


def test_known_outputs_agree_with_a_real_jvm(tmp_path: Path) -> None:
    got = java_text(jvm(17), tmp_path, [v for v, _ in JAVA_DOUBLES], [v for v, _ in JAVA_FLOATS])
    assert got == [t for _, t in JAVA_DOUBLES + JAVA_FLOATS]


def test_every_bit_pattern_as_a_current_jvm_prints_it(tmp_path: Path) -> None:
    """Random doubles and floats of every magnitude, and report-like values, against Java 25.

    Java 19 made Double.toString the shortest text that reads back (JDK-4511638); Java 8-18 add
    a digit to some doubles of 17 significant digits at 10^16 and above, where report values
    hardly go, and print 1e23 as 9.999999999999999E22. The rule implemented is the current one.
    """
    rng = random.Random(12)
    doubles = [1e23, 2e23] + [struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0] for _ in range(4000)]
    doubles += [10 ** rng.uniform(-12, 12) for _ in range(2000)] + [rng.randint(0, 10**6) / rng.randint(1, 10**4) for _ in range(2000)]
    floats = [struct.unpack("f", struct.pack("I", rng.getrandbits(32)))[0] for _ in range(2000)] + [rng.uniform(0, 1000) for _ in range(1000)]
    got = java_text(jvm(25), tmp_path, doubles, floats)
    mine = [printed.java_double(v) for v in doubles] + [printed.java_float(v) for v in floats]
    assert [(g, m) for g, m in zip(got, mine) if g != m] == []
    assert len(got) == len(mine)


def test_report_like_values_agree_with_java_17(tmp_path: Path) -> None:
    """Below 10^16 the old and the new Java rule agree: ratios, shares, averages, counts as doubles."""
    rng = random.Random(5)
    doubles = [rng.randint(0, 10**9) / rng.randint(1, 10**5) for _ in range(3000)] + [10 ** rng.uniform(-9, 15) for _ in range(3000)]
    doubles += [float(rng.randint(0, 10**12)) for _ in range(1000)] + [round(rng.uniform(0, 100), rng.randint(0, 6)) for _ in range(1000)]
    got = java_text(jvm(17), tmp_path, doubles, [])
    assert [(v, g) for v, g in zip(doubles, got) if g != printed.java_double(v)] == []


def column(values: list, type_: pa.DataType) -> list[str | None]:
    table = pa.table({"date": pa.array([dt.date(2026, 11, 1)] * len(values)), "x": pa.array(values, type_)})
    return [row[0] for row in printed.rows(table, "hive")]


def test_hive_prints_each_type() -> None:
    assert column([True, False, None], pa.bool_()) == ["true", "false", None]
    assert column([3.0, 1e7, 1e-4, None], pa.float64()) == ["3.0", "1.0E7", "1.0E-4", None]
    assert column([0.1], pa.float32()) == ["0.1"]
    assert column([7, -1], pa.int64()) == ["7", "-1"]
    assert column([decimal.Decimal("2.50"), decimal.Decimal("0.00001")], pa.decimal128(10, 5)) == ["2.50000", "0.00001"]
    assert column(["a b", 'say "hi"'], pa.string()) == ["a b", 'say "hi"']
    assert column([dt.date(2026, 11, 1)], pa.date32()) == ["2026-11-01"]
    assert column([dt.datetime(2026, 11, 1, 5), dt.datetime(2026, 11, 1, 5, 0, 0, 500000)], pa.timestamp("us")) == [
        "2026-11-01 05:00:00",
        "2026-11-01 05:00:00.5",
    ]
    # arrays, maps and structs as Hive's JSON-like text: strings quoted, NULL inside is null
    assert column([["a", None, 'q"'], []], pa.list_(pa.string())) == ['["a",null,"q\\""]', "[]"]
    assert column([[1.0, 1e7]], pa.list_(pa.float64())) == ["[1.0,1.0E7]"]
    assert column([{"is_bot": False, "n": None}], pa.struct([("is_bot", pa.bool_()), ("n", pa.int64())])) == ['{"is_bot":false,"n":null}']
    assert column([[("k", 1)]], pa.map_(pa.string(), pa.int64())) == ['{"k":1}']


def test_python_style_is_str_of_the_cursor_values() -> None:
    table = pa.table(
        {
            "date": [dt.date(2026, 11, 1)] * 2,
            "f": [1e7, None],
            "b": [True, False],
            "d": pa.array([decimal.Decimal("2.50"), decimal.Decimal("1.00")], pa.decimal128(5, 2)),
            "i": [5, 6],
        }
    )
    assert printed.rows(table, "python") == [["10000000.0", "true", "2.50", "5"], [None, "false", "1.00", "6"]]
