// spmm_csr_f32_balanced: Y = A X (+ bias, ReLU) split by nonzeros, not rows, so that every work-item does the same
// work whatever the row lengths (power-law graphs, pruned layers with a few dense rows). Deterministic: no atomics;
// a row split between items is finished by a second kernel that adds its pieces in a fixed order. Used by the
// spmm_csr_f32_balanced Impl (src/ops/spmm/spmm_csr_f32_balanced.cpp).
//
// Layout: include/ellesmere/formats/csr.h. The nonzeros are cut into chunks of CH consecutive positions; chunk c is
// [c * CH, min((c + 1) * CH, nnz)). Kernel 1 (spmm_csr_f32_balanced_chunks), item (x, y): chunk y, columns
// c0 = x * VW * WPT.. . It finds the row holding the chunk's first nonzero by binary search on row_ptr, then walks
// the chunk row segment by row segment:
//   a row lying wholly inside the chunk is finished there (epilogue, store to Y);
//   the segment of a row that began in an earlier chunk goes to P[2c] (the "head" partial);
//   the segment of a row that begins here and continues past the chunk goes to P[2c + 1] (the "tail" partial).
// Kernel 2 (spmm_csr_f32_balanced_rows), item (x, y): row y. An empty row gets the epilogue of 0; a row whose
// nonzeros span chunks c0 < c1 sums P[2 c0 + 1] + P[2 (c0+1)] + ... + P[2 c1] in that order; other rows were
// written by kernel 1. P is 2 * chunks rows of N floats, scratch owned by the launch.
// Tunables: VW, WPT (spmm_common.h); CH nonzeros per item; LC x LR work-groups (both kernels).
// Wins when row lengths are skewed: a GPU wavefront of CSR-scalar items waits for its longest row, and a CSR-vector
// group idles on short rows; here each item costs CH multiply-adds plus one binary search.
#include "spmm/spmm_common.h"

#ifndef CH
#define CH 256        // nonzeros per work-item
#endif
#ifndef LC
#define LC 1          // work-group items along the column blocks
#endif
#ifndef LR
#define LR 64         // work-group items along the chunks (kernel 1) or rows (kernel 2)
#endif

// Sums positions p0..p1-1 of the row segment into acc[0..WPT-1] (reset first).
#define SEGMENT_SUM(p0, p1)                                                                          \
  {                                                                                                  \
    for (int w = 0; w < WPT; ++w) acc[w] = (floatv)(0.0f);                                           \
    if (ncols >= CPI) {                                                                              \
      for (int q_ = (p0); q_ < (p1); ++q_) {                                                            \
        const floatv v = (floatv)(values[q_]);                                                        \
        __global const float* xrow = xc + col_idx[q_] * N;                                            \
        for (int w = 0; w < WPT; ++w) acc[w] = MULADD(v, VLOAD(VW)(0, xrow + w * VW), acc[w]);       \
      }                                                                                              \
    } else {                                                                                         \
      for (int q_ = (p0); q_ < (p1); ++q_) {                                                            \
        const floatv v = (floatv)(values[q_]);                                                        \
        __global const float* xrow = xc + col_idx[q_] * N;                                            \
        for (int w = 0; w < WPT; ++w) acc[w] = MULADD(v, LOAD_X(xrow, w, ncols - w * VW), acc[w]);   \
      }                                                                                              \
    }                                                                                                \
  }

// Stores acc (no epilogue: a partial) to row `row` of P, columns c0...
#define STORE_PARTIAL(row)                                                             \
  for (int w = 0; w < WPT; ++w) {                                                      \
    const int left = ncols - w * VW;                                                   \
    __global float* dst = P + (row) * N + c0 + w * VW;                                 \
    if (left >= VW) {                                                                  \
      VSTORE(VW)(acc[w], 0, dst);                                                      \
    } else if (left > 0) {                                                             \
      store_partial(acc[w], dst, left);                                                \
    }                                                                                  \
  }

__kernel __attribute__((reqd_work_group_size(LC, LR, 1)))
void spmm_csr_f32_balanced_chunks(const int M, const int N, const int nnz,
                                  __global const int* restrict row_ptr, __global const int* restrict col_idx,
                                  __global const float* restrict values, __global const float* restrict X,
                                  __global const float* restrict bias, __global float* restrict Y,
                                  __global float* restrict P) {
  const int chunk = get_global_id(1);
  const int c0 = get_global_id(0) * CPI;
  const int first = chunk * CH;
  if (first >= nnz || c0 >= N) return;
  const int last = min(first + CH, nnz);
  const int ncols = N - c0;
  __global const float* xc = X + c0;

  // The row holding position `first`: the last r with row_ptr[r] <= first (its end is past first, or a later row
  // would qualify). row_ptr[M] = nnz > first, so r < M.
  int lo = 0, hi = M;   // invariant: row_ptr[lo] <= first < row_ptr[hi]
  while (hi - lo > 1) {
    const int mid = lo + (hi - lo) / 2;
    if (row_ptr[mid] <= first) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  int r = lo;
  int p = first;
  floatv acc[WPT];
  while (p < last) {
    const int row_start = row_ptr[r];
    const int row_end = row_ptr[r + 1];
    const int seg_end = min(row_end, last);
    SEGMENT_SUM(p, seg_end)
    if (row_start >= first && row_end <= last) {
      STORE_Y(acc, Y, bias, r, c0, N, ncols)
    } else if (row_start < first) {
      STORE_PARTIAL(2 * chunk)
    } else {
      STORE_PARTIAL(2 * chunk + 1)
    }
    p = seg_end;
    // The next row with a nonzero at p (skipping empty rows); only looked at while p < last <= nnz.
    ++r;
    while (p < last && row_ptr[r + 1] <= p) ++r;
  }
}

__kernel __attribute__((reqd_work_group_size(LC, LR, 1)))
void spmm_csr_f32_balanced_rows(const int M, const int N, __global const int* restrict row_ptr,
                                __global const float* restrict bias, __global float* restrict Y,
                                __global const float* restrict P) {
  const int r = get_global_id(1);
  const int c0 = get_global_id(0) * CPI;
  if (r >= M || c0 >= N) return;
  const int ncols = N - c0;
  const int row_start = row_ptr[r];
  const int row_end = row_ptr[r + 1];
  floatv acc[WPT];
  for (int w = 0; w < WPT; ++w) acc[w] = (floatv)(0.0f);
  if (row_start < row_end) {
    const int first_chunk = row_start / CH;
    const int last_chunk = (row_end - 1) / CH;
    if (first_chunk == last_chunk) return;   // finished by kernel 1
    for (int c = first_chunk; c <= last_chunk; ++c) {
      __global const float* src = P + (c == first_chunk ? 2 * c + 1 : 2 * c) * N + c0;
      for (int w = 0; w < WPT; ++w) acc[w] += LOAD_X(src, w, ncols - w * VW);
    }
  }
  STORE_Y(acc, Y, bias, r, c0, N, ncols)
}
