#!/usr/bin/python3
"""pymemcache's side of the compression interop (python3-pymemcache).

pymemcache 4 stores values through serde.CompressedSerde: zlib.compress()
of the serialized value when it is longer than min_compress_len (400) and
the result is not larger, marked with serde.FLAG_COMPRESSED (8). Debian's
pymemcache 3.5.2 has the flag but not the class; then the same serde is
written here from pymemcache's own parts (its client, FLAG_COMPRESSED,
FLAG_TEXT) and Python's zlib, exactly as pymemcache 4 does it.

  write SERVER      stores the test values with pymemcache and prints, per
                    key: "key flags-as-stored hex(serialized value)"
  read SERVER KEY.. reads each key with pymemcache and prints
                    "key flags-as-stored hex(value) same|differs", where
                    same means the stored bytes are zlib.compress() of the
                    value, byte for byte
"""
import random
import sys
import zlib

from pymemcache import serde
from pymemcache.client.base import Client


class Raw:
    """The inner serde: bytes as they are, str as UTF-8 with FLAG_TEXT;
    remembers the flags each read came with."""

    def __init__(self):
        self.flags = {}

    def serialize(self, key, value):
        if isinstance(value, str):
            return value.encode('utf-8'), serde.FLAG_TEXT
        return value, 0

    def deserialize(self, key, value, flags):
        self.flags[key] = flags
        return value


class CompressedSerde:
    """pymemcache 4's serde.CompressedSerde, for pymemcache 3."""

    def __init__(self, compress=zlib.compress, decompress=zlib.decompress,
                 serde=None, min_compress_len=400):
        self._serde = serde
        self._compress = compress
        self._decompress = decompress
        self._min_compress_len = min_compress_len

    def serialize(self, key, value):
        value, flags = self._serde.serialize(key, value)
        if len(value) > self._min_compress_len > 0:
            old_value = value
            value = self._compress(value)
            if len(old_value) < len(value):
                value = old_value
            else:
                flags |= serde.FLAG_COMPRESSED
        return value, flags

    def deserialize(self, key, value, flags):
        if flags & serde.FLAG_COMPRESSED:
            value = self._decompress(value)
        return self._serde.deserialize(key, value, flags)


def compressed_serde(inner):
    real = getattr(serde, 'CompressedSerde', None)
    cls = real if real is not None else CompressedSerde
    return cls(serde=inner)


def address(server):
    host, port = server.rsplit(':', 1)
    return host, int(port)


def client(server):
    """pymemcache with the compressed serde, and one that reads what the
    server holds, as it is."""
    raw = Raw()
    plain = Raw()
    return (Client(address(server), serde=compressed_serde(raw)), raw,
            Client(address(server), serde=plain), plain)


def values():
    text = ''.join('{"object": "photo-%04d.jpg", "bytes": %d}, ' % (i, i * 37)
                   for i in range(120))
    noise = random.Random(7).randbytes(2000)
    return [
        ('py-bytes', text.encode('ascii')),  # compressed, flags 8
        ('py-text', 'caf\u00e9 ' * 700),  # compressed, flags 16 | 8
        ('py-short', b'under min_compress_len'),  # stored as it is
        ('py-noise', noise),  # does not shrink: stored as it is
    ]


def mode_write(server):
    c, raw, stored, plain = client(server)
    for key, value in values():
        c.set(key, value, noreply=False)
        serialized, _ = raw.serialize(key, value)
        stored.get(key)
        print(key, plain.flags[key], serialized.hex())


def mode_read(server, keys):
    c, raw, stored, plain = client(server)
    for key in keys:
        value = c.get(key)
        if value is None:
            print(key, 'missing')
            continue
        as_stored = stored.get(key)
        same = 'same' if as_stored == zlib.compress(value) else 'differs'
        print(key, plain.flags[key], value.hex(), same)


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == 'write':
        mode_write(sys.argv[2])
    elif len(sys.argv) >= 4 and sys.argv[1] == 'read':
        mode_read(sys.argv[2], sys.argv[3:])
    else:
        raise SystemExit(__doc__)


if __name__ == '__main__':
    main()
