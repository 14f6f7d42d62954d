// spmm_csr_f32_vector: Y = A X (+ bias, ReLU) with one work-group per (row of A, block of VW * WPT columns): the
// CSR-vector scheme. Used by the spmm_csr_f32_vector Impl (src/ops/spmm/spmm_csr_f32_vector.cpp).
//
// Layout: include/ellesmere/formats/csr.h. Work-group = WGK items; group g takes row r = g / nb and column block
// g - r * nb (nb blocks per row). Item t sums nonzeros start + t, start + t + WGK, ... (neighbouring items read
// neighbouring values and indices: coalesced on GCN), then the WGK partial sums are reduced as a tree in local
// memory (WGK * VW * WPT floats), always in the same order.
// Tunables: VW, WPT (spmm_common.h); WGK items per row (a power of 2, up to 256 on Polaris).
// Wins for long rows (mean length well above the wavefront width): a row's work is spread over a wavefront
// instead of one lane. Short rows waste most of the group; on a CPU the barriers cost more than they save.
#include "spmm/spmm_common.h"

#ifndef WGK
#define WGK 64        // work-items per row (a power of 2)
#endif
#if (WGK & (WGK - 1)) != 0
#error "spmm_csr_f32_vector: WGK must be a power of 2"
#endif

__kernel __attribute__((reqd_work_group_size(WGK, 1, 1)))
void spmm_csr_f32_vector(const int M, const int N, const int K,
                         __global const int* restrict row_ptr, __global const int* restrict col_idx,
                         __global const float* restrict values, __global const float* restrict X,
                         __global const float* restrict bias, __global float* restrict Y) {
  __local float part[WGK * CPI];
  const int t = get_local_id(0);
  const int nb = (N + CPI - 1) / CPI;
  const int g = get_group_id(1);
  const int r = g / nb;                 // the launch has exactly M * nb groups: r < M for every item
  const int c0 = (g - r * nb) * CPI;
  const int ncols = N - c0;
  const int start = row_ptr[r];
  const int end = row_ptr[r + 1];
  __global const float* xc = X + c0;

  floatv acc[WPT];
  for (int w = 0; w < WPT; ++w) acc[w] = (floatv)(0.0f);
  if (ncols >= CPI) {
    for (int p = start + t; p < end; p += WGK) {
      const floatv v = (floatv)(values[p]);
      __global const float* xrow = xc + col_idx[p] * N;
      for (int w = 0; w < WPT; ++w) acc[w] = MULADD(v, VLOAD(VW)(0, xrow + w * VW), acc[w]);
    }
  } else {
    for (int p = start + t; p < end; p += WGK) {
      const floatv v = (floatv)(values[p]);
      __global const float* xrow = xc + col_idx[p] * N;
      for (int w = 0; w < WPT; ++w) acc[w] = MULADD(v, LOAD_X(xrow, w, ncols - w * VW), acc[w]);
    }
  }
  for (int w = 0; w < WPT; ++w) VSTORE(VW)(acc[w], 0, part + t * CPI + w * VW);
  for (int s = WGK / 2; s > 0; s >>= 1) {
    barrier(CLK_LOCAL_MEM_FENCE);
    if (t < s) {
      for (int w = 0; w < WPT; ++w) {
        const floatv sum = VLOAD(VW)(0, part + t * CPI + w * VW) + VLOAD(VW)(0, part + (t + s) * CPI + w * VW);
        VSTORE(VW)(sum, 0, part + t * CPI + w * VW);
      }
    }
  }
  if (t == 0) {   // item 0 wrote the final sums itself: no barrier needed before reading them
    for (int w = 0; w < WPT; ++w) acc[w] = VLOAD(VW)(0, part + w * VW);
    STORE_Y(acc, Y, bias, r, c0, N, ncols)
  }
}
