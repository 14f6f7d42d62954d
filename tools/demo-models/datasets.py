"""Loaders for the demo datasets from Debian's packages, shared by train.py and prepare.py (numpy only).

Fashion-MNIST: /usr/share/datasets/fashion-mnist/*-idx?-ubyte.gz (dataset-fashion-mnist), images as pixel / 255.
Digits: the 8x8 digits of UCI, as shipped in python3-sklearn (sklearn/datasets/data/digits.csv.gz), pixel / 16;
a fixed split (seeded permutation): 1347 training images, 450 test images.
"""
import gzip
import os

import numpy as np

FASHION_DIR = os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
DIGITS_CSV = os.environ.get("DIGITS_CSV", "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz")


def _idx(path, magic, dims):
    with gzip.open(path, "rb") as f:
        data = f.read()
    got = int.from_bytes(data[0:4], "big")
    if got != magic:
        raise SystemExit(f"{path}: not an IDX file of the expected kind (magic {got:#x}, expected {magic:#x})")
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims)
    if arr.size != int(np.prod(shape)):
        raise SystemExit(f"{path}: truncated ({arr.size} bytes of data for shape {shape})")
    return arr.reshape(shape)


def fashion_mnist(split):
    prefix = "train" if split == "train" else "t10k"
    images = _idx(os.path.join(FASHION_DIR, f"{prefix}-images-idx3-ubyte.gz"), 0x803, 3)
    labels = _idx(os.path.join(FASHION_DIR, f"{prefix}-labels-idx1-ubyte.gz"), 0x801, 1)
    x = (images.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
    return np.ascontiguousarray(x), labels.astype(np.int64)


def digits_split():
    raw = np.loadtxt(DIGITS_CSV, delimiter=",", dtype=np.float32)
    x = (raw[:, :64] / 16.0).reshape(-1, 1, 8, 8).astype(np.float32)
    y = raw[:, 64].astype(np.int64)
    perm = np.random.RandomState(7).permutation(len(x))
    train, test = perm[:1347], perm[1347:]
    return (np.ascontiguousarray(x[train]), y[train], np.ascontiguousarray(x[test]), y[test])
