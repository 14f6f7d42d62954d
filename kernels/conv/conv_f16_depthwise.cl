// conv_f16_depthwise: one input channel per group (groups = C, K = M * C with a channel multiplier M; MobileNet's
// 3x3 layers have M = 1). Used by the conv_f16_depthwise Impl (src/ops/conv/conv_f16_depthwise.cpp).
//
// Layouts: kernels/conv/conv_common.h. Work-item (x, y, z): output columns ox0 = x * VW .. of output rows
// oy0 .. oy0 + RPT - 1 of image n, y = n * ceil(OH / RPT) + oy0 / RPT, output channel k = z, which reads input
// channel k / M. Work-groups are LX x LY x 1 items.
// Tunables: VW (8-16 for PoCL's SIMD, 1 on GCN), RPT, LX, LY, and the staging passes WPACK and XPAD
// (kernels/conv/conv_staging.h; packed with one channel per block, the weights keep W's layout, as floats).
// R * S multiply-adds per output and per input read: bound by memory on every device, so half storage halves its
// time on the RX 580 (the cost model's byte count), and nothing else here is worth more there. On PoCL the
// edges' element-by-element loads and the weights' software conversions cost more than the bytes: XPAD, WPACK.
#include "conv/conv_common.h"

#ifndef LX
#define LX 64         // work-group items along the output columns
#endif
#ifndef LY
#define LY 1          // work-group items along the output rows
#endif
#ifndef RPT
#define RPT 1         // output rows per work-item: neighbouring rows share input rows (with XPAD, loads and weights)
#endif

#define KPT 1         // the packed weights' block: one output channel
#include "conv/conv_staging.h"

__kernel __attribute__((reqd_work_group_size(LX, LY, 1)))
void conv_f16_depthwise(const int N, const int C, const int H, const int W, const int K, const int OH, const int OW,
                        const int PT, const int PL, const int G, __global const STORE_T* restrict X,
                        __global const WEIGHT_T* restrict Wt, __global const float* restrict bias,
                        __global const STORE_T* restrict residual, const int epi, const float lo, const float hi,
                        __global STORE_T* restrict Y) {
  const int ox0 = get_global_id(0) * VW;
  const int row = get_global_id(1);   // a block of RPT output rows
  const int k = get_global_id(2);
  const int blocks = (OH + RPT - 1) / RPT;
  if (ox0 >= OW || row >= N * blocks) return;   // no barriers here: items past the edge simply leave
  const int n = row / blocks;
  const int oy0 = (row - n * blocks) * RPT;
  const int c = k / (K / G);
  const int ix0 = ox0 * SV - PL;
  __global const STORE_T* xc = X + (n * C + c) * H * W;
  __global const WEIGHT_T* wk = Wt + k * (R * S);

  floatv acc[RPT];
#pragma unroll
  for (int q = 0; q < RPT; ++q) acc[q] = (floatv)(0.0f);
#pragma unroll
  for (int q = 0; q < RPT; ++q) {
    const int iy0 = (oy0 + q) * SU - PT;
#if XPAD
    // The padded copy holds whole blocks of RPT rows: no test, and the rows shared by neighbouring outputs are
    // loaded once (the loops unroll, the loads are the same).
#pragma unroll
    for (int r = 0; r < R; ++r) {
#pragma unroll
      for (int s = 0; s < S; ++s) {
        acc[q] = MULADD((floatv)(WEIGHT_AT(wk, r * S + s)), load_padded(xc + (iy0 + r * DH) * W, ix0 + s * DW), acc[q]);
      }
    }
#else
    if (oy0 + q < OH) {
      for (int r = 0; r < R; ++r) {
        const int iy = iy0 + r * DH;
        if (iy < 0 || iy >= H) continue;   // a padding row contributes nothing
        for (int s = 0; s < S; ++s) {
          acc[q] = MULADD((floatv)(WEIGHT_AT(wk, r * S + s)), load_inputs(xc + iy * W, ix0 + s * DW, W), acc[q]);
        }
      }
    }
#endif
  }
#pragma unroll
  for (int q = 0; q < RPT; ++q) {
    if (oy0 + q < OH) {
      const int o = ((n * K + k) * OH + oy0 + q) * OW + ox0;
      STORE_OUT(VW, acc[q], min(VW, OW - ox0), epi, bias, residual, k, o, lo, hi, Y)
    }
  }
}
