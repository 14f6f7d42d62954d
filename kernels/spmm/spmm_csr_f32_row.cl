// spmm_csr_f32_row: Y = A X (+ bias, ReLU) with one work-item per (row of A, block of VW * WPT columns of Y): the
// CSR-scalar scheme. Used by the spmm_csr_f32_row Impl (src/ops/spmm/spmm_csr_f32_row.cpp); SpMV is N = 1.
//
// Layout: include/ellesmere/formats/csr.h (A in CSR; X K x N and Y M x N row-major). Work-item (x, y) computes row
// r = y, columns c0 = x * VW * WPT onwards; work-groups are LC x LR items.
// Tunables: VW, WPT (spmm_common.h); UNR nonzeros in flight per step, each into its own accumulators (hides the
// multiply-add latency when a row's products would otherwise form one dependency chain, as in SpMV); NZV; LC, LR.
// NZV > 1 (only with a one-column block, VW = WPT = 1: SpMV, or SpMM on GCN) walks a row NZV nonzeros at a time:
// one vector load of NZV values, NZV gathered elements of X, one vector multiply-add. On a CPU (PoCL) that takes
// about one cycle per nonzero, against 2.5 for the scalar walk; on GCN, where each work-item is one lane, it only
// widens each lane's (uncoalesced) loads, and NZV = 1 is the default.
// Wins for short, even rows: no synchronisation at all, and each item streams its row's values and indices once.
// On GCN a wavefront's lanes take neighbouring rows (SpMV) or neighbouring columns (SpMM, VW = 1); a row much longer
// than its neighbours stalls its whole wavefront, which is what spmm_csr_f32_vector and _balanced are for. On a CPU
// (PoCL) an item is a loop iteration, so uneven rows cost nothing beyond their own work.
// Nothing here is faster on Polaris than fp32 arithmetic allows; sparse products are bound by the bytes they move.
#include "spmm/spmm_common.h"

#ifndef UNR
#define UNR 1         // nonzeros per step, each with its own accumulators (1, 2, 4 or 8)
#endif
#ifndef NZV
#define NZV 1         // nonzeros per vector step (1, 4 or 8); > 1 needs VW = WPT = 1
#endif
#ifndef LC
#define LC 1          // work-group items along the column blocks
#endif
#ifndef LR
#define LR 64         // work-group items along the rows
#endif

// No NZV = 16: summing a float16's lanes takes a shuffle of its upper half, which oclgrind's uninitialised-value
// checker misreads (it reports every such read); UNR = 2 with NZV = 8 walks the same 16 nonzeros per step.
#if NZV != 1 && NZV != 4 && NZV != 8
#error "spmm_csr_f32_row: NZV must be 1, 4 or 8"
#endif
#if NZV > 1 && CPI != 1
#error "spmm_csr_f32_row: NZV > 1 needs a one-column block (VW = WPT = 1)"
#endif

#if NZV > 1
typedef VEC(float, NZV) floatz;

// The NZV elements x[c[0] * N], x[c[1] * N], ... (c: a pointer to NZV column indices) as one vector, built from its
// components with scalar index loads. Two slower alternatives on a CPU: filling a private array and loading it as a
// vector (a failed store-to-load forwarding per step), or a vector load of the indices (each then extracted from
// the vector register, which costs more than loading it again).
#define GX_(x, c, i, N) (x)[(c)[i] * (N)]
#define GATHER4_(x, c, o, N) GX_(x, c, o, N), GX_(x, c, o + 1, N), GX_(x, c, o + 2, N), GX_(x, c, o + 3, N)
#if NZV == 4
#define GATHER(x, c, N) ((float4)(GATHER4_(x, c, 0, N)))
#else
#define GATHER(x, c, N) ((float8)(GATHER4_(x, c, 0, N), GATHER4_(x, c, 4, N)))
#endif

// The sum of a vector's lanes, as dot products of four lanes with ones (a fixed order on a given device). Two
// slower or unusable alternatives: through a private array, PoCL spends some 40 cycles per work-item (more than a
// whole row of a 99 %-sparse matrix costs); adding the components one by one becomes, after LLVM's optimisation,
// vector shuffles with undefined lanes, which crash oclgrind's uninitialised-value checker.
#define ONES4 ((float4)(1.0f))
#if NZV == 4
#define HSUM(v) dot((v), ONES4)
#else
#define HSUM(v) (dot((v).lo, ONES4) + dot((v).hi, ONES4))
#endif

// The sum over nonzeros start..end-1 of a row of values[p] * X[col_idx[p]][c0] (xc = X + c0), NZV nonzeros per step
// into UNR vector accumulators, then the lanes, then the last end - start mod NZV nonzeros: a fixed order that
// depends only on the row, never on the launch.
float row_dot_nzv(const int start, const int end, __global const int* restrict col_idx,
                  __global const float* restrict values, __global const float* restrict xc, const int N) {
  floatz acc[UNR];
  for (int u = 0; u < UNR; ++u) acc[u] = (floatz)(0.0f);
  int p = start;
  for (; p + UNR * NZV <= end; p += UNR * NZV) {
    for (int u = 0; u < UNR; ++u) {
      const int q = p + u * NZV;
      acc[u] = MULADD(VLOAD(NZV)(0, values + q), GATHER(xc, col_idx + q, N), acc[u]);
    }
  }
  for (; p + NZV <= end; p += NZV) {
    acc[0] = MULADD(VLOAD(NZV)(0, values + p), GATHER(xc, col_idx + p, N), acc[0]);
  }
  for (int u = 1; u < UNR; ++u) acc[0] += acc[u];
  float sum = HSUM(acc[0]);
  for (; p < end; ++p) sum = MULADD(values[p], xc[col_idx[p] * N], sum);
  return sum;
}
#endif

// Walks nonzeros start..end-1 of a row, loading X's vectors with LOAD(xrow, w).
#define ROW_LOOP(LOAD)                                                                    \
  {                                                                                       \
    int p = start;                                                                        \
    for (; p + UNR <= end; p += UNR) {                                                    \
      for (int u = 0; u < UNR; ++u) {                                                     \
        const floatv v = (floatv)(values[p + u]);                                         \
        __global const float* xrow = xc + col_idx[p + u] * N;                             \
        for (int w = 0; w < WPT; ++w) acc[u * WPT + w] = MULADD(v, LOAD(xrow, w), acc[u * WPT + w]); \
      }                                                                                   \
    }                                                                                     \
    for (; p < end; ++p) {                                                                \
      const floatv v = (floatv)(values[p]);                                               \
      __global const float* xrow = xc + col_idx[p] * N;                                   \
      for (int w = 0; w < WPT; ++w) acc[w] = MULADD(v, LOAD(xrow, w), acc[w]);            \
    }                                                                                     \
  }
#define LOAD_FULL(xrow, w) VLOAD(VW)(0, (xrow) + (w) * VW)
#define LOAD_TAIL(xrow, w) LOAD_X(xrow, w, ncols - (w) * VW)

__kernel __attribute__((reqd_work_group_size(LC, LR, 1)))
void spmm_csr_f32_row(const int M, const int N, const int K,
                      __global const int* restrict row_ptr, __global const int* restrict col_idx,
                      __global const float* restrict values, __global const float* restrict X,
                      __global const float* restrict bias, __global float* restrict Y) {
  const int r = get_global_id(1);
  const int c0 = get_global_id(0) * CPI;
  if (r >= M || c0 >= N) return;   // no barriers here: items past the edge simply leave
  const int ncols = N - c0;
  const int start = row_ptr[r];
  const int end = row_ptr[r + 1];
  __global const float* xc = X + c0;

#if NZV > 1
  floatv acc[1];
  // N = 1 (SpMV) spelled out, so that the gather's index arithmetic folds away.
  acc[0] = N == 1 ? row_dot_nzv(start, end, col_idx, values, xc, 1) : row_dot_nzv(start, end, col_idx, values, xc, N);
#else
  floatv acc[UNR * WPT];
  for (int i = 0; i < UNR * WPT; ++i) acc[i] = (floatv)(0.0f);
  if (ncols >= CPI) {
    ROW_LOOP(LOAD_FULL)
  } else {
    ROW_LOOP(LOAD_TAIL)
  }
  // The UNR partial sums, combined in a fixed order: the result does not depend on the launch.
  for (int u = 1; u < UNR; ++u) {
    for (int w = 0; w < WPT; ++w) acc[w] += acc[u * WPT + w];
  }
#endif
  STORE_Y(acc, Y, bias, r, c0, N, ncols)
}
