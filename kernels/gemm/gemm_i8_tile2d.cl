// gemm_i8_tile2d: C = epilogue(sum_k (A[m,k] - za) * (B[k,n] - zb[n])) with int32 accumulation, one TM x TN tile
// of C per work-group staged through LDS. Used by the gemm_i8_tile2d Impl (src/ops/gemm_i8/gemm_i8_tile2d.cpp)
// for M > 8 (gemm_i8_gemv serves M <= 8).
//
// Layout: A is M x K bytes, row-major (row stride lda), u8 or i8 (A_TYPE); B is packed once at load time as in
// include/ellesmere/formats/int8_gemm.h: 32-bit words [ceil(K/4)][N], four k values per word, with column sums
// b_colsum[n] and per-column zero points b_zp[n]. C is M x N row-major (ldc), int32, u8/i8 or float by EPILOGUE.
// Work-group: (TN/VW) x (TM/WPT) items; item (x, y) owns rows y, y + TM/WPT, ... (WPT rows) and VW consecutive
// columns. Each step stages TK k values of A (as words, k-major, one word of padding per row of words) and B in
// local memory: TK * (TM + 1 + TN) bytes, a quarter of what the fp32 kernel needs for the same tile.
// Edges: any M, N, K >= 1; A bytes past K and rows past M read as 0, stores are guarded; the caller pads nothing.
// Why INT8 on Polaris: there is no int8 dot-product instruction (gfx906 added one), and mad24 runs at the fp32
// rate, so this kernel is no faster per multiply-add than fp32; it wins by moving 4x fewer bytes of weights and
// fitting 4x more of them in LDS and cache. On PoCL, VW=16 gives the CPU vector code.
#include "common/int8.h"

#ifndef TM
#define TM 64   // rows of C per work-group
#endif
#ifndef TN
#define TN 64   // columns of C per work-group
#endif
#ifndef TK
#define TK 32   // k values staged per step (a multiple of 4)
#endif
#ifndef WPT
#define WPT 4   // rows of C per work-item
#endif
#ifndef VW
#define VW 4    // columns of C per work-item, held as one int vector (1, 2, 4, 8 or 16)
#endif
#ifndef HAS_B_ZP
#define HAS_B_ZP 1  // 0 when every weight zero point is 0 (symmetric weights): no row sums needed
#endif

#if (TK % 4) != 0 || (TN % VW) != 0 || (TM % WPT) != 0
#error "gemm_i8_tile2d: TK must be a multiple of 4, TN of VW and TM of WPT"
#endif

#define TK4 (TK / 4)     // words per row of the A tile and rows of the B tile
#define RX (TN / VW)     // work-items along N
#define RY (TM / WPT)    // work-items along M
#define WGS (RX * RY)
#define TMP (TM + 1)     // padded row of the k-major A tile

typedef VEC(int, VW) intv;
typedef VEC(uint, VW) uintv;
#define AS_INTV ELLESMERE_CAT(as_, VEC(int, VW))

__kernel __attribute__((reqd_work_group_size(RX, RY, 1)))
void gemm_i8_tile2d(const int M, const int N, const int K,
                    __global const uchar* restrict A, const int lda, const int a_zp,
                    __global const uint* restrict B, __global const int* restrict b_colsum,
                    __global const int* restrict b_zp, const float a_scale,
                    __global const float* restrict epi_scale, __global const float* restrict bias, const int y_zp,
                    __global out_t* C, const int ldc) {
  __local uint As[TK4 * TMP];   // As[kq * TMP + m]: four k values of row m
  __local uint Bs[TK4 * TN];    // Bs[kq * TN + n]: four k values of column n
  const int lx = get_local_id(0);
  const int ly = get_local_id(1);
  const int lid = ly * RX + lx;
  const int m0 = get_group_id(1) * TM;
  const int n0 = get_group_id(0) * TN;
  const int K4 = (K + 3) / 4;

  intv acc[WPT];
#if HAS_B_ZP
  int row_sum[WPT];
#endif
  for (int w = 0; w < WPT; ++w) {
    acc[w] = (intv)(0);
#if HAS_B_ZP
    row_sum[w] = 0;
#endif
  }

  for (int k40 = 0; k40 < K4; k40 += TK4) {
    for (int i = lid; i < TM * TK4; i += WGS) {
      const int r = i / TK4;
      const int c = i - r * TK4;
      const int gm = m0 + r;
      const int gk4 = k40 + c;
      As[c * TMP + r] = (gm < M && gk4 < K4) ? i8_load_word(A + gm * lda + 4 * gk4, K - 4 * gk4) : 0u;
    }
    for (int i = lid; i < TK4 * TN; i += WGS) {
      const int r = i / TN;
      const int c = i - r * TN;
      const int gk4 = k40 + r;
      const int gn = n0 + c;
      Bs[i] = (gk4 < K4 && gn < N) ? B[gk4 * N + gn] : 0u;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int kq = 0; kq < TK4; ++kq) {
      const uintv bw = VLOAD(VW)(0, Bs + kq * TN + lx * VW);
      const intv b0 = B_BYTE(AS_INTV, bw, 0);
      const intv b1 = B_BYTE(AS_INTV, bw, 1);
      const intv b2 = B_BYTE(AS_INTV, bw, 2);
      const intv b3 = B_BYTE(AS_INTV, bw, 3);
      for (int w = 0; w < WPT; ++w) {
        const uint aw = As[kq * TMP + ly + w * RY];
        const int a0 = A_BYTE(as_int, aw, 0);
        const int a1 = A_BYTE(as_int, aw, 1);
        const int a2 = A_BYTE(as_int, aw, 2);
        const int a3 = A_BYTE(as_int, aw, 3);
        MACC(acc[w], (intv)(a0), b0);
        MACC(acc[w], (intv)(a1), b1);
        MACC(acc[w], (intv)(a2), b2);
        MACC(acc[w], (intv)(a3), b3);
#if HAS_B_ZP
        row_sum[w] += a0 + a1 + a2 + a3;
#endif
      }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }

  const int col0 = n0 + lx * VW;
  for (int w = 0; w < WPT; ++w) {
    const int row = m0 + ly + w * RY;
    if (row >= M) continue;
    int part[VW];
    VSTORE(VW)(acc[w], 0, part);
    for (int v = 0; v < VW && col0 + v < N; ++v) {
      const int col = col0 + v;
#if HAS_B_ZP
      const int c = i8_corrected(part[v], row_sum[w], b_colsum[col], a_zp, b_zp[col], K);
#else
      const int c = i8_corrected(part[v], 0, b_colsum[col], a_zp, 0, K);
#endif
      C[row * ldc + col] = i8_epilogue(c, col, a_scale, epi_scale, bias, y_zp);
    }
  }
}
