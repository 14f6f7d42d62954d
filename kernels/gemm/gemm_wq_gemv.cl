// gemm_wq_gemv: Y = X * W^T (+ bias) for M <= 8 rows of activations (batch-1 to batch-8 LLM decoding), W
// weight-only quantized in groups (include/ellesmere/formats/grouped_weights.h: INT4, or INT8 for llama.cpp Q8_0).
// Used by the gemm_wq_gemv Impl (src/ops/gemm_wq/gemm_wq_gemv.cpp).
//
// Layout: X is M x K, fp32 or (HALF_X) fp16 read with vload_half, row stride K; W as the format header describes
// (qs, scales, zeros); Y is M x N fp32, row stride N; bias N floats (HAS_BIAS).
// Work-group: WGK x ROWS items; item (x, y) computes row n = group * ROWS + y of W against all M rows of X, over
// the blocks of CPI consecutive 32-weight chunks b = x, x + WGK, ... of that row. With CPI = 1 the WGK items of a
// row read neighbouring 16-byte chunks (one 16-byte vector load each, coalesced across a GCN wavefront); their
// partial sums are reduced in local memory. WGK = 1 gives each item a whole row: one long sequential stream, what a
// CPU (PoCL) wants, with CPI = 4..8 so the 16-wide vector code has work.
// Arithmetic: unpack to float and multiply-add in fp32, which on GCN beats integer unpacking (v_cvt_f32_ubyte is
// full rate, there is no int8 dot instruction on Polaris) and which PoCL vectorises. The scale multiplies once per
// chunk: acc += d * sum_j (q_j - z) x_j.
// Why it wins on Polaris: a GEMV is bound by memory bandwidth, and 4-bit weights (4.5 bits with their scales at
// G = 32) read ~7x fewer bytes than fp32. The arithmetic is no faster than fp32 (no packed or int8-dot math on
// Polaris); the design goal is >= 75% of the card's bandwidth.
#include "common/muladd.h"
#include "common/vector.h"
#include "ellesmere/formats/grouped_weights.h"

#ifndef WGK
#define WGK 64      // work-items along K per row, reduced in local memory (a power of 2; 1 = one row per item)
#endif
#ifndef ROWS
#define ROWS 4      // rows of W per work-group
#endif
#ifndef CPI
#define CPI 1       // consecutive 32-weight chunks per item per step (1, 2, 4 or 8)
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
#ifndef MROWS
#define MROWS 1     // problem: rows of X (1..8)
#endif
#ifndef HAS_BIAS
#define HAS_BIAS 0
#endif

#if (WGK & (WGK - 1)) != 0
#error "gemm_wq_gemv: WGK must be a power of 2"
#endif
#if CPI != 1 && CPI != 2 && CPI != 4 && CPI != 8
#error "gemm_wq_gemv: CPI must be 1, 2, 4 or 8"
#endif
#if BITS != 4 && BITS != 8
#error "gemm_wq_gemv: BITS must be 4 or 8"
#endif

#define CHUNK ELLESMERE_WQ_CHUNK
#define CHUNK_BYTES (CHUNK * BITS / 8)
// Scales a block of CPI chunks uses, and chunks per scale within the block (both powers of 2).
// (NS is spelled as a literal: it names vloadN functions by token pasting.)
#if CPI * CHUNK == 8 * GROUP
#define NS 8
#elif CPI * CHUNK == 4 * GROUP
#define NS 4
#elif CPI * CHUNK == 2 * GROUP
#define NS 2
#else
#define NS 1
#endif
#define CPS (CPI / NS)

// The NS scales of a block in one load: PoCL converts half to float in software, and converts a vector at once.
#define VLOAD_HALF_1(p) vload_half(0, p)
#define VLOAD_HALF_2(p) vload_half2(0, p)
#define VLOAD_HALF_4(p) vload_half4(0, p)
#define VLOAD_HALF_8(p) vload_half8(0, p)
#define VLOAD_HALF(n) ELLESMERE_CAT(VLOAD_HALF_, n)

#if HALF_X
typedef half xtype;
#define LOAD_X8(p) vload_half8(0, p)
#define LOAD_X1(p) vload_half(0, p)
#else
typedef float xtype;
#define LOAD_X8(p) vload8(0, p)
#define LOAD_X1(p) (*(p))
#endif

// A chunk is handled as four 8-wide pieces, k0 + 8i .. k0 + 8i + 7 (i = 0..3), and accumulated 8-wide, never
// folding a 16-wide vector into 8 lanes: oclgrind 21.10's uninitialised-value checker mis-tracks such narrowing
// shuffles (and crashes on the undef-lane shuffles LLVM makes of horizontal sums), and 8 floats are one AVX
// register for PoCL.

// 32 activations k = k0 .. k0+31; lanes at or past K read 0 (the last, partial chunk).
void load_x_chunk(__global const xtype* x, const int k0, const int K, float8* x0, float8* x1, float8* x2,
                  float8* x3) {
  if (k0 + CHUNK <= K) {
    *x0 = LOAD_X8(x + k0);
    *x1 = LOAD_X8(x + k0 + 8);
    *x2 = LOAD_X8(x + k0 + 16);
    *x3 = LOAD_X8(x + k0 + 24);
  } else {
    float v[CHUNK];
    for (int j = 0; j < CHUNK; ++j) v[j] = k0 + j < K ? LOAD_X1(x + k0 + j) : 0.0f;
    *x0 = vload8(0, v);
    *x1 = vload8(1, v);
    *x2 = vload8(2, v);
    *x3 = vload8(3, v);
  }
}

// The chunk's 32 weights as floats, q - z, in k order. 4-bit: byte j holds k0+j (low nibble) and k0+16+j (high),
// so bytes 0..7 give pieces 0 and 2, bytes 8..15 pieces 1 and 3. Unpacked in 32-bit lanes (a widening load, then
// masks and shifts), which PoCL compiles to fewer instructions than byte arithmetic (measured: 1.35x faster on
// pocl-cpu-haswell).
void unpack_chunk(__global const uchar* q, const int z, float8* w0, float8* w1, float8* w2, float8* w3) {
#if BITS == 4
  const int8 a = convert_int8(vload8(0, q));
  const int8 b = convert_int8(vload8(1, q));
  *w0 = convert_float8((a & 15) - z);
  *w1 = convert_float8((b & 15) - z);
  *w2 = convert_float8((a >> 4) - z);
  *w3 = convert_float8((b >> 4) - z);
#else
  // 8-bit weights are symmetric (z = 0).
  *w0 = convert_float8(convert_int8(as_char8(vload8(0, q))));
  *w1 = convert_float8(convert_int8(as_char8(vload8(1, q))));
  *w2 = convert_float8(convert_int8(as_char8(vload8(2, q))));
  *w3 = convert_float8(convert_int8(as_char8(vload8(3, q))));
#endif
}

// acc[m] += d * (w . x) over the chunk, 8 lanes wide. A macro, not a function: the accumulators must stay in
// registers (PoCL keeps an array whose address is passed to a function in memory).
#define ACCUMULATE_CHUNK(m, x0, x1, x2, x3)                                                        \
  {                                                                                                \
    const float8 t_ = MULADD(w3, (x3), MULADD(w2, (x2), MULADD(w1, (x1), w0 * (x0))));             \
    acc[m] = MULADD((float8)(d), t_, acc[m]);                                                      \
  }

__kernel __attribute__((reqd_work_group_size(WGK, ROWS, 1)))
void gemm_wq_gemv(const int M, const int N, const int K,
                  __global const xtype* restrict X,
                  __global const uchar* restrict Q, __global const half* restrict S,
                  __global const uchar* restrict Z, __global const float* restrict bias,
                  __global float* restrict Y) {
  const int lx = get_local_id(0);
  const int ly = get_local_id(1);
  const int groups = (K + GROUP - 1) / GROUP;
  const int nch = (K + CHUNK - 1) / CHUNK;          // chunks holding at least one real weight
  const int nfull = K / CHUNK;                       // chunks holding 32
  const int row_bytes = groups * GROUP * BITS / 8;
  const int group_stride = (groups + ELLESMERE_WQ_GROUP_ALIGN - 1) / ELLESMERE_WQ_GROUP_ALIGN * ELLESMERE_WQ_GROUP_ALIGN;
  // Rows past N compute on row N-1 (in bounds) and store nothing, so every item reaches every barrier.
  const int n = min((int)get_group_id(1) * ROWS + ly, N - 1);
  const bool owner = (int)get_group_id(1) * ROWS + ly < N;
  __global const uchar* qrow = Q + n * row_bytes;
  __global const half* srow = S + n * group_stride;
#if HAS_ZP
  __global const uchar* zrow = Z + n * group_stride;
#endif

  float8 acc[MROWS];
  for (int m = 0; m < MROWS; ++m) acc[m] = (float8)(0.0f);

  for (int c0 = lx * CPI; c0 < nch; c0 += WGK * CPI) {
    const int g0 = c0 * CHUNK / GROUP;   // a multiple of NS: the block's scales lie inside the padded row
    float dsc[NS];
    VSTORE(NS)(VLOAD_HALF(NS)(srow + g0), 0, dsc);
    for (int s = 0; s < NS; ++s) {
      const int g = g0 + s;
      const float d = dsc[s];
#if HAS_ZP
      const int z = zrow[g];
#elif BITS == 4
      const int z = ELLESMERE_WQ_SYMMETRIC_Z4;
#else
      const int z = 0;
#endif
      for (int j = 0; j < CPS; ++j) {
        const int c = c0 + s * CPS + j;
        float8 w0, w1, w2, w3;
        if (c < nfull) {
          unpack_chunk(qrow + c * CHUNK_BYTES, z, &w0, &w1, &w2, &w3);
          for (int m = 0; m < MROWS; ++m) {
            __global const xtype* xm = X + m * K + c * CHUNK;
            ACCUMULATE_CHUNK(m, LOAD_X8(xm), LOAD_X8(xm + 8), LOAD_X8(xm + 16), LOAD_X8(xm + 24));
          }
        } else {   // the partial last chunk (K % 32 != 0), or chunks past K in the row's last block
          if (c < nch) {
            unpack_chunk(qrow + c * CHUNK_BYTES, z, &w0, &w1, &w2, &w3);
            for (int m = 0; m < MROWS; ++m) {
              float8 x0, x1, x2, x3;
              load_x_chunk(X + m * K, c * CHUNK, K, &x0, &x1, &x2, &x3);
              ACCUMULATE_CHUNK(m, x0, x1, x2, x3);
            }
          }
          break;
        }
      }
    }
  }

#if WGK > 1
  __local float partial[MROWS * ROWS * WGK];
#endif
  for (int m = 0; m < MROWS; ++m) {
    // The 8 lanes summed through memory, once per row: a vector horizontal sum becomes the shuffles oclgrind
    // cannot simulate (see above).
    float lanes[8];
    vstore8(acc[m], 0, lanes);
    float sum = ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6])) + ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7]));
#if WGK > 1
    partial[(m * ROWS + ly) * WGK + lx] = sum;
#else
    if (owner) {
#if HAS_BIAS
      sum += bias[n];
#endif
      Y[m * N + n] = sum;
    }
#endif
  }
#if WGK > 1
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int s = WGK / 2; s > 0; s >>= 1) {
    if (lx < s) {
      for (int m = 0; m < MROWS; ++m) {
        partial[(m * ROWS + ly) * WGK + lx] += partial[(m * ROWS + ly) * WGK + lx + s];
      }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (lx == 0 && owner) {
    for (int m = 0; m < MROWS; ++m) {
      float sum = partial[(m * ROWS + ly) * WGK];
#if HAS_BIAS
      sum += bias[n];
#endif
      Y[m * N + n] = sum;
    }
  }
#endif
}
