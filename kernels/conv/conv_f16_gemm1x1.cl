// conv_f16_gemm1x1: a 1x1 unpadded convolution is a GEMM per image and group: Y (Kg x P) = W (Kg x Cg) times X
// (Cg x P), P = OH * OW output pixels, Y contiguous along P, and X too at stride 1. Used by the conv_f16_gemm1x1 Impl
// (src/ops/conv/conv_f16_gemm1x1.cpp); ResNet's and MobileNetV2's pointwise layers and ResNet's stride-2 shortcuts.
//
// Layouts: kernels/conv/conv_common.h. Work-item (x, y, z): pixels p0 = x * VW .. p0 + VW - 1 (across row ends: no
// window, no padding) of image y, KPT output channels of block z = g * ceil(Kg / KPT) + b. Work-groups LX x 1 x 1.
// Tunables: VW (8-16 for PoCL's SIMD, 1 on GCN: a lane per pixel, coalesced), KPT, LX, WPACK
// (kernels/conv/conv_staging.h: fp32 weights packed per block of KPT channels), XSUB (strided layers: X's used
// pixels copied into contiguous OH x OW planes first, so that the main kernel loads whole vectors; without it a
// strided layer's inputs are gathered one by one, which suits GCN's one pixel per lane).
// Each X vector loaded feeds KPT vector multiply-adds, and each weight VW lanes of them. The KPT loops are unrolled
// so that the accumulators stay in registers (PoCL kept them on the stack otherwise).
#include "conv/conv_common.h"

#ifndef KPT
#define KPT 4         // output channels per work-item
#endif
#ifndef LX
#define LX 64         // work-group items along the pixels
#endif

#ifndef XSUB
#define XSUB 0        // 1: X is the subsampled copy (OH x OW planes; the host passes H = OH, W = OW)
#endif
// Whether the pixels an item reads are contiguous in X: stride 1, or the subsampled copy.
#define CONTIGUOUS (XSUB || (SU == 1 && SV == 1))

#include "conv/conv_staging.h"

__kernel __attribute__((reqd_work_group_size(LX, 1, 1)))
void conv_f16_gemm1x1(const int N, const int C, const int H, const int W, const int K, const int OH, const int OW,
                      const int PT, const int PL, const int G, __global const STORE_T* restrict X,
                      __global const WEIGHT_T* restrict Wt, __global const float* restrict bias,
                      __global const STORE_T* restrict residual, const int epi, const float lo, const float hi,
                      __global STORE_T* restrict Y) {
  const int P = OH * OW;    // output pixels
  const int HW = H * W;     // input pixels per plane (= P where CONTIGUOUS)
  const int p0 = get_global_id(0) * VW;
  const int n = get_global_id(1);
  const int Cg = C / G, Kg = K / G;
  const int blocks = (Kg + KPT - 1) / KPT;
  if (p0 >= P) return;   // no barriers here: items past the edge simply leave
  const int g = get_global_id(2) / blocks;
  const int k0 = (get_global_id(2) - g * blocks) * KPT;   // first output channel, within the group
  const int count = min(VW, P - p0);
#if CONTIGUOUS
  __global const STORE_T* xg = X + (n * C + g * Cg) * HW + p0;
#else
  // The input of each of the item's pixels (strided, row by row): X + (oy SU) W + ox SV.
  __global const STORE_T* xg = X + (n * C + g * Cg) * HW;
  int src[VW];
  for (int i = 0; i < VW; ++i) {
    const int p = min(p0 + i, P - 1), oy = p / OW;
    src[i] = oy * SU * W + (p - oy * OW) * SV;
  }
#endif
#if WPACK
  __global const float* wb = Wt + get_global_id(2) * Cg * KPT;   // this block's packed weights
#else
  __global const STORE_T* wg = Wt + (g * Kg + k0) * Cg;
#endif

  floatv acc[KPT];
#pragma unroll
  for (int j = 0; j < KPT; ++j) acc[j] = (floatv)(0.0f);
  // A partial last vector (P not a multiple of VW) is still loaded whole while the vector ends inside X: its lanes
  // past P read the next channel's pixels, which only feed outputs that are never stored. Only the rows whose
  // vector would pass X's end are read element by element (PoCL's scalar vload_half is a software routine, which
  // made that one item in seven of a 7x7 layer its slowest by far).
  for (int c = 0; c < Cg; ++c) {
    floatv xv;
#if CONTIGUOUS
    if (count == VW || (n * C + g * Cg + c) * HW + p0 + VW <= N * C * HW) {
      xv = LDV(VW)(0, xg + c * HW);
    } else {
      float v[VW];
      for (int i = 0; i < VW; ++i) v[i] = i < count ? LD(c * HW + i, xg) : 0.0f;
      xv = VLOAD(VW)(0, v);
    }
#else
    float v[VW];
    for (int i = 0; i < VW; ++i) v[i] = LD(c * HW + src[i], xg);   // lanes past P repeat the last pixel
    xv = VLOAD(VW)(0, v);
#endif
#pragma unroll
    for (int j = 0; j < KPT; ++j) {
#if WPACK
      const float wv = PACKED_WEIGHT(wb, j, c, Cg);
#else
      const float wv = k0 + j < Kg ? LD(j * Cg + c, wg) : 0.0f;
#endif
      acc[j] = MULADD((floatv)(wv), xv, acc[j]);
    }
  }
  for (int j = 0; j < KPT; ++j) {
    if (k0 + j >= Kg) break;
    const int k = g * Kg + k0 + j;
    const int o = (n * K + k) * P + p0;
    STORE_OUT(VW, acc[j], count, epi, bias, residual, k, o, lo, hi, Y)
  }
}
