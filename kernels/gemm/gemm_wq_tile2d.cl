// gemm_wq_tile2d: Y = X * W^T (+ bias) for any M (the GEMV takes M <= 8), W weight-only quantized in groups
// (include/ellesmere/formats/grouped_weights.h). Used by the gemm_wq_tile2d Impl (src/ops/gemm_wq/gemm_wq_tile2d.cpp).
//
// Layout: X is M x K, fp32 or (HALF_X) fp16, row stride K; W as the format header describes; Y is M x N fp32.
// One TM x TN tile of Y per work-group of (TN/VW) x (TM/WPT) items, as gemm_f32_tile2d. Each TK step (a multiple
// of 32: whole chunks, so one scale per chunk) stages X (TM x TK, k-major with one word of padding per k) and W
// dequantized to fp32 (TK x TN, k-major): the TN*TK/32 chunks are spread over the items, neighbouring items taking
// neighbouring rows of W so their LDS stores fall in different banks. Local memory: 4*TK*(TM+1+TN) bytes.
// Edges: any M, N, K >= 1; X past M or K reads 0, W rows past N and chunks past the padded row store 0, Y stores
// are guarded. Padding weights (k >= K within the last group) dequantize to 0 by the format.
// When it wins: prefill and batched inference (M > 8), where each weight is dequantized once per TM rows and the
// fp32 tile product dominates. On Polaris that product runs at the fp32 FMA rate (6.2 TFLOP/s); the 4-bit weights
// save bandwidth and memory, not arithmetic.
#include "common/muladd.h"
#include "common/vector.h"
#include "ellesmere/formats/grouped_weights.h"

#ifndef TM
#define TM 64   // rows of Y per work-group
#endif
#ifndef TN
#define TN 64   // columns of Y (rows of W) per work-group
#endif
#ifndef TK
#define TK 32   // depth of the K step staged in local memory (a multiple of 32)
#endif
#ifndef WPT
#define WPT 4   // rows of Y per work-item
#endif
#ifndef VW
#define VW 4    // columns of Y per work-item, as one float vector (1, 2, 4, 8 or 16)
#endif
#ifndef BITS
#define BITS 4      // problem: 4 or 8 bits per weight
#endif
#ifndef GROUP
#define GROUP 32    // problem: weights per scale (32, 64 or 128)
#endif
#ifndef HAS_ZP
#define HAS_ZP 0    // problem: per-group zero points (4-bit only)
#endif
#ifndef HALF_X
#define HALF_X 0    // problem: X stored as fp16
#endif
#ifndef HAS_BIAS
#define HAS_BIAS 0
#endif

#define CHUNK ELLESMERE_WQ_CHUNK
#define CHUNK_BYTES (CHUNK * BITS / 8)

#if (TN % VW) != 0 || (TM % WPT) != 0 || (TK % CHUNK) != 0
#error "gemm_wq_tile2d: TN must be a multiple of VW, TM of WPT, TK of 32"
#endif
#if BITS != 4 && BITS != 8
#error "gemm_wq_tile2d: BITS must be 4 or 8"
#endif

#define RX (TN / VW)      // work-items along N
#define RY (TM / WPT)     // work-items along M
#define WGS (RX * RY)     // work-group size
#define TMP (TM + 1)      // padded row of the k-major X tile

#if HALF_X
typedef half xtype;
#define LOAD_X(p) vload_half(0, p)
#else
typedef float xtype;
#define LOAD_X(p) (*(p))
#endif

typedef VEC(float, VW) floatv;

__kernel __attribute__((reqd_work_group_size(RX, RY, 1)))
void gemm_wq_tile2d(const int M, const int N, const int K,
                    __global const xtype* restrict X,
                    __global const uchar* restrict Q, __global const half* restrict S,
                    __global const uchar* restrict Z, __global const float* restrict bias,
                    __global float* restrict Y) {
  __local float Xs[TK * TMP];   // Xs[k * TMP + m]
  __local float Ws[TK * TN];    // Ws[k * TN + n]
  const int lx = get_local_id(0);
  const int ly = get_local_id(1);
  const int lid = ly * RX + lx;
  const int m0 = get_group_id(1) * TM;
  const int n0 = get_group_id(0) * TN;
  const int groups = (K + GROUP - 1) / GROUP;
  const int row_bytes = groups * GROUP * BITS / 8;
  const int group_stride = (groups + ELLESMERE_WQ_GROUP_ALIGN - 1) / ELLESMERE_WQ_GROUP_ALIGN * ELLESMERE_WQ_GROUP_ALIGN;
  const int row_chunks = groups * GROUP / CHUNK;   // chunks stored per row, padding included

  floatv acc[WPT];
  for (int w = 0; w < WPT; ++w) acc[w] = (floatv)(0.0f);

  for (int k0 = 0; k0 < K; k0 += TK) {
    // X tile: neighbouring items read neighbouring k of one row (coalesced).
    for (int i = lid; i < TM * TK; i += WGS) {
      const int r = i / TK;
      const int c = i - r * TK;
      const int gm = m0 + r;
      const int gk = k0 + c;
      Xs[c * TMP + r] = (gm < M && gk < K) ? LOAD_X(X + gm * K + gk) : 0.0f;
    }
    // W tile, dequantized: job i is chunk i / TN of row i % TN.
    for (int i = lid; i < TN * (TK / CHUNK); i += WGS) {
      const int ch = i / TN;
      const int r = i - ch * TN;   // not i % TN: LLVM pairs / and % through a freeze, which oclgrind cannot run
      const int gn = n0 + r;
      const int c = k0 / CHUNK + ch;
      __local float* dst = Ws + ch * CHUNK * TN + r;
      if (gn < N && c < row_chunks) {
        const int g = c * CHUNK / GROUP;
        const float d = vload_half(gn * group_stride + g, S);
        __global const uchar* q = Q + gn * row_bytes + c * CHUNK_BYTES;
#if BITS == 4
#if HAS_ZP
        const int z = Z[gn * group_stride + g];
#else
        const int z = ELLESMERE_WQ_SYMMETRIC_Z4;
#endif
        const int16 b = convert_int16(vload16(0, q));
        float lo[16], hi[16];
        vstore16(d * convert_float16((b & 15) - z), 0, lo);
        vstore16(d * convert_float16((b >> 4) - z), 0, hi);
        for (int j = 0; j < 16; ++j) {
          dst[j * TN] = lo[j];
          dst[(j + 16) * TN] = hi[j];
        }
#else
        float v[CHUNK];
        vstore16(d * convert_float16(convert_int16(as_char16(vload16(0, q)))), 0, v);
        vstore16(d * convert_float16(convert_int16(as_char16(vload16(1, q)))), 1, v);
        for (int j = 0; j < CHUNK; ++j) dst[j * TN] = v[j];
#endif
      } else {
        for (int j = 0; j < CHUNK; ++j) dst[j * TN] = 0.0f;
      }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int k = 0; k < TK; ++k) {
      const floatv w = VLOAD(VW)(0, Ws + k * TN + lx * VW);
      for (int i = 0; i < WPT; ++i) acc[i] = MULADD((floatv)(Xs[k * TMP + ly + i * RY]), w, acc[i]);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }

  const int col = n0 + lx * VW;
#if HAS_BIAS
  float bv[VW];
  for (int v = 0; v < VW; ++v) bv[v] = col + v < N ? bias[col + v] : 0.0f;
  const floatv b = VLOAD(VW)(0, bv);
#else
  const floatv b = (floatv)(0.0f);
#endif
  for (int i = 0; i < WPT; ++i) {
    const int row = m0 + ly + i * RY;
    if (row >= M || col >= N) continue;
    __global float* y = Y + row * N + col;
    if (col + VW <= N) {
      VSTORE(VW)(acc[i] + b, 0, y);
    } else {
      float part[VW];
      VSTORE(VW)(acc[i] + b, 0, part);
      for (int v = 0; v < VW && col + v < N; ++v) y[v] = part[v];
    }
  }
}
