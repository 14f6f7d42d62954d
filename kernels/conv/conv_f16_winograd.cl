// conv_f16_winograd: Winograd F(2x2, 3x3) (Lavin & Gray 2016) for 3x3, stride-1, undilated convolutions, in four
// kernels: filter transform U = G g G^T, input transform V = B^T d B of each 4x4 input tile (2x2 output tile plus
// halo), 16 independent products M = U V over the input channels, output transform Y = A^T M A plus the epilogue.
// Used by the conv_f16_winograd Impl (src/ops/conv/conv_f16_winograd.cpp), which runs all four per call.
//
// Layouts: X, W, Y as in kernels/conv/conv_common.h (groups: G independent problems, group g's channels at g * Cg
// and g * Kg). Tiles: T = N * TH * TW, TH = ceil(OH / 2), TW = ceil(OW / 2), tile t = (n * TH + ty) * TW + tx.
// Transformed data in fp32 (16 values per tile, per weight pair): U[e][k][c'] (k over all K, c' over Cg),
// V[e][g][c'][t], M[e][k][t]. 2.25x fewer multiplies than direct (16 per 2x2 outputs and input channel instead of
// 36); the transforms' extra passes over U, V and M cost bytes, which is why this wins only where the arithmetic
// dominates (many channels) and is refused by the Impl below 16 input channels per group.
// Tunables (the product kernel): VW tiles per work-item (8-16 for PoCL's SIMD, 1 on GCN), KPT output channels per
// work-item, LX.
#include "common/muladd.h"
#include "common/vector.h"

#ifndef VW
#define VW 1          // tiles per work-item in the product (1, 2, 4, 8, 16)
#endif
#ifndef KPT
#define KPT 4         // output channels per work-item in the product
#endif
#ifndef LX
#define LX 64         // work-group items along the tiles (product) or along the first dimension (transforms)
#endif
typedef VEC(float, VW) floatv;

// U[e][k][c'] = (G g G^T)[e] for g the 3x3 filter of (k, c'), G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1].
// Item (c', k); launched over (Cg rounded up to LX) x K.
__kernel __attribute__((reqd_work_group_size(LX, 1, 1)))
void conv_f16_winograd_filter(const int K, const int Cg, __global const half* restrict Wt, __global float* restrict U) {
  const int c = get_global_id(0), k = get_global_id(1);
  if (c >= Cg) return;
  float g[9];
  for (int i = 0; i < 9; ++i) g[i] = vload_half((k * Cg + c) * 9 + i, Wt);
  float t[12];   // G g: 4 x 3
  for (int j = 0; j < 3; ++j) {
    t[0 * 3 + j] = g[0 * 3 + j];
    t[1 * 3 + j] = 0.5f * (g[0 * 3 + j] + g[1 * 3 + j] + g[2 * 3 + j]);
    t[2 * 3 + j] = 0.5f * (g[0 * 3 + j] - g[1 * 3 + j] + g[2 * 3 + j]);
    t[3 * 3 + j] = g[2 * 3 + j];
  }
  const int plane = K * Cg;   // between the 16 components
  for (int i = 0; i < 4; ++i) {   // (G g) G^T, row i
    const float a = t[i * 3], b = t[i * 3 + 1], d = t[i * 3 + 2];
    __global float* u = U + (i * 4) * plane + k * Cg + c;
    u[0] = a;
    u[plane] = 0.5f * (a + b + d);
    u[2 * plane] = 0.5f * (a - b + d);
    u[3 * plane] = d;
  }
}

// V[e][g][c'][t] = (B^T d B)[e] for d the 4x4 input tile of tile t in channel g * Cg + c' (zeros outside X),
// B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]. Item (t, channel); launched over (T rounded up to LX) x C.
__kernel __attribute__((reqd_work_group_size(LX, 1, 1)))
void conv_f16_winograd_input(const int N, const int C, const int H, const int W, const int TH, const int TW,
                             const int PT, const int PL, __global const half* restrict X, __global float* restrict V) {
  const int t = get_global_id(0), ch = get_global_id(1);
  const int T = N * TH * TW;
  if (t >= T) return;
  const int n = t / (TH * TW);
  const int ty = (t - n * TH * TW) / TW;
  const int tx = t - n * TH * TW - ty * TW;
  const int iy0 = 2 * ty - PT, ix0 = 2 * tx - PL;
  __global const half* xc = X + (n * C + ch) * H * W;
  float d[16];
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 4; ++j) {
      const int iy = iy0 + i, ix = ix0 + j;
      d[i * 4 + j] = (iy >= 0 && iy < H && ix >= 0 && ix < W) ? vload_half(iy * W + ix, xc) : 0.0f;
    }
  }
  float b[16];   // B^T d
  for (int j = 0; j < 4; ++j) {
    b[0 * 4 + j] = d[0 * 4 + j] - d[2 * 4 + j];
    b[1 * 4 + j] = d[1 * 4 + j] + d[2 * 4 + j];
    b[2 * 4 + j] = d[2 * 4 + j] - d[1 * 4 + j];
    b[3 * 4 + j] = d[1 * 4 + j] - d[3 * 4 + j];
  }
  const int plane = C * T;   // between the 16 components; channel ch = g * Cg + c' sits at ch * T
  __global float* v = V + ch * T + t;
  for (int i = 0; i < 4; ++i) {   // (B^T d) B, row i
    const float a0 = b[i * 4], a1 = b[i * 4 + 1], a2 = b[i * 4 + 2], a3 = b[i * 4 + 3];
    v[(i * 4 + 0) * plane] = a0 - a2;
    v[(i * 4 + 1) * plane] = a1 + a2;
    v[(i * 4 + 2) * plane] = a2 - a1;
    v[(i * 4 + 3) * plane] = a1 - a3;
  }
}

// M[e][k][t] = sum over c' of U[e][k][c'] V[e][g][c'][t], k in group g. Item (tile block, batch (e, g) x channel
// block); launched over (ceil(T / VW) rounded up to LX) x 1 x (16 G ceil(Kg / KPT)).
__kernel __attribute__((reqd_work_group_size(LX, 1, 1)))
void conv_f16_winograd_product(const int K, const int Cg, const int G, const int T, __global const float* restrict U,
                               __global const float* restrict V, __global float* restrict M) {
  const int t0 = get_global_id(0) * VW;
  const int Kg = K / G;
  const int blocks = (Kg + KPT - 1) / KPT;
  if (t0 >= T) return;
  const int z = get_global_id(2);
  const int e = z / (G * blocks);
  const int g = (z - e * G * blocks) / blocks;
  const int k0 = g * Kg + (z - e * G * blocks - g * blocks) * KPT;   // first output channel (all K)
  const int kend = (g + 1) * Kg;
  const int count = min(VW, T - t0);
  __global const float* u = U + (e * K + k0) * Cg;
  __global const float* v = V + (e * G + g) * Cg * T + t0;
  floatv acc[KPT];
  for (int j = 0; j < KPT; ++j) acc[j] = (floatv)(0.0f);
  for (int c = 0; c < Cg; ++c) {
    floatv vv;
    if (count == VW) {
      vv = VLOAD(VW)(0, v + c * T);
    } else {
      float tmp[VW];
      for (int i = 0; i < VW; ++i) tmp[i] = i < count ? v[c * T + i] : 0.0f;
      vv = VLOAD(VW)(0, tmp);
    }
    for (int j = 0; j < KPT; ++j) {
      const float uu = k0 + j < kend ? u[j * Cg + c] : 0.0f;
      acc[j] = MULADD((floatv)(uu), vv, acc[j]);
    }
  }
  for (int j = 0; j < KPT; ++j) {
    if (k0 + j >= kend) break;
    __global float* m = M + (e * K + k0 + j) * T + t0;
    if (count == VW) {
      VSTORE(VW)(acc[j], 0, m);
    } else {
      float tmp[VW];
      VSTORE(VW)(acc[j], 0, tmp);
      for (int i = 0; i < count; ++i) m[i] = tmp[i];
    }
  }
}

// Y's 2x2 tile t of channel k = A^T m A, A^T = [1 1 1 0; 0 1 -1 -1], then the epilogue (kernels/conv/conv_common.h's
// rules, repeated here: this file includes no window defines). Item (t, k); launched over (T rounded up to LX) x K.
__kernel __attribute__((reqd_work_group_size(LX, 1, 1)))
void conv_f16_winograd_output(const int N, const int K, const int OH, const int OW, const int TH, const int TW,
                              __global const float* restrict M, __global const float* restrict bias,
                              __global const half* restrict residual, const int epi, const float lo, const float hi,
                              __global half* restrict Y) {
  const int t = get_global_id(0), k = get_global_id(1);
  const int T = N * TH * TW;
  if (t >= T) return;
  const int n = t / (TH * TW);
  const int ty = (t - n * TH * TW) / TW;
  const int tx = t - n * TH * TW - ty * TW;
  float m[16];
  for (int e = 0; e < 16; ++e) m[e] = M[(e * K + k) * T + t];
  float a[8];   // A^T m: 2 x 4
  for (int j = 0; j < 4; ++j) {
    a[j] = m[j] + m[4 + j] + m[8 + j];
    a[4 + j] = m[4 + j] - m[8 + j] - m[12 + j];
  }
  for (int i = 0; i < 2; ++i) {
    const int oy = 2 * ty + i;
    if (oy >= OH) break;
    const float y0 = a[i * 4] + a[i * 4 + 1] + a[i * 4 + 2];
    const float y1 = a[i * 4 + 1] - a[i * 4 + 2] - a[i * 4 + 3];
    for (int j = 0; j < 2; ++j) {
      const int ox = 2 * tx + j;
      if (ox >= OW) break;
      const int o = ((n * K + k) * OH + oy) * OW + ox;
      float y = j == 0 ? y0 : y1;
      if (epi & 1) y += bias[k];
      if (epi & 2) y += vload_half(o, residual);
      if (epi & 4) y = y < 0.0f ? 0.0f : y;
      if (epi & 8) y = y < lo ? lo : (y > hi ? hi : y);
      vstore_half_rte(y, o, Y);
    }
  }
}
