// gemm_f32_tile2d: C = alpha*A*B + beta*C in fp32, one TM x TN tile of C per work-group, staged through LDS.
// Used by the gemm_f32_tile2d Impl (src/ops/gemm/gemm_f32_tile2d.cpp), the fp32 path beside CLBlast.
//
// Layout: row-major. A is M x K (row stride lda), or K x M when TRANS_A; B is K x N (ldb), or N x K when TRANS_B;
// C is M x N (ldc). TRANS_A / TRANS_B are problem defines set by the Impl, not tunables.
// Work-group: (TN/VW) x (TM/WPT) items. Item (x, y) owns rows y, y + TM/WPT, ... of the tile (WPT rows, strided
// so neighbouring items read neighbouring LDS words) and the VW consecutive columns x*VW .. x*VW+VW-1 (one
// vector). Each TK step stages A (TM x TK, stored k-major with one word of padding per k so the transposing
// store does not hit one LDS bank) and B (TK x TN): 4*TK*(TM+1+TN) bytes of local memory.
// Edges: any M, N, K >= 0; loads outside the matrix read 0, stores are guarded; beta == 0 never reads C, so C may
// hold NaN (BLAS semantics). Indices are 32-bit: the host refuses operands of 2^31 elements or more.
// The inner product uses MULADD (common/muladd.h): fma() where the device reports it fast, else a*b + c; never
// mad(), whose accuracy OpenCL 1.x leaves to the driver.
// When it wins: a device without tuned CLBlast parameters, and small problems where CLBlast's first-call
// compile (seconds on PoCL, never cached on disk) dominates. On Polaris fp32 GEMM is bound by the FMA rate
// (6.2 TFLOP/s): this kernel does nothing to reduce bytes, it is the fp32 baseline the quantised kernels beat by
// moving fewer bytes, not by faster arithmetic.

#include "common/muladd.h"
#include "common/vector.h"

#ifndef TM
#define TM 64   // rows of C per work-group
#endif
#ifndef TN
#define TN 64   // columns of C per work-group
#endif
#ifndef TK
#define TK 16   // depth of the K step staged in local memory
#endif
#ifndef WPT
#define WPT 8   // rows of C per work-item
#endif
#ifndef VW
#define VW 4    // columns of C per work-item, held as one float vector (1, 2, 4, 8 or 16)
#endif
#ifndef TRANS_A
#define TRANS_A 0   // 1: A is stored K x M (op(A) = A^T)
#endif
#ifndef TRANS_B
#define TRANS_B 0   // 1: B is stored N x K (op(B) = B^T)
#endif

#if (TN % VW) != 0 || (TM % WPT) != 0
#error "gemm_f32_tile2d: TN must be a multiple of VW and TM a multiple of WPT"
#endif

#define RX (TN / VW)      // work-items along N
#define RY (TM / WPT)     // work-items along M
#define WGS (RX * RY)     // work-group size
#define TMP (TM + 1)      // padded row of the k-major A tile

typedef VEC(float, VW) floatv;

__kernel __attribute__((reqd_work_group_size(RX, RY, 1)))
void gemm_f32_tile2d(const int M, const int N, const int K, const float alpha, const float beta,
                     __global const float* restrict A, const int lda,
                     __global const float* restrict B, const int ldb,
                     __global float* C, const int ldc) {
  __local float As[TK * TMP];   // As[k * TMP + m]
  __local float Bs[TK * TN];    // Bs[k * TN + n]
  const int lx = get_local_id(0);
  const int ly = get_local_id(1);
  const int lid = ly * RX + lx;
  const int m0 = get_group_id(1) * TM;
  const int n0 = get_group_id(0) * TN;

  floatv acc[WPT];
  for (int w = 0; w < WPT; ++w) acc[w] = (floatv)(0.0f);

  for (int k0 = 0; k0 < K; k0 += TK) {
    // Each loop walks the tile so that neighbouring items read neighbouring addresses of the stored matrix
    // (coalesced): along k for A, along m for A^T, along n for B, along k for B^T.
    for (int i = lid; i < TM * TK; i += WGS) {
#if TRANS_A
      const int c = i / TM;
      const int r = i - c * TM;
#else
      const int r = i / TK;
      const int c = i - r * TK;
#endif
      const int gm = m0 + r;
      const int gk = k0 + c;
#if TRANS_A
      As[c * TMP + r] = (gm < M && gk < K) ? A[gk * lda + gm] : 0.0f;
#else
      As[c * TMP + r] = (gm < M && gk < K) ? A[gm * lda + gk] : 0.0f;
#endif
    }
    for (int i = lid; i < TK * TN; i += WGS) {
#if TRANS_B
      const int c = i / TK;
      const int r = i - c * TK;
#else
      const int r = i / TN;
      const int c = i - r * TN;
#endif
      const int gk = k0 + r;
      const int gn = n0 + c;
#if TRANS_B
      Bs[r * TN + c] = (gk < K && gn < N) ? B[gn * ldb + gk] : 0.0f;
#else
      Bs[r * TN + c] = (gk < K && gn < N) ? B[gk * ldb + gn] : 0.0f;
#endif
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int k = 0; k < TK; ++k) {
      const floatv b = VLOAD(VW)(0, Bs + k * TN + lx * VW);
      for (int w = 0; w < WPT; ++w) acc[w] = MULADD((floatv)(As[k * TMP + ly + w * RY]), b, acc[w]);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }

  const int col = n0 + lx * VW;
  for (int w = 0; w < WPT; ++w) {
    const int row = m0 + ly + w * RY;
    if (row >= M || col >= N) continue;
    __global float* c = C + row * ldc + col;
    if (col + VW <= N) {
      floatv out = alpha * acc[w];
      if (beta != 0.0f) out += beta * VLOAD(VW)(0, c);
      VSTORE(VW)(out, 0, c);
    } else {
      float part[VW];
      VSTORE(VW)(acc[w], 0, part);
      for (int v = 0; v < VW && col + v < N; ++v) {
        c[v] = (beta != 0.0f) ? alpha * part[v] + beta * c[v] : alpha * part[v];
      }
    }
  }
}
