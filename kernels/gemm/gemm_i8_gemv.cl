// gemm_i8_gemv: the INT8 GEMM for M <= 8 rows (batch-1 to batch-8 inference), memory-bound: every weight byte is
// read once, coalesced. Used by the gemm_i8_gemv Impl (src/ops/gemm_i8/gemm_i8_gemv.cpp).
//
// Layout: as gemm_i8_tile2d (A: M x K bytes, row stride lda; B: packed words [ceil(K/4)][N] with column sums and
// per-column zero points; C: M x N by EPILOGUE). Work-group: WGN x SPLITK items. Item (x, y) owns VW consecutive
// columns and the packed rows k4 = y, y + SPLITK, ... of them, so the WGN items of one y read WGN * VW
// neighbouring words of one packed row (coalesced), and the SPLITK partial sums are reduced in local memory, one
// row of A at a time (SPLITK * WGN * VW * 4 bytes). Split-K keeps a 36-CU GPU busy when N alone gives too few
// work-items. MROWS (the problem's M) is a define, so the accumulators stay in registers.
// Why INT8 on Polaris: no int8 dot instruction, mad24 at the fp32 rate; a GEMV is bandwidth-bound and INT8 moves
// 4x fewer weight bytes than fp32, which is the whole win.
#include "common/int8.h"

#ifndef WGN
#define WGN 64     // work-items along N
#endif
#ifndef SPLITK
#define SPLITK 4   // work-items along K, reduced in local memory (a power of 2)
#endif
#ifndef VW
#define VW 1       // columns per work-item, as one vector (1, 2, 4, 8 or 16)
#endif
#ifndef MROWS
#define MROWS 1    // rows of A (the problem's M, 1..8)
#endif
#ifndef HAS_B_ZP
#define HAS_B_ZP 1 // 0 when every weight zero point is 0 (symmetric weights): no row sums needed
#endif

#if (SPLITK & (SPLITK - 1)) != 0
#error "gemm_i8_gemv: SPLITK must be a power of 2"
#endif

typedef VEC(int, VW) intv;
typedef VEC(uint, VW) uintv;
#define AS_INTV ELLESMERE_CAT(as_, VEC(int, VW))

__kernel __attribute__((reqd_work_group_size(WGN, SPLITK, 1)))
void gemm_i8_gemv(const int M, const int N, const int K,
                  __global const uchar* restrict A, const int lda, const int a_zp,
                  __global const uint* restrict B, __global const int* restrict b_colsum,
                  __global const int* restrict b_zp, const float a_scale,
                  __global const float* restrict epi_scale, __global const float* restrict bias, const int y_zp,
                  __global out_t* C, const int ldc) {
  __local int partial[SPLITK * WGN * VW];
#if HAS_B_ZP
  __local int partial_rows[SPLITK];
#endif
  const int x = get_local_id(0);
  const int y = get_local_id(1);
  const int col0 = get_group_id(0) * WGN * VW + x * VW;
  const int K4 = (K + 3) / 4;

  intv acc[MROWS];
#if HAS_B_ZP
  int row_sum[MROWS];
#endif
  for (int m = 0; m < MROWS; ++m) {
    acc[m] = (intv)(0);
#if HAS_B_ZP
    row_sum[m] = 0;
#endif
  }

  const bool full = col0 + VW <= N;
  for (int k4 = y; k4 < K4; k4 += SPLITK) {
    uintv bw;
    if (full) {
      bw = VLOAD(VW)(0, B + k4 * N + col0);
    } else {
      uint edge[VW];
      for (int v = 0; v < VW; ++v) edge[v] = col0 + v < N ? B[k4 * N + col0 + v] : 0u;
      bw = VLOAD(VW)(0, edge);
    }
    const intv b0 = B_BYTE(AS_INTV, bw, 0);
    const intv b1 = B_BYTE(AS_INTV, bw, 1);
    const intv b2 = B_BYTE(AS_INTV, bw, 2);
    const intv b3 = B_BYTE(AS_INTV, bw, 3);
    for (int m = 0; m < MROWS; ++m) {
      const uint aw = i8_load_word(A + m * lda + 4 * k4, K - 4 * k4);
      const int a0 = A_BYTE(as_int, aw, 0);
      const int a1 = A_BYTE(as_int, aw, 1);
      const int a2 = A_BYTE(as_int, aw, 2);
      const int a3 = A_BYTE(as_int, aw, 3);
      MACC(acc[m], (intv)(a0), b0);
      MACC(acc[m], (intv)(a1), b1);
      MACC(acc[m], (intv)(a2), b2);
      MACC(acc[m], (intv)(a3), b3);
#if HAS_B_ZP
      row_sum[m] += a0 + a1 + a2 + a3;
#endif
    }
  }

  for (int m = 0; m < MROWS; ++m) {
    VSTORE(VW)(acc[m], 0, partial + (y * WGN + x) * VW);
#if HAS_B_ZP
    if (x == 0) partial_rows[y] = row_sum[m];   // the same for every x of this y
#endif
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = SPLITK / 2; s > 0; s >>= 1) {
      if (y < s) {
        for (int v = 0; v < VW; ++v) partial[(y * WGN + x) * VW + v] += partial[((y + s) * WGN + x) * VW + v];
#if HAS_B_ZP
        if (x == 0) partial_rows[y] += partial_rows[y + s];
#endif
      }
      barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (y == 0) {
      for (int v = 0; v < VW && col0 + v < N; ++v) {
        const int col = col0 + v;
#if HAS_B_ZP
        const int c = i8_corrected(partial[x * VW + v], partial_rows[0], b_colsum[col], a_zp, b_zp[col], K);
#else
        const int c = i8_corrected(partial[x * VW + v], 0, b_colsum[col], a_zp, 0, K);
#endif
        C[m * ldc + col] = i8_epilogue(c, col, a_scale, epi_scale, bias, y_zp);
      }
    }
    barrier(CLK_LOCAL_MEM_FENCE);   // the next row overwrites partial
  }
}
