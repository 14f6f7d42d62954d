// INT8 GEMM helpers shared by kernels/gemm/gemm_i8_*.cl: byte unpacking of packed words, the multiply-accumulate,
// the zero-point correction and the three epilogues (int32, requantize, dequantize). Needs VW and the problem
// defines A_TYPE, B_TYPE, EPILOGUE, OUT_TYPE, HAS_BIAS, RELU before inclusion. Helpers are plain functions, not
// `inline`: clang-based GPU compilers at -O0 (-cl-opt-disable) emit no body for an OpenCL C 1.1 `inline` function
// and the program fails to link (PoCL hides this: it builds with -Dinline=).
#ifndef ELLESMERE_COMMON_INT8_H
#define ELLESMERE_COMMON_INT8_H

// The epilogues' float steps must round once each, exactly as the host reference does.
#pragma OPENCL FP_CONTRACT OFF

#include "common/vector.h"
#include "ellesmere/formats/int8_gemm.h"

#ifndef __ENDIAN_LITTLE__
#error "the packed INT8 formats assume a little-endian device"
#endif

#ifndef A_TYPE
#define A_TYPE ELLESMERE_QTYPE_U8   // activations: u8 (PyTorch/ORT dynamic quantization) or i8
#endif
#ifndef B_TYPE
#define B_TYPE ELLESMERE_QTYPE_I8   // weights: i8 (symmetric per channel, the usual) or u8
#endif
#ifndef EPILOGUE
#define EPILOGUE ELLESMERE_I8_EPILOGUE_INT32
#endif
#ifndef OUT_TYPE
#define OUT_TYPE ELLESMERE_QTYPE_U8  // requantize epilogue only
#endif
#ifndef HAS_BIAS
#define HAS_BIAS 0                   // dequantize epilogue only
#endif
#ifndef RELU
#define RELU 0                       // dequantize epilogue only
#endif
#ifndef MUL24
#define MUL24 1                      // 1: mad24 (full rate on GCN); 0: plain 32-bit multiply-add
#endif

// Byte j (0..3) of each 32-bit word in w as an int; AS is as_int or the vector as_intN for w's width.
#define BYTE_U8(AS, w, j) AS(((w) >> (8 * (j))) & 0xffu)
#define BYTE_I8(AS, w, j) (AS((w) << (24 - 8 * (j))) >> 24)
#if A_TYPE == ELLESMERE_QTYPE_I8
#define A_BYTE(AS, w, j) BYTE_I8(AS, w, j)
#else
#define A_BYTE(AS, w, j) BYTE_U8(AS, w, j)
#endif
#if B_TYPE == ELLESMERE_QTYPE_I8
#define B_BYTE(AS, w, j) BYTE_I8(AS, w, j)
#else
#define B_BYTE(AS, w, j) BYTE_U8(AS, w, j)
#endif

// acc += a * b. Operands are bytes widened to int, so |a|, |b| <= 255 fit mad24's 24 bits; on GCN mad24 runs at
// full rate and 32-bit multiplies at a quarter. There is no int8 dot instruction on Polaris (gfx906 added one):
// this kernel's advantage is 4x fewer bytes moved, not faster arithmetic.
#if MUL24
#define MACC(acc, a, b) ((acc) = mad24((a), (b), (acc)))
#else
#define MACC(acc, a, b) ((acc) += (a) * (b))
#endif

// sum_k (a - za)(b - zb) from sum_k a*b and the sums of a (row) and b (column). Unsigned arithmetic wraps modulo
// 2^32, so intermediate terms may overflow while the result (|result| <= K * 255 * 255 < 2^31) stays exact.
int i8_corrected(int acc, int row_sum, int col_sum, int za, int zb, int K) {
  return as_int((uint)acc - (uint)zb * (uint)row_sum - (uint)za * (uint)col_sum + (uint)K * (uint)za * (uint)zb);
}

#if EPILOGUE == ELLESMERE_I8_EPILOGUE_INT32
typedef int out_t;
#elif EPILOGUE == ELLESMERE_I8_EPILOGUE_REQUANT
#if OUT_TYPE == ELLESMERE_QTYPE_I8
typedef char out_t;
#define OUT_MIN (-128.0f)
#define OUT_MAX 127.0f
#else
typedef uchar out_t;
#define OUT_MIN 0.0f
#define OUT_MAX 255.0f
#endif
#else
typedef float out_t;
#endif

// The output element for corrected accumulator c of column col. Float steps round exactly like the host
// reference (FP_CONTRACT OFF; no mad()). Requantize follows ONNX Runtime's QLinearMatMul: epi_scale holds
// mult[col] = (a_scale * b_scale[col]) / y_scale, computed once on the host; q = rint(float(c) * mult[col])
// (round half to even), + zero point, saturate. Dequantize: epi_scale holds the weights' scales b_scale[col];
// float(c) * (a_scale * b_scale[col]), + bias[col], then ReLU as (y <= 0 ? 0 : y), which also maps -0.0 to +0.0 and
// keeps a NaN (from a NaN bias) as ONNX's Relu does.
out_t i8_epilogue(int c, int col, float a_scale, __global const float* epi_scale, __global const float* bias,
                  int y_zp) {
#if EPILOGUE == ELLESMERE_I8_EPILOGUE_INT32
  (void)a_scale;
  return c;
#elif EPILOGUE == ELLESMERE_I8_EPILOGUE_REQUANT
  (void)a_scale;
  float q = rint((float)c * epi_scale[col]) + (float)y_zp;
  q = clamp(q, OUT_MIN, OUT_MAX);
  return (out_t)q;
#else
  float y = (float)c * (a_scale * epi_scale[col]);
#if HAS_BIAS
  y = y + bias[col];
#endif
#if RELU
  y = y <= 0.0f ? 0.0f : y;
#endif
  return y;
#endif
}

// Four bytes of A starting at p, zero-filled past `avail` bytes (avail <= 0: none), as one little-endian word.
uint i8_load_word(__global const uchar* p, int avail) {
  if (avail >= 4) return as_uint(vload4(0, p));
  uint w = 0;
  for (int j = 0; j < avail; ++j) w |= (uint)p[j] << (8 * j);
  return w;
}

#endif
