// conv_f16_direct: tiled direct convolution through local memory, for any window, stride, padding, dilation and
// groups. Used by the conv_f16_direct Impl (src/ops/conv/conv_f16_direct.cpp).
//
// Layouts: kernels/conv/conv_common.h. A work-group of LX x LY items computes an output tile of LY rows x LX * VW
// columns of one image, for KPT output channels (one block of a group): item (lx, ly) owns columns
// ox0 = (group x) * LX * VW + lx * VW .. + VW - 1 of row oy0 + ly. For each input channel of the group the work-group
// stages the tile's input window (with its halo and padding zeros, converted to float once) and the KPT x R x S
// weights in local memory, then every item reads its R x S x VW inputs from there.
// Tunables: VW, KPT, LX, LY. Local memory: (TR * TC + KPT * R * S) floats, TR = (LY - 1) SU + (R - 1) DH + 1 and
// TC = (LX VW - 1) SV + (S - 1) DW + 1 (the Impl checks it against the device before choosing this).
// Wins on GPUs, where each input is fetched from global memory once per tile instead of R * S times (a 3x3 layer
// at LY = 4, LX VW = 64: 6 x 66 loads for 4 x 64 x 9 uses, 5.8x fewer) and the LDS serves the reuse; on a CPU the
// caches already do that and the barriers cost, so conv_f16_igemm is preferred there.
#include "conv/conv_common.h"

#ifndef KPT
#define KPT 4         // output channels per work-item (all items of a work-group share them)
#endif
#ifndef LX
#define LX 16         // work-group items along the output columns
#endif
#ifndef LY
#define LY 4          // work-group items along the output rows
#endif

#define TR ((LY - 1) * SU + (R - 1) * DH + 1)        // input rows of a tile
#define TC ((LX * VW - 1) * SV + (S - 1) * DW + 1)   // input columns of a tile
#define ITEMS (LX * LY)

__kernel __attribute__((reqd_work_group_size(LX, LY, 1)))
void conv_f16_direct(const int N, const int C, const int H, const int W, const int K, const int OH, const int OW,
                     const int PT, const int PL, const int G, __global const STORE_T* restrict X,
                     __global const STORE_T* restrict Wt, __global const float* restrict bias,
                     __global const STORE_T* restrict residual, const int epi, const float lo, const float hi,
                     __global STORE_T* restrict Y) {
  __local float tile[TR * TC];
  __local float wtile[KPT * R * S];
  const int lx = get_local_id(0), ly = get_local_id(1);
  const int lid = ly * LX + lx;
  const int Cg = C / G, Kg = K / G;
  const int blocks = (Kg + KPT - 1) / KPT;
  const int g = get_group_id(2) / blocks;
  const int k0 = (get_group_id(2) - g * blocks) * KPT;   // first output channel, within the group
  // Rows are padded per image to whole tiles, so a work-group never spans two images.
  const int tiles_y = (OH + LY - 1) / LY;
  const int n = get_group_id(1) / tiles_y;
  const int oy0 = (get_group_id(1) - n * tiles_y) * LY;
  const int ox_tile = get_group_id(0) * LX * VW;
  const int oy = oy0 + ly, ox0 = ox_tile + lx * VW;
  const int iy_tile = oy0 * SU - PT, ix_tile = ox_tile * SV - PL;
  __global const STORE_T* xg = X + (n * C + g * Cg) * H * W;
  __global const STORE_T* wg = Wt + (g * Kg + k0) * Cg * R * S;

  floatv acc[KPT];
  for (int j = 0; j < KPT; ++j) acc[j] = (floatv)(0.0f);
  for (int c = 0; c < Cg; ++c) {
    // Every item, inside the output or not, helps stage and reaches both barriers.
    __global const STORE_T* xc = xg + c * H * W;
    for (int i = lid; i < TR * TC; i += ITEMS) {
      const int tr = i / TC;
      const int tc = i - tr * TC;
      const int iy = iy_tile + tr, ix = ix_tile + tc;
      tile[i] = (iy >= 0 && iy < H && ix >= 0 && ix < W) ? LD(iy * W + ix, xc) : 0.0f;
    }
    for (int i = lid; i < KPT * R * S; i += ITEMS) {
      const int j = i / (R * S);
      wtile[i] = k0 + j < Kg ? LD((j * Cg + c) * R * S + (i - j * R * S), wg) : 0.0f;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int r = 0; r < R; ++r) {
      __local const float* trow = tile + (ly * SU + r * DH) * TC + lx * VW * SV;
      for (int s = 0; s < S; ++s) {
        floatv xv;
#if SV == 1
        xv = VLOAD(VW)(0, trow + s * DW);
#else
        float v[VW];
        for (int i = 0; i < VW; ++i) v[i] = trow[s * DW + i * SV];
        xv = VLOAD(VW)(0, v);
#endif
        for (int j = 0; j < KPT; ++j) acc[j] = MULADD((floatv)(wtile[(j * R + r) * S + s]), xv, acc[j]);
      }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (oy >= OH || ox0 >= OW) return;   // past both barriers: leaving is safe now
  const int count = min(VW, OW - ox0);
  for (int j = 0; j < KPT; ++j) {
    if (k0 + j >= Kg) break;
    const int k = g * Kg + k0 + j;
    const int o = ((n * K + k) * OH + oy) * OW + ox0;
    STORE_OUT(VW, acc[j], count, epi, bias, residual, k, o, lo, hi, Y)
  }
}
