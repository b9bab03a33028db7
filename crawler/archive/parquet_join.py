"""One Parquet file joined from parts encoded apart, each a whole Parquet file in memory.

The export's workers encode and compress their rows into Parquet in parallel; the file
is their parts' pages, copied in as they are, and one footer that lists every part's
row groups, each moved to where its pages landed. A footer is Thrift's compact
protocol: it is read here field by field, what is not an offset is copied as it is,
and only the offsets, the row groups' ordinals and the row count change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO

MAGIC = b"PAR1"
COPY_BYTES = 1 << 20
"""The spooled row groups are copied into the file this much at a time."""

_STOP, _TRUE, _FALSE, _BYTE, _I16, _I32, _I64, _DOUBLE, _BINARY = range(9)
_LIST, _SET, _MAP, _STRUCT = 9, 10, 11, 12
_ANY = -1
"""A list element in a field's path."""

# Fields of a RowGroup that hold a place in the file (their paths from the RowGroup):
# its file_offset; each ColumnChunk's file_offset, offset and column index offsets; each
# ColumnMetaData's data, index and dictionary page offsets and bloom filter offset.
_OFFSETS = {(5,), (1, _ANY, 2), (1, _ANY, 4), (1, _ANY, 6)} | {
    (1, _ANY, 3, field) for field in (9, 10, 11, 14)
}
_ORDINAL = (7,)
_NUM_ROWS, _ROW_GROUPS = 3, 4  # FileMetaData's fields
_MAX_ORDINAL = 2**15 - 1


class ParquetPartError(ValueError):
    """A part that is not a Parquet file, or a footer this module cannot read."""


def split(part: bytes | memoryview) -> tuple[memoryview, bytes]:
    """A part's pages (all between its leading magic and its footer) and its footer."""
    view = memoryview(part)
    if len(view) < 12 or view[:4] != MAGIC or view[-4:] != MAGIC:
        raise ParquetPartError("not a Parquet file")
    length = int.from_bytes(view[-8:-4], "little")
    if length > len(view) - 12:
        raise ParquetPartError("its footer is longer than the file")
    start = len(view) - 8 - length
    return view[4:start], bytes(view[start:-8])


class Footer:
    """The joined file's footer: a part's footer without row groups as its base (the
    schema and its metadata), then each part's row groups moved as they are added.

    The row groups wait in a temporary file, not in memory: they are the footer's bulk
    (52 MB for ten million rows in 9,870 groups), and would grow with the export."""

    def __init__(self, base: bytes) -> None:
        import tempfile

        self.base = base
        self.groups = tempfile.TemporaryFile(prefix="crawler-export-footer-")  # noqa: SIM115 (closed on exit)
        self.count = 0
        self.rows = 0

    def __enter__(self) -> Footer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.groups.close()

    def add(self, footer: bytes, shift: int) -> None:
        """Add a part's row groups, its pages having landed ``shift`` bytes further into
        the file than in the part."""
        reader = _Reader(footer)
        for field, kind in reader.fields():
            if field == _NUM_ROWS and kind == _I64:
                self.rows += reader.zigzag()
            elif field == _ROW_GROUPS and kind == _LIST:
                count, element = reader.list_head()
                if count and element != _STRUCT:
                    raise ParquetPartError("row groups that are not structs")
                for _ in range(count):
                    out = bytearray()
                    reader.copy(_STRUCT, out, (), _mover(shift, self.count))
                    self.groups.write(out)
                    self.count += 1
            else:
                reader.skip(kind)

    def write(self, sink: BinaryIO) -> None:
        """Write the footer, its length and the closing magic to ``sink``."""
        reader = _Reader(self.base)
        out = bytearray()
        length = 0
        last = 0
        for field, kind in reader.fields():
            if field == _NUM_ROWS:
                reader.skip(kind)
                last = _head(out, field, _I64, last)
                _zigzag(out, self.rows)
            elif field == _ROW_GROUPS:
                reader.skip(kind)
                last = _head(out, field, _LIST, last)
                _list_head(out, self.count, _STRUCT)
                sink.write(out)
                length += len(out)
                out = bytearray()
                self.groups.seek(0)
                while block := self.groups.read(COPY_BYTES):
                    sink.write(block)
                    length += len(block)
            else:
                reader.skip(kind)
                last = _head(out, field, kind, last)
                out += reader.data[reader.value_start : reader.at]
        out.append(_STOP)
        length += len(out)
        sink.write(bytes(out) + length.to_bytes(4, "little") + MAGIC)


class _Reader:
    """Thrift compact protocol, read from ``data``."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0
        self.value_start = 0

    def byte(self) -> int:
        if self.at >= len(self.data):
            raise ParquetPartError("a footer cut short")
        value = self.data[self.at]
        self.at += 1
        return value

    def varint(self) -> int:
        shift = result = 0
        while True:
            value = self.byte()
            result |= (value & 0x7F) << shift
            if value < 0x80:
                return result
            shift += 7

    def zigzag(self) -> int:
        value = self.varint()
        return (value >> 1) ^ -(value & 1)

    def fields(self) -> _Fields:
        return _Fields(self)

    def list_head(self) -> tuple[int, int]:
        head = self.byte()
        count = head >> 4
        return (self.varint() if count == 15 else count), head & 0x0F

    def skip(self, kind: int) -> None:
        self.copy(kind, None, (), None)

    def copy(
        self,
        kind: int,
        out: bytearray | None,
        path: tuple[int, ...],
        change: Callable[[tuple[int, ...], int], int] | None,
    ) -> None:
        """Read one value of ``kind`` and write it to ``out`` (if any), its integers
        passed through ``change`` with their path of field ids."""
        start = self.at
        if kind in (_TRUE, _FALSE):
            return  # in a struct, the value is in the field's head
        if kind == _BYTE:
            self.at += 1
        elif kind == _DOUBLE:
            self.at += 8
        elif kind == _BINARY:
            length = self.varint()
            self.at += length
        elif kind in (_I16, _I32, _I64):
            value = self.zigzag()
            if out is not None and change is not None:
                _zigzag(out, change(path, value))
                return
        elif kind in (_LIST, _SET):
            count, element = self.list_head()
            if out is not None:
                out += self.data[start : self.at]
            for _ in range(count):
                if element in (_TRUE, _FALSE):  # a list's booleans are a byte each
                    self.at += 1
                    if out is not None:
                        out += self.data[self.at - 1 : self.at]
                else:
                    self.copy(element, out, (*path, _ANY), change)
            return
        elif kind == _MAP:
            count = self.varint()
            types = self.byte() if count else 0
            if out is not None:
                out += self.data[start : self.at]
            for _ in range(count):
                self.copy(types >> 4, out, (*path, _ANY), change)
                self.copy(types & 0x0F, out, (*path, _ANY), change)
            return
        elif kind == _STRUCT:
            last = 0
            while True:
                head = self.byte()
                if out is not None:
                    out.append(head)
                if head == _STOP:
                    return
                if head >> 4:
                    field = last + (head >> 4)
                else:
                    begin = self.at
                    field = self.zigzag()
                    if out is not None:
                        out += self.data[begin : self.at]
                last = field
                self.copy(head & 0x0F, out, (*path, field), change)
        else:
            raise ParquetPartError(f"a footer with an unknown Thrift type {kind}")
        if self.at > len(self.data):
            raise ParquetPartError("a footer cut short")
        if out is not None:
            out += self.data[start : self.at]


class _Fields:
    """The top-level fields of a struct: (field id, type); the caller reads or skips
    each value before asking for the next."""

    def __init__(self, reader: _Reader) -> None:
        self.reader = reader
        self.last = 0

    def __iter__(self) -> _Fields:
        return self

    def __next__(self) -> tuple[int, int]:
        reader = self.reader
        head = reader.byte()
        if head == _STOP:
            raise StopIteration
        self.last = self.last + (head >> 4) if head >> 4 else reader.zigzag()
        reader.value_start = reader.at
        return self.last, head & 0x0F


def _mover(shift: int, ordinal: int) -> Callable[[tuple[int, ...], int], int]:
    """What a row group's integers become: offsets moved by ``shift``, its ordinal its
    place in the file (when it fits Thrift's i16)."""

    def moved(path: tuple[int, ...], value: int) -> int:
        if path in _OFFSETS:
            return value + shift
        if path == _ORDINAL and ordinal <= _MAX_ORDINAL:
            return ordinal
        return value

    return moved


def _head(out: bytearray, field: int, kind: int, last: int) -> int:
    """Write a field's head (its id as a step from the last one when it can); its id."""
    if 0 < field - last <= 15:
        out.append((field - last) << 4 | kind)
    else:
        out.append(kind)
        _zigzag(out, field)
    return field


def _list_head(out: bytearray, count: int, element: int) -> None:
    if count < 15:
        out.append(count << 4 | element)
    else:
        out.append(0xF0 | element)
        _varint(out, count)


def _varint(out: bytearray, value: int) -> None:
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)


def _zigzag(out: bytearray, value: int) -> None:
    _varint(out, (value << 1) ^ (value >> 63))
