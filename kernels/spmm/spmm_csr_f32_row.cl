// spmm_csr_f32_row: Y = A X (+ bias, ReLU) with one work-item per (row of A, block of VW * WPT columns of Y): the
// CSR-scalar scheme. Used by the spmm_csr_f32_row Impl (src/ops/spmm/spmm_csr_f32_row.cpp); SpMV is N = 1.
//
// Layout: include/ellesmere/formats/csr.h (A in CSR; X K x N and Y M x N row-major). Work-item (x, y) computes row
// r = y, columns c0 = x * VW * WPT onwards; work-groups are LC x LR items.
// Tunables: VW, WPT (spmm_common.h); UNR nonzeros in flight per step, each into its own accumulators (hides the
// multiply-add latency when a row's products would otherwise form one dependency chain, as in SpMV); LC, LR.
// Wins for short, even rows: no synchronisation at all, and each item streams its row's values and indices once.
// On GCN a wavefront's lanes take neighbouring rows (SpMV) or neighbouring columns (SpMM, VW = 1); a row much longer
// than its neighbours stalls its whole wavefront, which is what spmm_csr_f32_vector and _balanced are for. On a CPU
// (PoCL) an item is a loop iteration, so uneven rows cost nothing beyond their own work.
// Nothing here is faster on Polaris than fp32 arithmetic allows; sparse products are bound by the bytes they move.
#include "spmm/spmm_common.h"

#ifndef UNR
#define UNR 1         // nonzeros per step, each with its own accumulators (1, 2, 4 or 8)
#endif
#ifndef LC
#define LC 1          // work-group items along the column blocks
#endif
#ifndef LR
#define LR 64         // work-group items along the rows
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
  STORE_Y(acc, Y, bias, r, c0, N, ncols)
}
