#!/usr/bin/python3
# Writes the .npy fixtures in this folder with real numpy, for tests/unit/tensor_io_test.cpp, which checks every
# element against the same formulas. Deterministic: rerunning it reproduces the files byte for byte.
# Run with Debian's python (python3-numpy): /usr/bin/python3 tests/data/make_npy_fixtures.py
import os

import numpy as np
import numpy.lib.format as npf

HERE = os.path.dirname(os.path.abspath(__file__))


def path(name):
    return os.path.join(HERE, name)


def f32_formula(n):
    # Multiples of 1/8 in [-1.375, 1.375]: exact in float32, so C++ can recompute them bit for bit.
    i = np.arange(n)
    return (((i * 37) % 23 - 11) * 0.125).astype(np.float32)


def main():
    # f32_3x5.npy: '<f4', shape (3, 5), C order; element i (flat) = ((i*37) % 23 - 11) / 8.
    np.save(path("f32_3x5.npy"), f32_formula(15).reshape(3, 5))

    # f16_7.npy: '<f2', shape (7,); element i = ((i*5) % 13 - 6) / 2 + 1/1024, rounded to binary16 by numpy
    # (the test holds the resulting bit patterns, since C++ has no binary16 type to recompute them with).
    i = np.arange(7)
    np.save(path("f16_7.npy"), (((i * 5) % 13 - 6) / 2 + 1 / 1024).astype(np.float16))

    # i8_2x3x4.npy: '|i1', shape (2, 3, 4); element i = (i*29) % 256 - 128.
    i = np.arange(24)
    np.save(path("i8_2x3x4.npy"), ((i * 29) % 256 - 128).astype(np.int8).reshape(2, 3, 4))

    # u8_4.npy: '|u1', shape (4,); element i = (i*97 + 3) % 256.
    i = np.arange(4)
    np.save(path("u8_4.npy"), ((i * 97 + 3) % 256).astype(np.uint8))

    # i32_3x2.npy: '<i4', shape (3, 2); element i = int32 wrap of uint32(i * 2654435761) (Knuth's hash).
    i = np.arange(6, dtype=np.uint64)
    np.save(path("i32_3x2.npy"), ((i * 2654435761) % 2**32).astype(np.uint32).view(np.int32).reshape(3, 2))

    # f32_fortran_3x4.npy: '<f4', shape (3, 4), fortran_order True (column-major on disk);
    # logical element [r][c] = r*10 + c + 0.5.
    r, c = np.meshgrid(np.arange(3), np.arange(4), indexing="ij")
    a = np.asfortranarray((r * 10 + c + 0.5).astype(np.float32))
    assert a.flags.f_contiguous and not a.flags.c_contiguous
    np.save(path("f32_fortran_3x4.npy"), a)

    # f32_v2_2x2.npy: format version 2.0 (4-byte header length); '<f4', shape (2, 2), f32 formula elements 0..3.
    with open(path("f32_v2_2x2.npy"), "wb") as f:
        npf.write_array(f, f32_formula(4).reshape(2, 2), version=(2, 0))

    # f32_v3_2x3.npy: format version 3.0 (utf-8 header); '<f4', shape (2, 3), f32 formula elements 0..5.
    with open(path("f32_v3_2x3.npy"), "wb") as f:
        npf.write_array(f, f32_formula(6).reshape(2, 3), version=(3, 0))

    # i32_scalar.npy: '<i4', shape () (a 0-d array), value -123456.
    np.save(path("i32_scalar.npy"), np.array(-123456, dtype=np.int32))

    # f32_bigendian_3.npy: '>f4', shape (3,), values 1, 2, 3; must be rejected as big-endian.
    np.save(path("f32_bigendian_3.npy"), np.array([1, 2, 3], dtype=">f4"))

    # f64_3.npy: '<f8', shape (3,), values 1, 2, 3; must be rejected as an unsupported dtype.
    np.save(path("f64_3.npy"), np.array([1, 2, 3], dtype="<f8"))


if __name__ == "__main__":
    main()
