// conv_f16_winograd: Winograd F(2x2, 3x3) (Lavin & Gray 2016) for 3x3, stride-1, undilated convolutions, in four
// kernels: filter transform U = G g G^T, input transform V = B^T d B of each 4x4 input tile (2x2 output tile plus
// halo), 16 independent products M = U V over the input channels, output transform Y = A^T M A plus the epilogue.
// Used by the conv_f16_winograd Impl (src/ops/conv/conv_f16_winograd.cpp), which runs all four per call.
//
// Layouts: X, W, Y as in kernels/conv/conv_common.h (groups: G independent problems, group g's channels at g * Cg
// and g * Kg). Tiles: T = N * TH * TW, TH = ceil(OH / 2), TW = ceil(OW / 2), tile t = (n * TH + ty) * TW + tx.
// Transformed data in fp32 (16 values per tile, per weight pair): U[e][g][k block][c'][KPT] (see the filter
// kernel), V[e][g][c'][t], M[e][k][t]. 2.25x fewer multiplies than direct (16 per 2x2 outputs and input channel instead of
// 36); the transforms' extra passes over U, V and M cost bytes, which is why this wins only where the arithmetic
// dominates (many channels) and is refused by the Impl below 16 input channels per group.
// Tunables: VW tiles per work-item (8-16 for PoCL's SIMD, 1 on GCN; the product and the input/output transforms),
// KPT output channels per work-item of the product, LX its work-group size. The transforms' work-groups are TLX
// items, fixed by the Impl.
#ifndef VW
#define VW 1          // tiles per work-item, along a row of tiles (1, 2, 4, 8, 16)
#endif
#include "common/muladd.h"
#include "conv/conv_common.h"   // VW's floatv, VLOAD_HALF / STORE_OUT and the epilogue (its window defaults unused)

#ifndef KPT
#define KPT 4         // output channels per work-item in the product
#endif
#ifndef LX
#define LX 64         // work-group items along the tiles (product)
#endif
#ifndef TLX
#define TLX 64        // work-group items along the first dimension of the transforms (the Impl passes its own)
#endif

// HC: halves per vector load or store when moving the 2 VW columns of VW tiles (16 at most).
#if VW == 1
#define HC 2
#elif VW == 2
#define HC 4
#elif VW == 4
#define HC 8
#else
#define HC 16
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

// U = (G g G^T) for g the 3x3 filter of (k, c'), G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1], laid out for the
// product: U[e][g][kb][c'][j] for output channel k = g * Kg + kb * KPT + j, blocks of KPT channels padded with zeros
// past Kg (so that the product reads KPT consecutive floats per input channel, with no test).
// Item (c', padded channel); launched over (Cg rounded up to TLX) x (G * ceil(Kg / KPT) * KPT).
__kernel __attribute__((reqd_work_group_size(TLX, 1, 1)))
void conv_f16_winograd_filter(const int K, const int Cg, const int G, __global const half* restrict Wt,
                              __global float* restrict U) {
  const int c = get_global_id(0), padded = get_global_id(1);
  if (c >= Cg) return;
  const int Kg = K / G;
  const int per_group = (Kg + KPT - 1) / KPT * KPT;
  const int g_ = padded / per_group;   // group
  const int kk = padded - g_ * per_group;   // channel in the group, padding included
  float g[9];
  for (int i = 0; i < 9; ++i) g[i] = kk < Kg ? vload_half(((g_ * Kg + kk) * Cg + c) * 9 + i, Wt) : 0.0f;
  float t[12];   // G g: 4 x 3
  for (int j = 0; j < 3; ++j) {
    t[0 * 3 + j] = g[0 * 3 + j];
    t[1 * 3 + j] = 0.5f * (g[0 * 3 + j] + g[1 * 3 + j] + g[2 * 3 + j]);
    t[2 * 3 + j] = 0.5f * (g[0 * 3 + j] - g[1 * 3 + j] + g[2 * 3 + j]);
    t[3 * 3 + j] = g[2 * 3 + j];
  }
  const int plane = G * per_group * Cg;   // between the 16 components
  const int kb = kk / KPT, j = kk - kb * KPT;
  __global float* u = U + ((g_ * per_group / KPT + kb) * Cg + c) * KPT + j;
  for (int i = 0; i < 4; ++i) {   // (G g) G^T, row i
    const float a = t[i * 3], b = t[i * 3 + 1], d = t[i * 3 + 2];
    u[(i * 4 + 0) * plane] = a;
    u[(i * 4 + 1) * plane] = 0.5f * (a + b + d);
    u[(i * 4 + 2) * plane] = 0.5f * (a - b + d);
    u[(i * 4 + 3) * plane] = d;
  }
}

// V[e][g][c'][t] = (B^T d B)[e] for d the 4x4 input tile of tile t in channel g * Cg + c' (zeros outside X),
// B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]. Item (VW tiles of a row, channel), the tiles in the vector lanes:
// each of the 4 input rows is 2 VW + 2 consecutive halves (vector loads inside X, element by element at its edges).
// Launched over (N * TH * ceil(TW / VW) rounded up to TLX) x C.
__kernel __attribute__((reqd_work_group_size(TLX, 1, 1)))
void conv_f16_winograd_input(const int N, const int C, const int H, const int W, const int TH, const int TW,
                             const int PT, const int PL, __global const half* restrict X, __global float* restrict V) {
  const int ch = get_global_id(1);
  int n, ty, tx0, count;
  if (!tile_item(get_global_id(0), N, TH, TW, &n, &ty, &tx0, &count)) return;
  const int T = N * TH * TW;
  const int iy0 = 2 * ty - PT, ix0 = 2 * tx0 - PL;
  __global const half* xc = X + (n * C + ch) * H * W;
  floatv d[16];   // d[i * 4 + j]: row i, column j of each lane's tile
  for (int i = 0; i < 4; ++i) {
    const int iy = iy0 + i;
    float row[2 * VW + 2];   // columns ix0 .. ix0 + 2 VW + 1
    const int first = (n * C + ch) * H * W + iy * W + ix0;   // X index of column ix0
    if (iy < 0 || iy >= H) {
      for (int c = 0; c < 2 * VW + 2; ++c) row[c] = 0.0f;
    } else if (first >= 0 && first + 2 * VW + 2 <= N * C * H * W) {
      // Vector loads, also where the span crosses the row's ends (it then reads neighbouring rows of X, in the
      // buffer) and zeros for the columns outside the row: the padding.
      __global const half* xr = X + first;
      for (int c = 0; c < 2 * VW; c += HC) VSTORE(HC)(VLOAD_HALF(HC)(0, xr + c), 0, row + c);
      row[2 * VW] = vload_half(2 * VW, xr);
      row[2 * VW + 1] = vload_half(2 * VW + 1, xr);
      for (int c = 0; c < 2 * VW + 2; ++c) row[c] = (ix0 + c >= 0 && ix0 + c < W) ? row[c] : 0.0f;
    } else {   // the span would leave X (its first or last row)
      for (int c = 0; c < 2 * VW + 2; ++c) {
        const int ix = ix0 + c;
        row[c] = (ix >= 0 && ix < W) ? vload_half(iy * W + ix, xc) : 0.0f;
      }
    }
    for (int j = 0; j < 4; ++j) {   // tile l's column j is row[2 l + j]
      float lanes[VW];
      for (int l = 0; l < VW; ++l) lanes[l] = row[2 * l + j];
      d[i * 4 + j] = VLOAD(VW)(0, lanes);
    }
  }
  floatv b[16];   // B^T d
  for (int j = 0; j < 4; ++j) {
    b[0 * 4 + j] = d[0 * 4 + j] - d[2 * 4 + j];
    b[1 * 4 + j] = d[1 * 4 + j] + d[2 * 4 + j];
    b[2 * 4 + j] = d[2 * 4 + j] - d[1 * 4 + j];
    b[3 * 4 + j] = d[1 * 4 + j] - d[3 * 4 + j];
  }
  const int plane = C * T;   // between the 16 components; channel ch = g * Cg + c' sits at ch * T
  __global float* v = V + ch * T + (n * TH + ty) * TW + tx0;
  for (int i = 0; i < 4; ++i) {   // (B^T d) B, row i
    const floatv a0 = b[i * 4], a1 = b[i * 4 + 1], a2 = b[i * 4 + 2], a3 = b[i * 4 + 3];
    store_tiles(a0 - a2, v + (i * 4 + 0) * plane, count);
    store_tiles(a1 + a2, v + (i * 4 + 1) * plane, count);
    store_tiles(a2 - a1, v + (i * 4 + 2) * plane, count);
    store_tiles(a1 - a3, v + (i * 4 + 3) * plane, count);
  }
}

// M[e][k][t] = sum over c' of U[e][k][c'] V[e][g][c'][t], k in group g (U in the filter kernel's blocks). Item
// (tile block, batch (e, g) x channel block); launched over (ceil(T / VW) rounded up to LX) x 1 x (16 G ceil(Kg / KPT)).
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
    for (int j = 0; j < KPT; ++j) acc[j] = MULADD((floatv)(u[c * KPT + j]), vv, acc[j]);
  }
  for (int j = 0; j < KPT; ++j) {
    if (k0 + j >= kend) break;
    store_tiles(acc[j], M + (e * K + k0 + j) * T + t0, count);
  }
}

// Y's 2x2 tiles = A^T m A, A^T = [1 1 1 0; 0 1 -1 -1], then the epilogue (conv_common.h's STORE_OUT). Item (VW
// tiles of a row, k), the tiles in the vector lanes; each output row's 2 VW columns are interleaved into HC-wide
// stores. Launched over (N * TH * ceil(TW / VW) rounded up to TLX) x K.
__kernel __attribute__((reqd_work_group_size(TLX, 1, 1)))
void conv_f16_winograd_output(const int N, const int K, const int OH, const int OW, const int TH, const int TW,
                              __global const float* restrict M, __global const float* restrict bias,
                              __global const half* restrict residual, const int epi, const float lo, const float hi,
                              __global half* restrict Y) {
  const int k = get_global_id(1);
  int n, ty, tx0, count;
  if (!tile_item(get_global_id(0), N, TH, TW, &n, &ty, &tx0, &count)) return;
  const int T = N * TH * TW;
  const int t0 = (n * TH + ty) * TW + tx0;
  floatv m[16];
  for (int e = 0; e < 16; ++e) m[e] = load_tiles(M + (e * K + k) * T + t0, count);
  floatv a[8];   // A^T m: 2 x 4
  for (int j = 0; j < 4; ++j) {
    a[j] = m[j] + m[4 + j] + m[8 + j];
    a[4 + j] = m[4 + j] - m[8 + j] - m[12 + j];
  }
  const int ox0 = 2 * tx0;
  const int columns = min(2 * VW, OW - ox0);   // this item's outputs per row
  for (int i = 0; i < 2; ++i) {
    const int oy = 2 * ty + i;
    if (oy >= OH) break;
    float y0[VW], y1[VW], out[2 * VW];
    VSTORE(VW)(a[i * 4] + a[i * 4 + 1] + a[i * 4 + 2], 0, y0);
    VSTORE(VW)(a[i * 4 + 1] - a[i * 4 + 2] - a[i * 4 + 3], 0, y1);
    for (int l = 0; l < VW; ++l) {
      out[2 * l] = y0[l];
      out[2 * l + 1] = y1[l];
    }
    const int o = ((n * K + k) * OH + oy) * OW + ox0;
    for (int c = 0; c < columns; c += HC) STORE_OUT(HC, VLOAD(HC)(0, out + c), min(HC, columns - c), epi, bias, residual, k, o + c, lo, hi, Y);
  }
}
