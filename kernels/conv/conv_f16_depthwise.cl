// conv_f16_depthwise: one input channel per group (groups = C, K = M * C with a channel multiplier M; MobileNet's
// 3x3 layers have M = 1). Used by the conv_f16_depthwise Impl (src/ops/conv/conv_f16_depthwise.cpp).
//
// Layouts: kernels/conv/conv_common.h. Work-item (x, y, z): output columns ox0 = x * VW .. of output rows
// oy0 .. oy0 + RPT - 1 of image n, y = n * ceil(OH / RPT) + oy0 / RPT, output channel k = z, which reads input
// channel k / M. Work-groups are LX x LY x 1 items.
// Tunables: VW (8-16 for PoCL's SIMD, 1 on GCN), RPT, LX, LY, and the staging passes WPACK and XPAD
// (kernels/conv/conv_staging.h; packed with one channel per block, the weights keep W's layout, as floats), or
// LTILE=1 instead of XPAD: the work-group copies its zero-padded input window into local memory itself (below).
//
// LTILE=1: a work-group of LX x LY items computes LY * RPT output rows x LX * VW output columns of one channel:
// group (x, y, k), y = n * ceil(OH / (LY RPT)) + row block; item (lx, ly) owns columns ox0 = x LX VW + lx VW ..
// of rows oy0 + ly RPT .. + RPT - 1. The group first copies the window those outputs read, zeros for the padding,
// into a local tile of TR x TC floats (converted once, interior runs 16 at a time), then every item reads whole
// vectors from the tile: no edge tests, and no padded copy of X written to and read back from
// global memory (the XPAD pass, which on PoCL moved as many bytes as the convolution). Local memory: TR x TC
// floats (2 ceil(TC / 2) columns at stride 2); larger tiles than 32 KiB are not used (src/ops/conv/conv_list.cpp,
// staged_params).
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

#ifndef LTILE
#define LTILE 0       // 1: the input window staged in local memory by the work-group (no XPAD pass)
#endif

#define KPT 1         // the packed weights' block: one output channel
#include "conv/conv_staging.h"

// wts[0 .. R S) = channel k's taps as floats: 8 at a time as one vector conversion where W holds halves (PoCL
// converts a single half in a software routine; with WPACK they are floats already). The 8 halves are loaded as
// ushort8 (vload8: element alignment) and converted from a private copy: PoCL 3.1's vload_half8 straight from W
// compiled to an aligned 16-byte load (vmovaps) and faulted on channels whose taps start off a 16-byte boundary,
// although vload_halfn only requires 2-byte alignment.
#if WPACK
#define LOAD_TAPS(wts, wk)                                 \
  _Pragma("unroll") for (int i_ = 0; i_ < R * S; ++i_) wts[i_] = (wk)[i_];
#else
#ifdef CONV_STORE_F32
#define LOAD_TAP8(wk, i) vload8(0, (wk) + (i))
#else
float8 load_tap8(__global const half* wk, const int i) {
  const ushort8 bits = vload8(0, (__global const ushort*)wk + i);
  return vload_half8(0, (const half*)&bits);
}
#define LOAD_TAP8(wk, i) load_tap8(wk, i)
#endif
#define LOAD_TAPS(wts, wk)                                                                   \
  {                                                                                          \
    int i_ = 0;                                                                              \
    _Pragma("unroll") for (; i_ + 8 <= R * S; i_ += 8) {                                     \
      const float8 w8_ = LOAD_TAP8(wk, i_);                                                  \
      wts[i_] = w8_.s0, wts[i_ + 1] = w8_.s1, wts[i_ + 2] = w8_.s2, wts[i_ + 3] = w8_.s3;    \
      wts[i_ + 4] = w8_.s4, wts[i_ + 5] = w8_.s5, wts[i_ + 6] = w8_.s6, wts[i_ + 7] = w8_.s7; \
    }                                                                                        \
    _Pragma("unroll") for (; i_ < R * S; ++i_) wts[i_] = LD(i_, (wk));                       \
  }
#endif

#if LTILE
#define TR ((LY * RPT - 1) * SU + (R - 1) * DH + 1)   // input rows of the tile
#define TC (LX * VW * SV + (S - 1) * DW)               // input columns: all that the items' vector loads read
#define ITEMS (LX * LY)
// At stride 2 the tile is kept as two phases, even and odd input columns apart (PH x TR x TCP floats), so that the
// VW inputs of a tap are VW consecutive floats of one phase: the deinterleaving is done once per input in the copy
// instead of once per tap in a shuffle (PoCL split each strided vector load into pairs).
#if SV == 2
#define PH 2
#else
#define PH 1
#endif
#define TCP ((TC + PH - 1) / PH)                       // columns per phase

// dst[0 .. n) = src[0 .. n) as floats (n >= 0): vector loads of 16, then 8 and 4, and the last 1-3 as the run's
// last 4 again where it has 4 (PoCL converts a vector of 4 or more halves in one instruction, 1 or 2 of them in a
// software routine).
void copy_run(__local float* dst, __global const STORE_T* src, const int n) {
  int i = 0;
  for (; i + 16 <= n; i += 16) vstore16(LDV(16)(0, src + i), 0, dst + i);
  if (i + 8 <= n) { vstore8(LDV(8)(0, src + i), 0, dst + i); i += 8; }
  if (i + 4 <= n) { vstore4(LDV(4)(0, src + i), 0, dst + i); i += 4; }
  if (i < n) {
    if (n >= 4) {
      vstore4(LDV(4)(0, src + n - 4), 0, dst + n - 4);
    } else {
      for (; i < n; ++i) dst[i] = LD(i, src);
    }
  }
}

#if PH == 2
// Tile columns t .. t + 2 h - 1 (values v) into the phases' rows d0 (even columns) and d1 (odd).
#define STORE_PHASES(h, v, t, d0, d1)                      \
  {                                                        \
    const int pos_ = (t) >> 1;                             \
    if ((t) & 1) {                                         \
      ELLESMERE_CAT(vstore, h)((v).even, 0, (d1) + pos_);     \
      ELLESMERE_CAT(vstore, h)((v).odd, 0, (d0) + pos_ + 1);  \
    } else {                                               \
      ELLESMERE_CAT(vstore, h)((v).even, 0, (d0) + pos_);     \
      ELLESMERE_CAT(vstore, h)((v).odd, 0, (d1) + pos_);      \
    }                                                      \
  }

// copy_run for the two phases: src[0 .. n) are tile columns t0 .. t0 + n - 1.
void copy_run_phases(__local float* d0, __local float* d1, __global const STORE_T* src, const int t0, const int n) {
  int i = 0;
  for (; i + 16 <= n; i += 16) STORE_PHASES(8, LDV(16)(0, src + i), t0 + i, d0, d1)
  if (i + 8 <= n) {
    STORE_PHASES(4, LDV(8)(0, src + i), t0 + i, d0, d1)
    i += 8;
  }
  if (i < n) {
    if (n >= 8) {
      STORE_PHASES(4, LDV(8)(0, src + n - 8), t0 + n - 8, d0, d1)
    } else {
      for (; i < n; ++i) ((t0 + i) & 1 ? d1 : d0)[(t0 + i) >> 1] = LD(i, src);
    }
  }
}
#endif

__kernel __attribute__((reqd_work_group_size(LX, LY, 1)))
void conv_f16_depthwise(const int N, const int C, const int H, const int W, const int K, const int OH, const int OW,
                        const int PT, const int PL, const int G, __global const STORE_T* restrict X,
                        __global const WEIGHT_T* restrict Wt, __global const float* restrict bias,
                        __global const STORE_T* restrict residual, const int epi, const float lo, const float hi,
                        __global STORE_T* restrict Y) {
  __local float tile[PH * TR * TCP];
  const int lx = get_local_id(0), ly = get_local_id(1);
  const int k = get_group_id(2);
  const int blocks = (OH + LY * RPT - 1) / (LY * RPT);   // row blocks per image: a group never spans two images
  const int n = get_group_id(1) / blocks;
  const int oyt = (get_group_id(1) - n * blocks) * LY * RPT;   // the tile's first output row
  const int oxt = get_group_id(0) * LX * VW;                   // and column
  const int iyt = oyt * SU - PT, ixt = oxt * SV - PL;          // the input at tile (0, 0)
  const int c = k / (K / G);
  __global const STORE_T* xc = X + (n * C + c) * H * W;

  // Stage: one tile row per item at a time; columns [lo_c, hi_c) of the row lie inside X.
  const int lo_c = clamp(-ixt, 0, TC), hi_c = clamp(W - ixt, lo_c, TC);
  for (int tr = ly * LX + lx; tr < TR; tr += ITEMS) {
    const int iy = iyt + tr;
    const bool inside = iy >= 0 && iy < H;
#if PH == 2
    __local float* d0 = tile + tr * TCP;
    __local float* d1 = tile + (TR + tr) * TCP;
    if (!inside) {
      for (int i = 0; i < TCP; ++i) d0[i] = d1[i] = 0.0f;
    } else {
      for (int t = 0; t < lo_c; ++t) (t & 1 ? d1 : d0)[t >> 1] = 0.0f;
      copy_run_phases(d0, d1, xc + iy * W + ixt + lo_c, lo_c, hi_c - lo_c);
      for (int t = hi_c; t < TC; ++t) (t & 1 ? d1 : d0)[t >> 1] = 0.0f;
    }
#else
    __local float* dst = tile + tr * TC;
    if (!inside) {
      for (int i = 0; i < TC; ++i) dst[i] = 0.0f;
    } else {
      for (int i = 0; i < lo_c; ++i) dst[i] = 0.0f;
      copy_run(dst + lo_c, xc + iy * W + ixt + lo_c, hi_c - lo_c);
      for (int i = hi_c; i < TC; ++i) dst[i] = 0.0f;
    }
#endif
  }
  barrier(CLK_LOCAL_MEM_FENCE);

  __global const WEIGHT_T* wk = Wt + k * (R * S);
  float wts[R * S];
  LOAD_TAPS(wts, wk)
  floatv acc[RPT];
#pragma unroll
  for (int q = 0; q < RPT; ++q) acc[q] = (floatv)(0.0f);
#pragma unroll
  for (int q = 0; q < RPT; ++q) {
#pragma unroll
    for (int r = 0; r < R; ++r) {
#pragma unroll
      for (int s = 0; s < S; ++s) {
#if PH == 2
        // Columns lx VW 2 + s DW + 2 i: phase (s DW) & 1, positions lx VW + (s DW) / 2 + i.
        acc[q] = MULADD((floatv)(wts[r * S + s]),
                        VLOAD(VW)(0, tile + (((s * DW) & 1) * TR + (ly * RPT + q) * SU + r * DH) * TCP + lx * VW +
                                         (s * DW) / 2),
                        acc[q]);
#else
        acc[q] = MULADD((floatv)(wts[r * S + s]),
                        load_local(tile + ((ly * RPT + q) * SU + r * DH) * TC, lx * VW * SV + s * DW), acc[q]);
#endif
      }
    }
  }
  const int ox0 = oxt + lx * VW;
  if (ox0 >= OW) return;   // past the barrier: leaving is safe now
#pragma unroll
  for (int q = 0; q < RPT; ++q) {
    const int oy = oyt + ly * RPT + q;
    if (oy < OH) {
      const int o = ((n * K + k) * OH + oy) * OW + ox0;
      STORE_OUT(VW, acc[q], min(VW, OW - ox0), epi, bias, residual, k, o, lo, hi, Y)
    }
  }
}

#else

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
  float wts[R * S];
  LOAD_TAPS(wts, wk)

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
        acc[q] = MULADD((floatv)(wts[r * S + s]), load_padded(xc + (iy0 + r * DH) * W, ix0 + s * DW), acc[q]);
      }
    }
#else
    if (oy0 + q < OH) {
      for (int r = 0; r < R; ++r) {
        const int iy = iy0 + r * DH;
        if (iy < 0 || iy >= H) continue;   // a padding row contributes nothing
        for (int s = 0; s < S; ++s) {
          acc[q] = MULADD((floatv)(wts[r * S + s]), load_inputs(xc + iy * W, ix0 + s * DW, W), acc[q]);
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

#endif
