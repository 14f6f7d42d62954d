#!/usr/bin/env python3
"""Regenerates the llama.cpp interchange fixtures gguf_input.npy, gguf_q4_0_*.npy and gguf_q8_0_*.npy with gguf-py, llama.cpp's
own Python package (its numpy quantizers reproduce ggml's quantize_row_q4_0_ref / q8_0_ref and dequantize_row).
The committed files are what tests/unit/grouped_weights_test.cpp checks against; gguf-py is needed only to
regenerate them:  pip download gguf==0.19.0 --no-deps && unzip gguf-0.19.0-*.whl -d gguf_pkg &&
PYTHONPATH=gguf_pkg /usr/bin/python3 tests/data/make_gguf_fixtures.py tests/data
"""
import sys
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType, quants

out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
rng = np.random.default_rng(20261121)
rows, k = 6, 128
w = rng.standard_normal((rows, k)).astype(np.float32)
w *= np.array([1e-3, 0.02, 1.0, 7.5, 300.0, 1.0], dtype=np.float32)[:, None]
# Edge blocks: all zero; the largest magnitude negative (d > 0) and positive (d < 0); fp16-subnormal scales; one
# outlier among small values.
w[5, 0:32] = 0.0
w[5, 32:64] = np.linspace(-1.0, 0.5, 32, dtype=np.float32)
w[5, 64:96] = np.linspace(-0.5, 1.0, 32, dtype=np.float32)
w[5, 96:128] = rng.standard_normal(32).astype(np.float32) * 1e-6
w[0, 0] = 0.5   # an outlier in row 0's first block
np.save(out / "gguf_input.npy", w)
for name, t in (("q4_0", GGMLQuantizationType.Q4_0), ("q8_0", GGMLQuantizationType.Q8_0)):
    blocks = quants.quantize(w, t)
    deq = quants.dequantize(blocks, t).astype(np.float32)
    np.save(out / f"gguf_{name}_blocks.npy", np.ascontiguousarray(blocks).astype(np.uint8))
    np.save(out / f"gguf_{name}_dequant.npy", deq.reshape(rows, k))
    print(name, blocks.shape, deq.shape)
