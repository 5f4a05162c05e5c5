"""Raw input files as lines: plain text or gzip, recognised by its magic bytes (never by the name).

Every loader reads its files through `lines` (the pageview fast path through Arrow's own gzip
reader, which refuses the same damage, tested; `check_whole` then names it), so every compressed
input follows one policy:
a gzip file that is truncated or corrupt (cut short, a bad CRC, garbage in the deflate stream) is
refused whole. `CorruptInput` names the file, what is wrong and how many lines were readable;
the loader stores none of its rows (the tables keep what an earlier load of the same file stored)
and records the refusal in the quarantine (`quarantine.refuse`). Why whole and not the readable
lines: a dump cut short would store an hour with part of its views, a wrong number no later check
notices; refused, the hour stays as it was until the file is fetched again, and the error says so.
And the lines before the damage cannot be trusted either: deflate has no checksum but the CRC at
the end of each member, so bytes after damage inside a file may decode to plausible garbage
before zlib notices.
"""

from __future__ import annotations

import io
import zlib
from pathlib import Path
from typing import Any, BinaryIO, Iterator

from ingestion.summary import LoadSummary
from metrics.problems import InputError

GZIP_MAGIC = b"\x1f\x8b"
BUFFER = 1 << 20


class CorruptInput(InputError):
    """A compressed file that cannot be read to its end: refused whole.

    `readable` is the number of complete lines read before the damage.
    """

    def __init__(self, path: Path | str, what: str, readable: int):
        self.path = str(path)
        self.what = what
        self.readable = readable
        problem = InputError.at(
            path,
            f"{what}: {readable:,} line(s) readable before the damage; the file was refused whole, nothing of it stored",
            "fetch or copy the file again, then run again",
            line=readable + 1,
        ).problems
        super().__init__(problem)


class RefusedFiles(InputError):
    """Files of one load refused whole: one problem each; `summary` counts what the other files stored."""

    def __init__(self, refused: list[CorruptInput], summary: LoadSummary):
        super().__init__([p for exc in refused for p in exc.problems])
        self.refused = refused
        self.summary = summary


def is_gzip(path: Path | str) -> bool:
    """Whether the file starts with gzip's magic bytes."""
    with open(path, "rb") as handle:
        return handle.read(2) == GZIP_MAGIC


class _Damaged(Exception):
    """Raised inside the decompressing stream; `lines` turns it into `CorruptInput` with the line count."""


class Gunzip(io.RawIOBase):
    """The decompressed bytes of a gzip stream (several members allowed, as `cat a.gz b.gz` makes).

    zlib checks each member's header, CRC and length. Damage raises `_Damaged` once every byte
    before it has been returned: a truncated stream at its end, a corrupt one within 1 KiB of
    compressed input of the damage (the block is fed again in small steps to find it).
    """

    STEP = 1 << 10

    def __init__(self, raw: BinaryIO):
        self.raw = raw
        self.inflate = zlib.decompressobj(31)
        self.member_bytes = 0  # compressed bytes fed to the current member
        self.members = 1
        self.pending = b""
        self.offset = 0
        self.ended = False
        self.damage: str | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while self.offset >= len(self.pending):
            if self.damage:
                raise _Damaged(self.damage)
            if self.ended:
                return 0
            self.pending, self.offset = self._inflate(), 0
        n = min(len(buffer), len(self.pending) - self.offset)
        buffer[:n] = self.pending[self.offset : self.offset + n]
        self.offset += n
        return n

    def _inflate(self) -> bytes:
        chunk = self.raw.read(BUFFER)
        if not chunk:
            self.ended = True
            if self.member_bytes and not self.inflate.eof:
                self.damage = "truncated gzip stream (the file ends before the end of its compressed data)"
            return b""
        out: list[bytes] = []
        while chunk:
            try:
                piece = self._decompress(chunk)
            except zlib.error as exc:
                self.damage = self._what(exc)
                out.append(self._salvage(chunk))
                break
            out.append(piece)
            chunk = b""
            if self.inflate.eof:  # the member ended: what follows is another member, or nothing
                chunk = self.inflate.unused_data
                self.inflate = zlib.decompressobj(31)
                self.member_bytes = 0
                self.members += bool(chunk)
        return b"".join(out)

    def _decompress(self, chunk: bytes) -> bytes:
        self.before = self.inflate.copy()
        piece = self.inflate.decompress(chunk)
        self.member_bytes += len(chunk)
        return piece

    def _salvage(self, chunk: bytes) -> bytes:
        """The output of `chunk` up to the damage, fed again from the state before it, 1 KiB at a time."""
        inflate, out = self.before, []
        for start in range(0, len(chunk), self.STEP):
            try:
                out.append(inflate.decompress(chunk[start : start + self.STEP]))
            except zlib.error:
                break
            if inflate.eof:
                break
        return b"".join(out)

    def _what(self, exc: zlib.error) -> str:
        if self.members > 1 and self.member_bytes == 0:
            return "corrupt gzip file: bytes that are not gzip data follow the compressed data"
        return f"corrupt gzip stream ({str(exc).removeprefix('Error -3 while decompressing data: ')})"


def stream_lines(stream: BinaryIO, name: Path | str) -> Iterator[bytes]:
    """The lines of an open binary stream, plain or gzip (each with its `\\n`, as a binary file yields them).

    Gzip is recognised by its magic bytes; damage raises `CorruptInput` naming `name`, after the
    complete lines before it were yielded.
    """
    buffered = stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(stream, buffer_size=BUFFER)  # type: ignore[type-var]
    if buffered.peek(2)[:2] != GZIP_MAGIC:
        yield from buffered
        return
    complete = 0
    try:
        for line in io.BufferedReader(Gunzip(buffered), buffer_size=BUFFER):
            complete += line.endswith(b"\n")
            yield line
    except _Damaged as exc:
        raise CorruptInput(name, str(exc), complete) from None


def lines(path: Path | str) -> Iterator[bytes]:
    """The lines of a file, plain or gzip; see `stream_lines`. Damage raises `CorruptInput`."""
    with open(path, "rb", buffering=BUFFER) as handle:
        yield from stream_lines(handle, path)


def check_whole(path: Path | str) -> int:
    """Read a file to its end and return its number of lines; raises `CorruptInput` for a damaged gzip file."""
    return sum(1 for _ in lines(path))
