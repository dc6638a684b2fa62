"""The hand-written baseline: a length-prefixed msgpack echo over fds 3 and 4,
with no framework. SnakeBridge's figures are shown as ratios to this one."""

import os
import struct

import msgpack

LENGTH = struct.Struct("<I")


def main() -> None:
    buffer = bytearray()
    while True:
        while len(buffer) < 4:
            chunk = os.read(3, 1 << 16)
            if not chunk:
                return
            buffer += chunk
        (size,) = LENGTH.unpack_from(buffer)
        while len(buffer) < 4 + size:
            chunk = os.read(3, max(1 << 16, 4 + size - len(buffer)))
            if not chunk:
                return
            buffer += chunk
        value = msgpack.unpackb(bytes(buffer[4 : 4 + size]), raw=False)
        del buffer[: 4 + size]
        out = msgpack.packb(value, use_bin_type=True)
        os.writev(4, [LENGTH.pack(len(out)), out])


main()
