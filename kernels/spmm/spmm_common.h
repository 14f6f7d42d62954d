// What the CSR product kernels (kernels/spmm/spmm_csr_f32_*.cl) share: the column-block loads and stores of X and Y
// with their partial last block, and the fused epilogue (bias per row, ReLU). Layout: include/ellesmere/formats/csr.h.
//
// A work-item owns VW * WPT consecutive columns of Y (a "column block"): WPT vectors of VW floats. A block that
// would run past N (N not a multiple of the block width) takes the guarded path: element loads, zeros past N.
#ifndef ELLESMERE_SPMM_COMMON_H
#define ELLESMERE_SPMM_COMMON_H

#include "common/muladd.h"
#include "common/vector.h"
#include "ellesmere/formats/csr.h"

#ifndef VW
#define VW 1          // columns per vector (1, 2, 4, 8, 16): 1 on GCN (a lane per column), 8-16 for PoCL's SIMD
#endif
#ifndef WPT
#define WPT 1         // vectors per work-item: a column block is VW * WPT columns
#endif
#ifndef HAS_BIAS
#define HAS_BIAS 0    // Y[r][:] += bias[r] (the pruned linear layer Y = W_sparse X + b)
#endif
#ifndef RELU
#define RELU 0        // then Y = (Y <= 0 ? 0 : Y): NaN kept
#endif

#if VW != 1 && VW != 2 && VW != 4 && VW != 8 && VW != 16
#error "spmm: VW must be 1, 2, 4, 8 or 16"
#endif

#define CPI (VW * WPT)
typedef VEC(float, VW) floatv;

// VW values of X's row at p, of which only the first n (0 < n < VW) exist: the rest read as 0.
floatv load_partial(__global const float* p, const int n) {
  float v[VW];
  for (int i = 0; i < VW; ++i) v[i] = i < n ? p[i] : 0.0f;
  return VLOAD(VW)(0, v);
}

// Stores the first n (< VW) lanes of value at p.
void store_partial(const floatv value, __global float* p, const int n) {
  float v[VW];
  VSTORE(VW)(value, 0, v);
  for (int i = 0; i < n; ++i) p[i] = v[i];
}

// The epilogue on one vector of row r.
floatv epilogue(floatv acc, __global const float* bias, const int r) {
#if HAS_BIAS
  acc += (floatv)(bias[r]);
#endif
#if RELU
  // (acc <= 0 ? 0 : acc): NaN stays NaN (the comparison is false), as ONNX's Relu and the host reference keep it;
  // -0.0 becomes +0.0. select() picks by the comparison's mask.
  acc = select(acc, (floatv)(0.0f), acc <= (floatv)(0.0f));
#endif
  return acc;
}

// X's columns c0 + w*VW .. of row k: a whole vector, or the guarded tail (cols = columns left from c0 + w*VW).
#define LOAD_X(xrow, w, cols) \
  ((cols) >= VW ? VLOAD(VW)(0, (xrow) + (w) * VW) : ((cols) > 0 ? load_partial((xrow) + (w) * VW, (cols)) : (floatv)(0.0f)))

// Writes WPT accumulators acc[0..WPT-1] (after the epilogue) to Y's row r, columns c0.., ncols of them left.
#define STORE_Y(acc, Y, bias, r, c0, N, ncols)                                  \
  for (int w_ = 0; w_ < WPT; ++w_) {                                            \
    const int left_ = (ncols) - w_ * VW;                                        \
    const floatv out_ = epilogue(acc[w_], bias, r);                             \
    if (left_ >= VW) {                                                          \
      VSTORE(VW)(out_, 0, (Y) + (r) * (N) + (c0) + w_ * VW);            \
    } else if (left_ > 0) {                                                     \
      store_partial(out_, (Y) + (r) * (N) + (c0) + w_ * VW, left_);     \
    }                                                                           \
  }

#endif
