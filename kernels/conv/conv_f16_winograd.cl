// conv_f16_winograd: Winograd F(m x m, 3x3) (Lavin & Gray 2016) for 3x3, stride-1, undilated convolutions, m = 2 or 4
// (WINO_M), in four kernels: filter transform U = G g G^T, input transform V = B^T d B of each a x a input tile
// (a = m + 2: the m x m output tile plus its halo), a^2 independent products M = U V over the input channels, output
// transform Y = A^T M A plus the epilogue. Used by the conv_f16_winograd (m = 2) and conv_f16_winograd4 (m = 4)
// Impls (src/ops/conv/conv_f16_winograd.cpp), which run all four per call.
//
// Layouts: X, W, Y as in kernels/conv/conv_common.h (groups: G independent problems, group g's channels at g * Cg
// and g * Kg). Tiles: T = N * TH * TW, TH = ceil(OH / m), TW = ceil(OW / m), tile t = (n * TH + ty) * TW + tx.
// Transformed data in fp32 (E = a^2 values per tile, per weight pair): U[e][g][k block][KPT][c'] (see the filter
// kernel), V[e][g][c'][t], M[e][k][t]. Multiplies per m x m outputs and input channel: E instead of 9 m^2, 2.25x fewer
// for m = 2, 4x fewer for m = 4 (whose transforms cost more adds and whose constants grow, still far inside the fp32
// error budget: see src/reference/reference.hpp). The passes over U, V and M cost bytes, which is why this wins only
// where the arithmetic dominates (many channels) and is refused by the Impls below 16 channels per group.
// Tunables: VW tiles per work-item (8-16 for PoCL's SIMD, 1 on GCN; the product and the input/output transforms),
// KPT output channels per work-item of the product, LX its work-group size. The transforms' work-groups are TLX
// items, fixed by the Impl.
#ifndef VW
#define VW 1          // tiles per work-item, along a row of tiles (1, 2, 4, 8, 16)
#endif
#include "common/muladd.h"
#include "conv/conv_common.h"   // VW's floatv, LDV / STORE_OUT and the epilogue (its window defaults unused)

#ifndef WINO_M
#define WINO_M 2      // output tile side: F(2x2, 3x3) or F(4x4, 3x3)
#endif
#if WINO_M != 2 && WINO_M != 4
#error "WINO_M must be 2 or 4"
#endif
#define WINO_A (WINO_M + 2)        // a: input tile side
#define WINO_E (WINO_A * WINO_A)   // E: transformed values per tile
#ifndef KPT
#define KPT 4         // output channels per work-item in the product
#endif
#ifndef LX
#define LX 64         // work-group items along the tiles (product)
#endif
#ifndef TLX
#define TLX 64        // work-group items along the first dimension of the transforms (the Impl passes its own)
#endif

// HC: values per vector load or store when moving the m VW columns of VW tiles (16 at most; m VW is a power of 2).
#if WINO_M * VW >= 16
#define HC 16
#elif WINO_M * VW == 8
#define HC 8
#elif WINO_M * VW == 4
#define HC 4
#else
#define HC 2
#endif

// Tile items of the input and output transforms: VW consecutive tiles of one row of tiles (the last of a row may
// hold fewer). Sets n, ty, tx0 (first tile's column) and count (tiles held); false past the last item.
bool tile_item(const int item, const int N, const int TH, const int TW, int* n, int* ty, int* tx0, int* count) {
  const int per_row = (TW + VW - 1) / VW;
  if (item >= N * TH * per_row) return false;
  *n = item / (TH * per_row);
  const int rest = item - *n * TH * per_row;
  *ty = rest / per_row;
  *tx0 = (rest - *ty * per_row) * VW;
  *count = min(VW, TW - *tx0);
  return true;
}

// count (1..VW) consecutive floats at p as one vector, zeros past count.
floatv load_tiles(__global const float* p, const int count) {
  if (count == VW) return VLOAD(VW)(0, p);
  float v[VW];
  for (int i = 0; i < VW; ++i) v[i] = i < count ? p[i] : 0.0f;
  return VLOAD(VW)(0, v);
}

// The first count (1..VW) lanes of v to p.
void store_tiles(const floatv v, __global float* p, const int count) {
  if (count == VW) {
    VSTORE(VW)(v, 0, p);
  } else {
    float t[VW];
    VSTORE(VW)(v, 0, t);
    for (int i = 0; i < count; ++i) p[i] = t[i];
  }
}

// The three 1-D transforms, on x[0], x[s], x[2 s], .. (s: stride, to run along columns and rows of a tile).
// Filter: WINO_A values from 3, u = G g.
void filter_1d(const floatv* g, const int s, floatv* u, const int su) {
#if WINO_M == 2   // G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
  u[0] = g[0];
  u[su] = 0.5f * (g[0] + g[s] + g[2 * s]);
  u[2 * su] = 0.5f * (g[0] - g[s] + g[2 * s]);
  u[3 * su] = g[2 * s];
#else   // G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
  const floatv even = g[0] + g[2 * s], g0 = g[0], g1 = g[s], g2 = g[2 * s];
  u[0] = 0.25f * g0;
  u[su] = (-1.0f / 6.0f) * (even + g1);
  u[2 * su] = (-1.0f / 6.0f) * (even - g1);
  u[3 * su] = (1.0f / 24.0f) * g0 + (1.0f / 12.0f) * g1 + (1.0f / 6.0f) * g2;
  u[4 * su] = (1.0f / 24.0f) * g0 - (1.0f / 12.0f) * g1 + (1.0f / 6.0f) * g2;
  u[5 * su] = g2;
#endif
}

// Input: WINO_A values from WINO_A, y = B^T x.
void input_1d(const floatv* x, const int s, floatv* y, const int sy) {
#if WINO_M == 2   // B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
  y[0] = x[0] - x[2 * s];
  y[sy] = x[s] + x[2 * s];
  y[2 * sy] = x[2 * s] - x[s];
  y[3 * sy] = x[s] - x[3 * s];
#else   // B^T rows: [4 0 -5 0 1 0], [0 -4 -4 1 1 0], [0 4 -4 -1 1 0], [0 -2 -1 2 1 0], [0 2 -1 -2 1 0], [0 4 0 -5 0 1]
  const floatv x0 = x[0], x1 = x[s], x2 = x[2 * s], x3 = x[3 * s], x4 = x[4 * s], x5 = x[5 * s];
  const floatv a = x4 - 4.0f * x2, b = x3 - 4.0f * x1;   // rows 1 and 2: a +- b
  const floatv c = x4 - x2, d = 2.0f * (x3 - x1);         // rows 3 and 4: c +- d
  y[0] = 4.0f * x0 - 5.0f * x2 + x4;
  y[sy] = a + b;
  y[2 * sy] = a - b;
  y[3 * sy] = c + d;
  y[4 * sy] = c - d;
  y[5 * sy] = 4.0f * x1 - 5.0f * x3 + x5;
#endif
}

// Output: WINO_M values from WINO_A, o = A^T m.
void output_1d(const floatv* m, const int s, floatv* o, const int so) {
#if WINO_M == 2   // A^T = [1 1 1 0; 0 1 -1 -1]
  o[0] = m[0] + m[s] + m[2 * s];
  o[so] = m[s] - m[2 * s] - m[3 * s];
#else   // A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
  const floatv p12 = m[s] + m[2 * s], m12 = m[s] - m[2 * s];
  const floatv p34 = m[3 * s] + m[4 * s], m34 = m[3 * s] - m[4 * s];
  o[0] = m[0] + p12 + p34;
  o[so] = m12 + 2.0f * m34;
  o[2 * so] = p12 + 4.0f * p34;
  o[3 * so] = m12 + 8.0f * m34 + m[5 * s];
#endif
}

// U = G g G^T for g the 3x3 filter of (k, c'), laid out for the product: U[e][g][kb][j][c'] for output channel
// k = g * Kg + kb * KPT + j, blocks of KPT channels padded with zeros past Kg (so that the product needs no test).
// Item (VW consecutive input channels, block of KPT output channels), the input channels in the vector lanes: their
// VW filters are 9 VW consecutive weights (vector loads), their transforms VW consecutive floats of U (vector
// stores). On PoCL a scalar item per filter took 9.3 of the 13.3 ms of conv_f16:n1c512h7w7k512r3s3p1u1.
// Launched over (ceil(Cg / VW) rounded up to TLX) x (G * ceil(Kg / KPT)).
__kernel __attribute__((reqd_work_group_size(TLX, 1, 1)))
void conv_f16_winograd_filter(const int K, const int Cg, const int G, __global const STORE_T* restrict Wt,
                              __global float* restrict U) {
  const int c0 = get_global_id(0) * VW, block = get_global_id(1);   // block: over all groups
  if (c0 >= Cg) return;
  const int count = min(VW, Cg - c0);
  const int Kg = K / G;
  const int blocks = (Kg + KPT - 1) / KPT;
  const int g_ = block / blocks;                  // group
  const int k0 = (block - g_ * blocks) * KPT;     // first channel in the group
  const int plane = G * blocks * KPT * Cg;        // between the E components
  for (int j = 0; j < KPT; ++j) {
    const int kk = k0 + j;
    floatv g[9];   // g[i]: weight i (row-major 3x3) of each lane's filter
    if (kk >= Kg) {
      for (int i = 0; i < 9; ++i) g[i] = (floatv)(0.0f);
    } else {
      __global const STORE_T* src = Wt + ((g_ * Kg + kk) * Cg + c0) * 9;
      float w[9 * VW];   // lane l's filter at w[9 l ..]
      if (count == VW) {
        for (int q = 0; q < 9; ++q) VSTORE(VW)(LDV(VW)(q, src), q, w);
      } else {
        for (int q = 0; q < 9 * VW; ++q) w[q] = q < 9 * count ? LD(q, src) : 0.0f;
      }
      for (int i = 0; i < 9; ++i) {
        float lanes[VW];
        for (int l = 0; l < VW; ++l) lanes[l] = w[9 * l + i];
        g[i] = VLOAD(VW)(0, lanes);
      }
    }
    floatv t[WINO_A * 3];   // G g: WINO_A x 3
    for (int i = 0; i < 3; ++i) filter_1d(g + i, 3, t + i, 3);
    floatv u[WINO_E];       // (G g) G^T: WINO_A x WINO_A
    for (int i = 0; i < WINO_A; ++i) filter_1d(t + i * 3, 1, u + i * WINO_A, 1);
    __global float* out = U + (block * KPT + j) * Cg + c0;
    for (int e = 0; e < WINO_E; ++e) store_tiles(u[e], out + e * plane, count);
  }
}

// V[e][g][c'][t] = (B^T d B)[e] for d the WINO_A x WINO_A input tile of tile t in channel g * Cg + c' (zeros outside
// X). Item (VW tiles of a row, channel), the tiles in the vector lanes: each of the WINO_A input rows is m VW + 2
// consecutive values (vector loads inside X, element by element at its first and last rows).
// Launched over (N * TH * ceil(TW / VW) rounded up to TLX) x C.
__kernel __attribute__((reqd_work_group_size(TLX, 1, 1)))
void conv_f16_winograd_input(const int N, const int C, const int H, const int W, const int TH, const int TW,
                             const int PT, const int PL, __global const STORE_T* restrict X,
                             __global float* restrict V) {
  const int ch = get_global_id(1);
  int n, ty, tx0, count;
  if (!tile_item(get_global_id(0), N, TH, TW, &n, &ty, &tx0, &count)) return;
  const int T = N * TH * TW;
  const int iy0 = WINO_M * ty - PT, ix0 = WINO_M * tx0 - PL;
  floatv d[WINO_E];   // d[i * WINO_A + j]: row i, column j of each lane's tile
  for (int i = 0; i < WINO_A; ++i) {
    const int iy = iy0 + i;
    float row[WINO_M * VW + 2];   // columns ix0 .. ix0 + m VW + 1
    const int first = (n * C + ch) * H * W + iy * W + ix0;   // X index of column ix0
    if (iy < 0 || iy >= H) {
      for (int c = 0; c < WINO_M * VW + 2; ++c) row[c] = 0.0f;
    } else if (first >= 0 && first + WINO_M * VW + 2 <= N * C * H * W) {
      // Vector loads, also where the span crosses the row's ends (it then reads neighbouring rows of X, in the
      // buffer) and zeros for the columns outside the row: the padding.
      __global const STORE_T* xr = X + first;
      for (int c = 0; c < WINO_M * VW; c += HC) VSTORE(HC)(LDV(HC)(0, xr + c), 0, row + c);
      row[WINO_M * VW] = LD(WINO_M * VW, xr);
      row[WINO_M * VW + 1] = LD(WINO_M * VW + 1, xr);
      for (int c = 0; c < WINO_M * VW + 2; ++c) row[c] = (ix0 + c >= 0 && ix0 + c < W) ? row[c] : 0.0f;
    } else {   // the span would leave X (its first or last row)
      for (int c = 0; c < WINO_M * VW + 2; ++c) {
        const int ix = ix0 + c;
        row[c] = (ix >= 0 && ix < W) ? LD((n * C + ch) * H * W + iy * W + ix, X) : 0.0f;
      }
    }
    for (int j = 0; j < WINO_A; ++j) {   // tile l's column j is row[m l + j]
      float lanes[VW];
      for (int l = 0; l < VW; ++l) lanes[l] = row[WINO_M * l + j];
      d[i * WINO_A + j] = VLOAD(VW)(0, lanes);
    }
  }
  floatv b[WINO_E];   // B^T d
  for (int j = 0; j < WINO_A; ++j) input_1d(d + j, WINO_A, b + j, WINO_A);
  floatv v[WINO_E];   // (B^T d) B
  for (int i = 0; i < WINO_A; ++i) input_1d(b + i * WINO_A, 1, v + i * WINO_A, 1);
  const int plane = C * T;   // between the WINO_E components; channel ch = g * Cg + c' sits at ch * T
  __global float* out = V + ch * T + (n * TH + ty) * TW + tx0;
  for (int e = 0; e < WINO_E; ++e) store_tiles(v[e], out + e * plane, count);
}

// M[e][k][t] = sum over c' of U[e][k][c'] V[e][g][c'][t], k in group g (U in the filter kernel's blocks). Item
// (VW tiles, batch (e, g) x channel block); launched over (ceil(T / VW) rounded up to LX) x 1 x (WINO_E G ceil(Kg / KPT)).
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
  const int kb = z - e * G * blocks - g * blocks;
  const int k0 = g * Kg + kb * KPT;   // first output channel (all K)
  const int kend = (g + 1) * Kg;
  const int count = min(VW, T - t0);
  __global const float* u = U + ((e * G + g) * blocks + kb) * Cg * KPT;
  __global const float* v = V + (e * G + g) * Cg * T + t0;
  floatv acc[KPT];
  for (int j = 0; j < KPT; ++j) acc[j] = (floatv)(0.0f);
  for (int c = 0; c < Cg; ++c) {
    const floatv vv = load_tiles(v + c * T, count);
    for (int j = 0; j < KPT; ++j) acc[j] = MULADD((floatv)(u[j * Cg + c]), vv, acc[j]);
  }
  for (int j = 0; j < KPT; ++j) {
    if (k0 + j >= kend) break;
    store_tiles(acc[j], M + (e * K + k0 + j) * T + t0, count);
  }
}

// Y's m x m tiles = A^T M A, then the epilogue (conv_common.h's STORE_OUT). Item (VW tiles of a row, k), the tiles
// in the vector lanes; each output row's m VW columns are interleaved into HC-wide stores.
// Launched over (N * TH * ceil(TW / VW) rounded up to TLX) x K.
__kernel __attribute__((reqd_work_group_size(TLX, 1, 1)))
void conv_f16_winograd_output(const int N, const int K, const int OH, const int OW, const int TH, const int TW,
                              __global const float* restrict M, __global const float* restrict bias,
                              __global const STORE_T* restrict residual, const int epi, const float lo,
                              const float hi, __global STORE_T* restrict Y) {
  const int k = get_global_id(1);
  int n, ty, tx0, count;
  if (!tile_item(get_global_id(0), N, TH, TW, &n, &ty, &tx0, &count)) return;
  const int T = N * TH * TW;
  const int t0 = (n * TH + ty) * TW + tx0;
  floatv m[WINO_E];
  for (int e = 0; e < WINO_E; ++e) m[e] = load_tiles(M + (e * K + k) * T + t0, count);
  floatv a[WINO_M * WINO_A];   // A^T m: m x WINO_A
  for (int j = 0; j < WINO_A; ++j) output_1d(m + j, WINO_A, a + j, WINO_A);
  floatv y[WINO_M * WINO_M];  // (A^T m) A: m x m
  for (int i = 0; i < WINO_M; ++i) output_1d(a + i * WINO_A, 1, y + i * WINO_M, 1);
  const int ox0 = WINO_M * tx0;
  const int columns = min(WINO_M * VW, OW - ox0);   // this item's outputs per row
  for (int i = 0; i < WINO_M; ++i) {
    const int oy = WINO_M * ty + i;
    if (oy >= OH) break;
    float out[WINO_M * VW];   // tile l's column j at m l + j
    for (int j = 0; j < WINO_M; ++j) {
      float lanes[VW];
      VSTORE(VW)(y[i * WINO_M + j], 0, lanes);
      for (int l = 0; l < VW; ++l) out[WINO_M * l + j] = lanes[l];
    }
    const int o = ((n * K + k) * OH + oy) * OW + ox0;
    for (int c = 0; c < columns; c += HC) {
      STORE_OUT(HC, VLOAD(HC)(0, out + c), min(HC, columns - c), epi, bias, residual, k, o + c, lo, hi, Y);
    }
  }
}
