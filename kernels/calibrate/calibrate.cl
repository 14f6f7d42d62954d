// Calibration kernels: copy bandwidth, fp32 FMA rate, int8 multiply-add rate and launch overhead, measured by
// `ellesmere calibrate` (src/runtime/calibrate.cpp) to build the device profile that benchmarks and the cost
// model read. Layout: flat 1-D buffers. Tunables: VW (vector width; PoCL needs wide vectors to reach peak, GCN
// runs one lane per work-item) and CHAINS (independent accumulators, to hide FMA latency).
#include "common/muladd.h"
#include "common/vector.h"

#ifndef VW
#define VW 4        // elements per work-item per operation (1, 2, 4, 8, 16)
#endif
#ifndef CHAINS
#define CHAINS 4    // independent dependency chains per work-item (1..8)
#endif

typedef VEC(float, VW) floatv;
typedef VEC(int, VW) intv;
typedef VEC(char, VW) charv;

// dst[i] = src[i] over n vectors of VW floats: each byte is read once and written once.
__kernel void calibrate_copy(__global const float* restrict src, __global float* restrict dst, const int n) {
  const int i = get_global_id(0);
  if (i < n) VSTORE(VW)(VLOAD(VW)(i, src), i, dst);
}

// 2 * VW * CHAINS * iters flops per work-item, with the multiply-add our kernels use (MULADD: fma() where the
// device has it in hardware). x and y are kernel arguments so nothing folds at compile time; every chain is
// stored so nothing is dead.
__kernel void calibrate_fma_f32(__global float* restrict out, const float x, const float y, const int iters) {
  floatv a0 = (floatv)(x), a1 = a0 + 1.0f, a2 = a0 + 2.0f, a3 = a0 + 3.0f;
  floatv a4 = a0 + 4.0f, a5 = a0 + 5.0f, a6 = a0 + 6.0f, a7 = a0 + 7.0f;
  const floatv m = (floatv)(y);
  const floatv c = (floatv)(x * 0.5f);
  for (int i = 0; i < iters; ++i) {
    a0 = MULADD(a0, m, c);
#if CHAINS > 1
    a1 = MULADD(a1, m, c);
#endif
#if CHAINS > 2
    a2 = MULADD(a2, m, c);
#endif
#if CHAINS > 3
    a3 = MULADD(a3, m, c);
#endif
#if CHAINS > 4
    a4 = MULADD(a4, m, c);
#endif
#if CHAINS > 5
    a5 = MULADD(a5, m, c);
#endif
#if CHAINS > 6
    a6 = MULADD(a6, m, c);
#endif
#if CHAINS > 7
    a7 = MULADD(a7, m, c);
#endif
  }
  floatv s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
  VSTORE(VW)(s, get_global_id(0), out);
}

// int8 multiply-adds as an int8 GEMM does them on hardware without a dot instruction: each MAC is one widening
// step (the mask stands in for the byte extract, and keeps operands inside mad24's 24-bit range) plus one mad24
// (full rate on GCN). Counted as 2 ops (multiply + add) per MAC: 2 * VW * CHAINS * iters per work-item.
__kernel void calibrate_mad_i8(__global int* restrict out, __global const char* restrict seed, const int iters) {
  const charv s = VLOAD(VW)(0, seed);
  const intv b = CONVERT(int, VW)(s);
  intv a0 = b + 1, a1 = b + 2, a2 = b + 3, a3 = b + 4, a4 = b + 5, a5 = b + 6, a6 = b + 7, a7 = b + 8;
  for (int i = 0; i < iters; ++i) {
    a0 = mad24(a0 & 0x7f, b, a0);
#if CHAINS > 1
    a1 = mad24(a1 & 0x7f, b, a1);
#endif
#if CHAINS > 2
    a2 = mad24(a2 & 0x7f, b, a2);
#endif
#if CHAINS > 3
    a3 = mad24(a3 & 0x7f, b, a3);
#endif
#if CHAINS > 4
    a4 = mad24(a4 & 0x7f, b, a4);
#endif
#if CHAINS > 5
    a5 = mad24(a5 & 0x7f, b, a5);
#endif
#if CHAINS > 6
    a6 = mad24(a6 & 0x7f, b, a6);
#endif
#if CHAINS > 7
    a7 = mad24(a7 & 0x7f, b, a7);
#endif
  }
  intv sum = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
  VSTORE(VW)(sum, get_global_id(0), out);
}

// Does nothing observable for most items: launch overhead is the time of many back-to-back launches of this.
__kernel void calibrate_empty(__global int* out) {
  if (get_global_id(0) == 0x7fffffff) out[0] = 1;
}
