#!/usr/bin/python3
"""Writes the demo's evaluation and calibration arrays as .npy from Debian's dataset packages (numpy only).

    /usr/bin/python3 tools/demo-models/prepare.py OUT_DIR

OUT_DIR/fmnist_test_x.npy   (10000, 1, 28, 28) float32, pixel / 255   fmnist_test_y.npy  (10000,) int32
OUT_DIR/fmnist_calib_x.npy  (1000, 1, 28, 28) float32: the first 1000 training images   fmnist_calib_y.npy
OUT_DIR/digits_test_x.npy   (450, 1, 8, 8) float32, pixel / 16          digits_test_y.npy  (450,) int32
OUT_DIR/digits_calib_x.npy  (500, 1, 8, 8): the first 500 training images of the fixed split   digits_calib_y.npy
Calibration images come from the training sets, so the evaluation images stay unseen. Files that exist are kept.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import datasets  # noqa: E402


def save(out, name, array):
    path = os.path.join(out, name)
    if not os.path.exists(path):
        np.save(path, array)


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    tx, ty = datasets.fashion_mnist("test")
    cx, cy = datasets.fashion_mnist("train")
    save(out, "fmnist_test_x.npy", tx)
    save(out, "fmnist_test_y.npy", ty.astype(np.int32))
    save(out, "fmnist_calib_x.npy", np.ascontiguousarray(cx[:1000]))
    save(out, "fmnist_calib_y.npy", cy[:1000].astype(np.int32))
    dtx, dty, dvx, dvy = datasets.digits_split()
    save(out, "digits_test_x.npy", dvx)
    save(out, "digits_test_y.npy", dvy.astype(np.int32))
    save(out, "digits_calib_x.npy", np.ascontiguousarray(dtx[:500]))
    save(out, "digits_calib_y.npy", dty[:500].astype(np.int32))
    print(f"prepare: evaluation and calibration arrays in {out}")


if __name__ == "__main__":
    main()
