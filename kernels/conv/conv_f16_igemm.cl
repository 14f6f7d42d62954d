// conv_f16_igemm: the general convolution path (any window, stride, padding, dilation, groups) as an implicit GEMM:
// Y viewed per group as a Kg x (OH*OW) matrix, the product of W (Kg x Cg*R*S) and the im2col matrix of X, whose
// entries are read straight from X with their padding computed on the fly (no im2col buffer). Used by the
// conv_f16_igemm Impl (src/ops/conv/conv_f16_igemm.cpp).
//
// Layouts: kernels/conv/conv_common.h. Work-item (x, y, z): output columns ox0 = x * VW .. ox0 + VW - 1 of output row
// y = n * OH + oy, for KPT output channels of block z = g * ceil(Kg / KPT) + b. Work-groups are LX x LY x 1 items.
// Tunables: VW (8-16 for PoCL's SIMD, 1 on GCN, where a lane per output column coalesces the loads of stride-1
// layers), KPT (each input value loaded feeds KPT multiply-adds), LX, LY, and the staging passes WPACK and XPAD
// (kernels/conv/conv_staging.h: with XPAD=1, X, H, W, PT and PL are the padded copy's, PT = PL = 0).
// No local memory: neighbouring items read overlapping inputs, which the caches serve (the LDS-tiled variant is
// conv_f16_direct). Bound by loads when KPT is small; on Polaris by the fp32 rate at best (fp16 is only storage).
// The KPT loops are unrolled so that the accumulators stay in registers (PoCL kept them on the stack otherwise).
#include "conv/conv_common.h"

#ifndef KPT
#define KPT 4         // output channels per work-item
#endif
#ifndef LX
#define LX 64         // work-group items along the output columns
#endif
#ifndef LY
#define LY 1          // work-group items along the output rows
#endif

#include "conv/conv_staging.h"

__kernel __attribute__((reqd_work_group_size(LX, LY, 1)))
void conv_f16_igemm(const int N, const int C, const int H, const int W, const int K, const int OH, const int OW,
                    const int PT, const int PL, const int G, __global const STORE_T* restrict X,
                    __global const WEIGHT_T* restrict Wt, __global const float* restrict bias,
                    __global const STORE_T* restrict residual, const int epi, const float lo, const float hi,
                    __global STORE_T* restrict Y) {
  const int ox0 = get_global_id(0) * VW;
  const int row = get_global_id(1);
  const int Cg = C / G, Kg = K / G;
  const int blocks = (Kg + KPT - 1) / KPT;
  if (ox0 >= OW || row >= N * OH) return;   // no barriers here: items past the edge simply leave
  const int g = get_global_id(2) / blocks;
  const int k0 = (get_global_id(2) - g * blocks) * KPT;   // first output channel, within the group
  const int n = row / OH;
  const int oy = row - n * OH;
  const int iy0 = oy * SU - PT, ix0 = ox0 * SV - PL;
  const int wstride = Cg * R * S;   // between output channels of W
  __global const STORE_T* xg = X + (n * C + g * Cg) * H * W;
#if WPACK
  __global const float* wb = Wt + get_global_id(2) * wstride * KPT;   // this block's packed weights
#else
  __global const STORE_T* wg = Wt + (g * Kg + k0) * wstride;
#endif

  floatv acc[KPT];
#pragma unroll
  for (int j = 0; j < KPT; ++j) acc[j] = (floatv)(0.0f);
  for (int c = 0; c < Cg; ++c) {
    for (int r = 0; r < R; ++r) {
      const int iy = iy0 + r * DH;
#if !XPAD
      if (iy < 0 || iy >= H) continue;   // a padding row contributes nothing
#endif
      __global const STORE_T* xrow = xg + (c * H + iy) * W;
      for (int s = 0; s < S; ++s) {
#if XPAD
        const floatv xv = load_padded(xrow, ix0 + s * DW);
#else
        const floatv xv = load_inputs(xrow, ix0 + s * DW, W);
#endif
        const int wi = (c * R + r) * S + s;
#pragma unroll
        for (int j = 0; j < KPT; ++j) {
#if WPACK
          const float wv = PACKED_WEIGHT(wb, j, wi, wstride);
#else
          const float wv = k0 + j < Kg ? LD(j * wstride + wi, wg) : 0.0f;
#endif
          acc[j] = MULADD((floatv)(wv), xv, acc[j]);
        }
      }
    }
  }
  const int count = min(VW, OW - ox0);
  for (int j = 0; j < KPT; ++j) {
    if (k0 + j >= Kg) break;
    const int k = g * Kg + k0 + j;
    const int o = ((n * K + k) * OH + oy) * OW + ox0;
    STORE_OUT(VW, acc[j], count, epi, bias, residual, k, o, lo, hi, Y)
  }
}
