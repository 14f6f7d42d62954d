// Per-call staging passes of the GEMM-like FP16 convolutions (conv_f16_igemm, conv_f16_gemm1x1, conv_f16_depthwise),
// each a tunable, all off by default (GCN's): their kernels and what the main kernel reads instead of X and W
// (and XSUB=1, conv_f16_gemm1x1's: a strided 1x1 layer's used inputs copied into contiguous planes).
//   WPACK=1: W converted to fp32, [group][block of KPT output channels][KPT][c r s], rows of W's own layout
//     padded with zero rows past the group's last channel to whole blocks, so that an item's block is one slab and
//     its channel loop has no edge test; the pass is a straight vector conversion. For devices whose scalar
//     vload_half is a software conversion (PoCL: some twenty instructions per weight, which left a 1x1 layer at a
//     twentieth of the CPU's fp32 rate); GCN converts in one instruction and would only pay the pass and twice the
//     weight bytes.
//   XPAD=1: X copied (bits unchanged) into zero-padded planes (size below) per image and channel,
//     holding every input the windows touch, padding included, and beyond the last output column up to a whole
//     vector. The main kernel then loads every vector whole, without bounds tests, and at stride 2 as two vectors
//     whose even lanes it keeps. For devices where the bounds-tested element-by-element loads of the edges cost
//     more than a copy of X (PoCL: on small images most vectors touch an edge); on the RX 580 the copy is extra
//     bytes, which is why it is off by default.
// The passes are part of the Impl's call, its time and its traffic (src/ops/conv/conv_list.cpp).
#ifndef ELLESMERE_CONV_STAGING_H
#define ELLESMERE_CONV_STAGING_H

#include "conv/conv_common.h"

#ifndef WPACK
#define WPACK 0       // 1: weights from a per-call fp32 copy packed by output-channel block (PoCL), 0: W's halves
#endif
#ifndef XPAD
#define XPAD 0        // 1: inputs from a per-call zero-padded copy of X (PoCL), 0: X with bounds tests
#endif
#ifndef KPT
#define KPT 1         // output channels per block of the packed weights (the main kernel's tunable where it has one)
#endif

// The weights' element type, and (WPACK=1) the weight of output channel j of an item's block wb for tap crs (its
// flat index in c x R x S, CRS taps per channel); with WPACK=0 the kernels index W's own layout and test the
// group's last channel themselves.
#if WPACK
#define WEIGHT_T float
#define PACKED_WEIGHT(wb, j, crs, CRS) ((wb)[(j) * (CRS) + (crs)])
#else
#define WEIGHT_T STORE_T
#endif

// The padded plane's size for outputs OH x OW (XPAD=1; the host computes it: src/ops/conv/conv_list.cpp): rows
// (OH' - 1) SU + (R - 1) DH + 1, OH' = OH rounded up to the kernel's rows per item (RPT, depthwise; 1 elsewhere);
// columns up to the last column a whole vector of the last output vector reads, SV VW of them at stride SV > 1.

// STORE_BITS_T (conv_common.h): the pad pass copies X's bits unchanged (a round trip through float would quieten
// signalling NaNs).

// Wf[((g * blocks + b) * KPT + j) * CRS + crs] = W[(g * Kg + b * KPT + j) * CRS + crs] as float, 0 where
// b * KPT + j >= Kg. Item (x, y): taps crs = 16 x .. 16 x + 15 of padded channel row y = (g * blocks + b) * KPT + j,
// read as one vector and written as one (a vector vload_half is one conversion instruction where the scalar one is
// a software routine: PoCL); the row's last partial chunk element by element. Any work-group shape.
#define PACK_TAPS 16
__kernel void conv_f16_pack_weights(const int Kg, const int CRS, const int G, __global const STORE_T* restrict Wt,
                                    __global float* restrict Wf) {
  const int crs0 = get_global_id(0) * PACK_TAPS;
  const int y = get_global_id(1);
  const int blocks = (Kg + KPT - 1) / KPT;
  if (crs0 >= CRS || y >= G * blocks * KPT) return;
  const int g = y / (blocks * KPT);
  const int k = y - g * blocks * KPT;   // channel within the group, padded to whole blocks
  __global float* out = Wf + y * CRS;
  __global const STORE_T* in = Wt + (g * Kg + k) * CRS;
  if (k >= Kg) {
    const int end = min(crs0 + PACK_TAPS, CRS);
    for (int crs = crs0; crs < end; ++crs) out[crs] = 0.0f;
  } else if (crs0 + PACK_TAPS <= CRS) {
    vstore16(LDV(16)(0, in + crs0), 0, out + crs0);
  } else {
    for (int crs = crs0; crs < CRS; ++crs) out[crs] = LD(crs, in);
  }
}

// Xp[plane][py][px] = X[plane][py - PT][px - PL], 0 outside X, for plane = n * C + c. Item (px, py, plane); any
// work-group shape.
__kernel void conv_f16_pad_input(const int H, const int W, const int Hp, const int Wp, const int PT, const int PL,
                                 const int planes, __global const STORE_BITS_T* restrict X,
                                 __global STORE_BITS_T* restrict Xp) {
  const int px = get_global_id(0);
  const int py = get_global_id(1);
  const int plane = get_global_id(2);
  if (px >= Wp || py >= Hp || plane >= planes) return;
  const int iy = py - PT, ix = px - PL;
  const bool inside = iy >= 0 && iy < H && ix >= 0 && ix < W;
  Xp[(plane * Hp + py) * Wp + px] = inside ? X[(plane * H + iy) * W + ix] : (STORE_BITS_T)0;
}

// Xs[plane][oy][ox] = X[plane][oy SU][ox SV] (conv_f16_gemm1x1's XSUB=1: a strided 1x1 layer's used inputs,
// contiguous). Item (ox, oy, plane); any work-group shape.
__kernel void conv_f16_subsample_input(const int H, const int W, const int OH, const int OW, const int planes,
                                       __global const STORE_BITS_T* restrict X, __global STORE_BITS_T* restrict Xs) {
  const int ox = get_global_id(0);
  const int oy = get_global_id(1);
  const int plane = get_global_id(2);
  if (ox >= OW || oy >= OH || plane >= planes) return;
  Xs[(plane * OH + oy) * OW + ox] = X[(plane * H + oy * SU) * W + ox * SV];
}

// VW inputs of one padded row at columns ix, ix + SV, ...: whole vectors, no bounds tests (XPAD=1: the padded copy
// in global memory; load_local: a tile in local memory, conv_f16_depthwise's LTILE=1). At SV = 2 two vectors' even
// lanes (a shuffle), at SV > 2 element by element.
// LV(n): the n-wide vector load, LS(off, p) the scalar one, for the row's element type.
#if SV == 1 || VW == 1
#define LOAD_PADDED_BODY(LV, LS, xrow, ix) return LV(VW)(0, (xrow) + (ix));
#elif SV == 2 && VW == 16
#define LOAD_PADDED_BODY(LV, LS, xrow, ix)                                        \
  return shuffle2(LV(16)(0, (xrow) + (ix)), LV(16)(0, (xrow) + (ix) + 16),        \
                  (uint16)(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30));
#elif SV == 2 && VW == 8
#define LOAD_PADDED_BODY(LV, LS, xrow, ix) return shuffle(LV(16)(0, (xrow) + (ix)), (uint8)(0, 2, 4, 6, 8, 10, 12, 14));
#elif SV == 2 && VW == 4
#define LOAD_PADDED_BODY(LV, LS, xrow, ix) return shuffle(LV(8)(0, (xrow) + (ix)), (uint4)(0, 2, 4, 6));
#elif SV == 2 && VW == 2
#define LOAD_PADDED_BODY(LV, LS, xrow, ix) return LV(4)(0, (xrow) + (ix)).even;
#else
#define LOAD_PADDED_BODY(LV, LS, xrow, ix)                        \
  float v[VW];                                                    \
  for (int i = 0; i < VW; ++i) v[i] = LS((ix) + i * SV, (xrow));  \
  return VLOAD(VW)(0, v);
#endif
#define LOCAL_LD(off, p) ((p)[off])
floatv load_padded(__global const STORE_T* xrow, const int ix) { LOAD_PADDED_BODY(LDV, LD, xrow, ix) }
// The same from a row of floats in local memory.
floatv load_local(__local const float* xrow, const int ix) { LOAD_PADDED_BODY(VLOAD, LOCAL_LD, xrow, ix) }


#endif
