// What the FP16 convolution kernels (kernels/conv/conv_f16_*.cl) share: the problem's compile-time geometry, half
// loads and stores, and the fused epilogue. Layouts (ONNX): X N x C x H x W, W K x C/G x R x S, Y N x K x OH x OW, all
// IEEE binary16 read with vload_half and written with vstore_half_rte (core OpenCL C 1.1: no cl_khr_fp16 needed).
// Arithmetic is fp32: on Polaris half arithmetic runs at the fp32 rate (no packed math), so fp16 storage wins only by
// the bytes it saves, and fp32 accumulation keeps the accuracy.
#ifndef ELLESMERE_CONV_COMMON_H
#define ELLESMERE_CONV_COMMON_H

#include "common/muladd.h"
#include "common/vector.h"

// The problem's kernel window, strides and dilations, fixed per program so that loops over them unroll.
#ifndef R
#define R 3           // kernel height
#endif
#ifndef S
#define S 3           // kernel width
#endif
#ifndef SU
#define SU 1          // vertical stride
#endif
#ifndef SV
#define SV 1          // horizontal stride
#endif
#ifndef DH
#define DH 1          // vertical dilation
#endif
#ifndef DW
#define DW 1          // horizontal dilation
#endif

#ifndef VW
#define VW 1          // consecutive outputs per work-item (1, 2, 4, 8, 16): 8-16 for PoCL's SIMD, 1 on GCN
#endif
typedef VEC(float, VW) floatv;

// VLOAD_HALF(n)(offset, p) -> vload_halfn: n halves at p + offset * n as floats; VSTORE_HALF(n) rounds to nearest
// even (the host's float_to_half does the same).
#define VLOAD_HALF_1(off, p) vload_half(off, p)
#define VLOAD_HALF_2(off, p) vload_half2(off, p)
#define VLOAD_HALF_4(off, p) vload_half4(off, p)
#define VLOAD_HALF_8(off, p) vload_half8(off, p)
#define VLOAD_HALF_16(off, p) vload_half16(off, p)
#define VLOAD_HALF(n) ELLESMERE_CAT(VLOAD_HALF_, n)
#define VSTORE_HALF_1(v, off, p) vstore_half_rte(v, off, p)
#define VSTORE_HALF_2(v, off, p) vstore_half2_rte(v, off, p)
#define VSTORE_HALF_4(v, off, p) vstore_half4_rte(v, off, p)
#define VSTORE_HALF_8(v, off, p) vstore_half8_rte(v, off, p)
#define VSTORE_HALF_16(v, off, p) vstore_half16_rte(v, off, p)
#define VSTORE_HALF(n) ELLESMERE_CAT(VSTORE_HALF_, n)

// Storage of X, W, Y and the residual: half (the library's), or float when CONV_STORE_F32 is defined: the same
// kernels with fp32 tensors, which the benchmarks run beside the half ones to measure what half storage saves.
// LD / LDV(n) load one / n values as floats, ST / STV(n) store them (half: rounded to nearest even).
#ifdef CONV_STORE_F32
#define STORE_T float
#define LD(off, p) ((p)[off])
#define LDV(n) VLOAD(n)
#define ST(v, off, p) ((p)[off] = (v))
#define STV(n) VSTORE(n)
#else
#define STORE_T half
#define LD(off, p) vload_half(off, p)
#define LDV(n) VLOAD_HALF(n)
#define ST(v, off, p) vstore_half_rte(v, off, p)
#define STV(n) VSTORE_HALF(n)
#endif

// The epilogue's switches, one int kernel argument (uniform across the launch, so branching on it is free; a define
// per combination would multiply the programs to build by twelve).
#define EPI_BIAS 1        // + bias[k] (fp32)
#define EPI_RESIDUAL 2    // + residual[same index as Y] (half)
#define EPI_RELU 4        // then max(y, 0), NaN kept
#define EPI_CLIP 8        // then min(max(y, lo), hi), NaN kept

// The epilogue on one output value of channel k at Y index o (STORE_OUT's partial vectors with a residual).
float conv_epilogue(float acc, const int epi, __global const float* bias, __global const STORE_T* residual,
                    const int k, const int o, const float lo, const float hi) {
  if (epi & EPI_BIAS) acc += bias[k];
  if (epi & EPI_RESIDUAL) acc += LD(o, residual);
  if (epi & EPI_RELU) acc = acc < 0.0f ? 0.0f : acc;
  if (epi & EPI_CLIP) acc = acc < lo ? lo : (acc > hi ? hi : acc);
  return acc;
}

#ifdef CONV_STORE_F32
#define STORE_BITS_T float   // X, W and Y's elements as bits: copied unchanged
#else
#define STORE_BITS_T ushort
#endif

// Writes n (1..VWIDTH) consecutive outputs of channel k from v (VWIDTH lanes) to Y at index o, through the
// epilogue (conv_epilogue's operations in its order). A whole vector: in vector form, the residual loaded as one
// vector. A partial one (the last of a run of outputs) without a residual: the same vector epilogue, converted as
// a whole vector into a private array whose first n values are copied to Y as bits (PoCL converts a vector of
// halves in one instruction and a single value in a software routine, which made the element-by-element path half
// of a small depthwise layer's time). A partial one with a residual: element by element (reading the residual into a
// private array for a vector conversion made PoCL 3.1 emit an aligned load for the whole vectors' unaligned
// residual: a segfault). The accumulator itself never goes through a private array on the vector paths: PoCL 3.1
// (LLVM 15, AVX-512) then stored the first lanes of the vector from the accumulator register, without their
// epilogue (2- and 4-wide vectors in work-groups of 1-2 items; found by conv_test's VW=2 and 4 sets).
#define STORE_OUT(VWIDTH, v, n, epi, bias, residual, k, o, lo, hi, Y)                                 \
  {                                                                                                  \
    if ((n) == VWIDTH || !((epi) & EPI_RESIDUAL)) {                                                  \
      VEC(float, VWIDTH) y_ = (v);                                                                   \
      if ((epi) & EPI_BIAS) y_ += (bias)[k];                                                         \
      if ((epi) & EPI_RESIDUAL) y_ += LDV(VWIDTH)(0, (residual) + (o));                              \
      if ((epi) & EPI_RELU) y_ = select(y_, (VEC(float, VWIDTH))(0.0f), y_ < (VEC(float, VWIDTH))(0.0f)); \
      if ((epi) & EPI_CLIP) {                                                                        \
        y_ = select(y_, (VEC(float, VWIDTH))(lo), y_ < (VEC(float, VWIDTH))(lo));                    \
        y_ = select(y_, (VEC(float, VWIDTH))(hi), y_ > (VEC(float, VWIDTH))(hi));                    \
      }                                                                                              \
      if ((n) == VWIDTH) {                                                                           \
        STV(VWIDTH)(y_, 0, (Y) + (o));                                                               \
      } else {                                                                                       \
        STORE_BITS_T ob_[VWIDTH];                                                                    \
        STV(VWIDTH)(y_, 0, (STORE_T*)ob_);                                                           \
        for (int i_ = 0; i_ < (n); ++i_) ((__global STORE_BITS_T*)(Y))[(o) + i_] = ob_[i_];          \
      }                                                                                              \
    } else {                                                                                         \
      float out_[VWIDTH];                                                                            \
      VSTORE(VWIDTH)(v, 0, out_);                                                                    \
      for (int i_ = 0; i_ < (n); ++i_) {                                                             \
        ST(conv_epilogue(out_[i_], epi, bias, residual, k, (o) + i_, lo, hi), (o) + i_, Y);          \
      }                                                                                              \
    }                                                                                                \
  }

// VW inputs of one row (xrow) at columns ix, ix + SV, ..: a vector load when all are inside, else element by
// element with zeros for the padding.
floatv load_inputs(__global const STORE_T* xrow, const int ix, const int W) {
#if SV == 1
  if (ix >= 0 && ix + VW <= W) return LDV(VW)(0, xrow + ix);
#endif
  float v[VW];
  for (int i = 0; i < VW; ++i) {
    const int col = ix + i * SV;
    v[i] = (col >= 0 && col < W) ? LD(col, xrow) : 0.0f;
  }
  return VLOAD(VW)(0, v);
}

#endif
