#!/usr/bin/env python3
"""Writes datasets/fashion-mnist-sample/ from a full Fashion-MNIST folder.

Keeps the first 2,000 training and the first 2,000 test images (and their labels), in the
official order, as gzip IDX files named as MNIST's are. Only the header's count changes;
every kept byte is copied unchanged. Standard library only; the output is byte-for-byte
reproducible (gzip mtime 0, no file name in the gzip header).

    python3 datasets/make_fashion_sample.py [SOURCE_DIR] [OUT_DIR]

SOURCE_DIR defaults to /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist
package); OUT_DIR to datasets/fashion-mnist-sample next to this script.
"""

import gzip
import hashlib
import os
import struct
import sys

KEEP = 2000
FILES = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
]


def read_idx(path):
    """The raw bytes of an IDX file, plain or .gz."""
    for candidate in (path + ".gz", path):
        if os.path.exists(candidate):
            opener = gzip.open if candidate.endswith(".gz") else open
            with opener(candidate, "rb") as f:
                return candidate, f.read()
    sys.exit(f"{path}(.gz) not found")


def first(data, where, count):
    """The IDX file `data` cut to its first `count` items, header count rewritten."""
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        sys.exit(f"{where}: not an unsigned-byte IDX file")
    dims = list(struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim]))
    if dims[0] < count:
        sys.exit(f"{where}: {dims[0]} items, fewer than {count}")
    item = 1
    for d in dims[1:]:
        item *= d
    start = 4 + 4 * ndim
    body = data[start : start + count * item]
    dims[0] = count
    return data[:4] + struct.pack(">" + "I" * ndim, *dims) + body


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    source = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist"
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "fashion-mnist-sample")
    os.makedirs(out, exist_ok=True)
    for name in FILES:
        where, data = read_idx(os.path.join(source, name))
        cut = first(data, where, KEEP)
        target = os.path.join(out, name + ".gz")
        # GzipFile with mtime=0 and an empty file name: the same input gives the same bytes.
        with open(target, "wb") as raw:
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
                gz.write(cut)
        print(f"{name}.gz  uncompressed MD5 {hashlib.md5(cut).hexdigest()}  "
              f"gz MD5 {hashlib.md5(open(target, 'rb').read()).hexdigest()}")


if __name__ == "__main__":
    main()
