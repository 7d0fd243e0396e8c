"""MCAP records of a whole batch step at once, appended to ``rosbags``' MCAP writer.

``rosbags`` writes one message per call, a few microseconds of Python each, and indexes it
with a few more per message when the chunk closes; a batch step of 16 envs is about a hundred
messages. Here:

- :class:`MessageBlock` holds every message of one step whose byte layout never changes (the
  strings and array lengths are fixed: only stamps and numbers move) as one byte buffer of
  MCAP ``Message`` records, built once; a step writes its numbers into it with a few numpy
  assignments, one per field over all envs.
- :class:`McapAppender` appends such blocks (or lists of messages) to the writer's open
  chunk and keeps the chunk's message index as arrays, so closing a chunk writes its
  ``MessageIndex`` records with numpy too. The bytes are those ``rosbags`` writes itself
  (``test_recording.py`` compares whole bags).

MCAP layout (https://mcap.dev/spec): a record is ``opcode (u8), length (u64), body``; a
``Message`` body is ``channel (u16), sequence (u32), log_time (u64), publish_time (u64),
data``; all little endian.
"""

from __future__ import annotations

import struct
from collections import defaultdict
from io import BytesIO

import numpy as np

_MESSAGE = struct.Struct("<BQHIQQ")  # opcode 0x05, length, channel, sequence, log, publish
MESSAGE_HEAD = _MESSAGE.size  # 31 bytes before a message's data
_TIMES_AT = 15  # log_time, publish_time: 16 bytes from here in a Message record
_U8 = np.uint8
CHUNK_BYTES = 1 << 20  # rosbags closes a chunk past this size


class MessageBlock:
    """The MCAP ``Message`` records of fixed-layout messages, back to back in one buffer.

    Build it with :meth:`add` (one call per message, in the order they are to be written),
    then :meth:`fill` named fields and write :attr:`buf`. A field is a run of bytes at a fixed
    place in each message that has it; its rows are those messages, in the order they were
    added, so ``fill("position", array_of_shape_(n, ...))`` writes row ``i`` into the ``i``-th
    message that has the field. Every record's two times form the field ``"time"``.
    """

    def __init__(self):
        self._parts: list[bytes] = []
        self._slots: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self.cids: list[int] | np.ndarray = []
        self.starts: list[int] | np.ndarray = []
        self.size = 0

    def add(self, channel: int, data: bytes,
            **fields: tuple[int, int] | list[tuple[int, int]]) -> None:
        """Append a message of ``data`` (its template: zeros where the fields go) on
        ``channel``; ``fields``: name -> ``(offset in data, width in bytes)``, or a list of
        them (rows of that field in this message)."""
        start = self.size
        self._parts.append(_MESSAGE.pack(0x05, MESSAGE_HEAD - 9 + len(data), channel, 0, 0, 0))
        self._parts.append(data)
        self._slots["time"].append((start + _TIMES_AT, 16))
        for name, where in fields.items():
            for offset, width in (where if isinstance(where, list) else [where]):
                self._slots[name].append((start + MESSAGE_HEAD + offset, width))
        self.cids.append(channel)
        self.starts.append(start)
        self.size += MESSAGE_HEAD + len(data)

    def build(self) -> MessageBlock:
        """Freeze the layout: the buffer and each field's byte indices."""
        self.buf = np.frombuffer(b"".join(self._parts), _U8).copy()
        self.index = {}
        for name, slots in self._slots.items():
            widths = {width for _, width in slots}
            if len(widths) != 1:
                raise ValueError(f"field {name!r} has rows of different widths {sorted(widths)}")
            starts = np.array([at for at, _ in slots], np.int64)
            self.index[name] = starts[:, None] + np.arange(widths.pop())
        self.cids = np.array(self.cids, np.int64)
        self.starts = np.array(self.starts, np.int64)
        self.counts = channel_counts(self.cids)
        del self._parts, self._slots
        return self

    def repeat(self, times: int) -> MessageBlock:
        """A block of ``times`` copies of this one back to back (fields' rows copy by copy:
        several steps written at once)."""
        out = MessageBlock.__new__(MessageBlock)
        out.size, shifts = self.size * times, self.size * np.arange(times)
        out.buf = np.tile(self.buf, times)
        out.index = {name: (shifts[:, None, None] + index[None]).reshape(-1, index.shape[1])
                     for name, index in self.index.items()}
        out.cids = np.tile(self.cids, times)
        out.starts = (shifts[:, None] + self.starts[None]).ravel()
        out.counts = {cid: count * times for cid, count in self.counts.items()}
        return out

    def fill(self, name: str, values: np.ndarray) -> None:
        """Write ``values`` (rows x field width bytes, or any array of that many bytes per
        row, little endian) into field ``name``; one row broadcasts to all."""
        index = self.index[name]
        self.buf[index] = np.ascontiguousarray(values).view(_U8).reshape(-1, index.shape[1])


def channel_counts(cids: np.ndarray) -> dict[int, int]:
    """Messages per channel id."""
    return {int(c): int(k) for c, k in zip(*np.unique(cids, return_counts=True))}


class McapAppender:
    """Appends blocks of messages to ``rosbags``' MCAP ``Writer`` (uncompressed), keeping its
    counts, times and summary as its own ``write`` and ``close`` would.

    Used only when the writer has the attributes it relies on (rosbags 0.10 to 0.11);
    :meth:`attach` returns None otherwise and the bag is written message by message.
    """

    NEEDS = ("message_start_time", "message_end_time", "channel_stats", "chunk", "chunks",
             "bio", "close", "path")

    def __init__(self, writer, storage):
        self.writer, self.storage = writer, storage
        self._index: list[tuple[np.ndarray, ...]] = []  # (channels, stamps, offsets) per write
        self._counts: dict[int, int] = defaultdict(int)  # since the last fold into the writer
        self._start, self._end = 2**63 - 1, 0  # of the open chunk

    @classmethod
    def attach(cls, writer) -> McapAppender | None:
        storage = getattr(writer, "storage", None)
        ok = storage is not None and all(hasattr(storage, a) for a in cls.NEEDS) and \
            hasattr(storage.chunk, "msgs") and hasattr(storage.chunk, "bio") and \
            isinstance(getattr(writer, "counts", None), dict) and \
            writer.compression_mode.name == "NONE" and hasattr(writer, "metapath")
        return cls(writer, storage) if ok else None

    # --- messages -----------------------------------------------------------------------------
    def write_block(self, stamps: np.ndarray, block: MessageBlock) -> None:
        """Every message of ``block`` (filled), record ``k`` at time ``stamps[k]`` (ns,
        non-decreasing)."""
        bio = self.storage.chunk.bio
        if bio.tell() + block.size <= CHUNK_BYTES:  # the chunk takes it whole
            self._note(stamps, block.cids, bio.tell() + block.starts, block.counts)
            bio.write(block.buf)
        else:
            self._append(stamps, block.cids, block.starts, block.buf)

    def write(self, stamp: int, messages: list[tuple]) -> None:
        """``(connection, data)`` messages that share time ``stamp``."""
        parts, cids, starts, offset = [], [], [], 0
        for connection, data in messages:
            cids.append(connection.id)
            starts.append(offset)
            parts += (_MESSAGE.pack(0x05, MESSAGE_HEAD - 9 + len(data), connection.id, 0,
                                    stamp, stamp), data)
            offset += MESSAGE_HEAD + len(data)
        self._append(np.full(len(cids), stamp, np.uint64), np.array(cids, np.int64),
                     np.array(starts, np.int64), np.frombuffer(b"".join(parts), _U8))

    def _append(self, stamps: np.ndarray, cids: np.ndarray, starts: np.ndarray,
                buf: np.ndarray) -> None:
        """Records at ``starts`` of ``buf`` into the open chunk; like rosbags, a chunk closes
        right after the record that takes it past :data:`CHUNK_BYTES`."""
        ends = np.append(starts[1:], len(buf))
        first = 0
        while first < len(cids):
            bio = self.storage.chunk.bio
            shift = bio.tell() - starts[first]  # chunk offset of buf[0]
            over = np.flatnonzero(shift + ends[first:] > CHUNK_BYTES)
            stop = first + int(over[0]) + 1 if len(over) else len(cids)
            self._note(stamps[first:stop], cids[first:stop], shift + starts[first:stop],
                       channel_counts(cids[first:stop]))
            bio.write(buf[starts[first]:ends[stop - 1]])
            if len(over):
                self.close_chunk()
            first = stop

    def _note(self, stamps: np.ndarray, cids: np.ndarray, offsets: np.ndarray,
              counts: dict[int, int]) -> None:
        self._index.append((cids, stamps, offsets))
        for cid, count in counts.items():
            self._counts[cid] += count
        self._start = min(int(stamps.min()), self._start)
        self._end = max(int(stamps.max()), self._end)

    # --- chunks and summary -------------------------------------------------------------------
    def _fold(self) -> None:
        """The counts and times so far into the writer and its storage (their summary)."""
        storage, writer = self.storage, self.writer
        for cid, count in self._counts.items():
            storage.channel_stats[cid] += count
            writer.counts[cid] += count
        self._counts.clear()
        if self._index:
            storage.message_start_time = min(self._start, storage.message_start_time)
            storage.message_end_time = max(self._end, storage.message_end_time)
            writer.min_timestamp = min(self._start, writer.min_timestamp)
            writer.max_timestamp = max(self._end, writer.max_timestamp)

    def close_chunk(self) -> None:
        """Write the open chunk, its message indexes and keep its chunk index (what rosbags'
        ``close_chunk`` writes for an uncompressed chunk)."""
        self._fold()
        storage, chunk = self.storage, self.storage.chunk
        data, start, end = chunk.bio.getvalue(), self._start, self._end
        if self._index:
            cids = np.concatenate([c for c, _, _ in self._index])
            stamps = np.concatenate([s for _, s, _ in self._index]).astype(np.uint64)
            offsets = np.concatenate([o for _, _, o in self._index]).astype(np.uint64)
        else:
            cids = stamps = offsets = np.zeros(0, np.int64)
        out = storage.bio
        chunk_start = out.tell()
        out.write(struct.pack("<BQQQQIIQ", 0x06, 8 * 3 + 4 + 4 + 8 + len(data), start, end,
                              len(data), 0, 0, len(data)))
        out.write(data)
        chunk_end = out.tell()
        # one MessageIndex per channel, channels in the order of their first message
        channels, first = np.unique(cids, return_index=True)
        order = np.argsort(cids, kind="stable")  # by channel, in write order within one
        starts = np.searchsorted(cids[order], channels)
        stops = np.append(starts[1:], len(cids))
        pairs = np.empty((len(cids), 2), "<u8")
        pairs[:, 0], pairs[:, 1] = stamps[order], offsets[order]
        index_at = []
        for k in np.argsort(first):
            cid, rows = int(channels[k]), pairs[starts[k]:stops[k]]
            index_at.append((cid, out.tell()))
            out.write(struct.pack("<BQHI", 0x07, 2 + 4 + rows.nbytes, cid, rows.nbytes))
            out.write(rows.tobytes())
        rec = BytesIO()
        rec.write(struct.pack("<QQQQI", start, end, chunk_start, chunk_end - chunk_start,
                              10 * len(index_at)))
        for cid, at in index_at:
            rec.write(struct.pack("<HQ", cid, at))
        rec.write(struct.pack("<QIQQ", out.tell() - chunk_end, 0, len(data), len(data)))
        storage.chunks.append(rec)
        storage.chunk = type(chunk)(2**63 - 1, 0, BytesIO(), defaultdict(list))
        self._index, self._start, self._end = [], 2**63 - 1, 0

    def finish(self) -> None:
        """Close the last chunk and bring the writer's counts and times up to date (before
        its summary and metadata are written)."""
        if self.storage.chunk.bio.tell():
            self.close_chunk()
        self._fold()
