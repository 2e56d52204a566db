#!/usr/bin/env python3
"""Write the small golden .npy files that tests/test_npy.c reads.

Each good file holds value(k) for its k-th element in C (logical) order,
k = 0, 1, 2, ..., so the test can check it without NumPy:
    float dtypes:     k * 0.25 - 3
    signed integers:  k - 5
    unsigned:         k * 3
The bad files are written by NumPy itself, so the reader is held against
what NumPy really produces.  Run from anywhere: python3 make_golden.py
"""
import os

import numpy as np
from numpy.lib import format as npf

HERE = os.path.dirname(os.path.abspath(__file__))


def values(shape, dtype):
    k = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    kind = np.dtype(dtype).kind
    if kind == "f":
        v = k * 0.25 - 3
    elif kind == "i":
        v = k - 5
    else:
        v = k * 3
    return v.astype(dtype)


def save(name, arr, version=None):
    with open(os.path.join(HERE, name), "wb") as f:
        npf.write_array(f, arr, version=version, allow_pickle=True)


def main():
    save("good_f4_c.npy", values((3, 4), "<f4"))
    save("good_f8_be_fortran.npy", np.asfortranarray(values((5, 3), ">f8")))
    save("good_f2_3d.npy", values((4, 2, 3), "<f2"))
    save("good_f4_fortran_3d.npy",
         np.asfortranarray(values((3, 2, 4), "<f4")))
    save("good_i2_be.npy", values((6,), ">i2"))
    save("good_u8.npy", values((2, 5), "<u8"))
    save("good_i1.npy", values((7, 1), "|i1"))
    save("good_v2.npy", values((2, 3), "<f8"), version=(2, 0))
    save("good_v3.npy", values((2, 3), "<f8"), version=(3, 0))
    save("labels_i8.npy", np.array([0, 3, 1, 9, 3], dtype="<i8"))
    save("labels_f4_col.npy", np.array([[2], [0], [7]], dtype="<f4"))

    save("bad_object.npy", np.array([1, "a", None], dtype=object))
    save("bad_structured.npy",
         np.zeros(3, dtype=[("a", "<f4"), ("b", "<i2")]))
    save("bad_complex.npy", np.zeros(3, dtype="<c16"))
    save("bad_bool.npy", np.zeros(3, dtype="|b1"))
    save("bad_string.npy", np.array(["ab", "cd"]))
    save("bad_0d.npy", np.array(1.5))
    with open(os.path.join(HERE, "good_f4_c.npy"), "rb") as f:
        blob = f.read()
    with open(os.path.join(HERE, "bad_truncated.npy"), "wb") as f:
        f.write(blob[:-3])


if __name__ == "__main__":
    main()
