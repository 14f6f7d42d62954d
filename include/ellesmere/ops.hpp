// The operations ellesmere runs, each described by a Problem with one canonical text form
// ("gemm_f32:m1024n1024k1024") that tests, benchmarks, the tuning database, logs and the CLI all share.
#pragma once

#include "ellesmere/device.hpp"
#include "ellesmere/quant.hpp"
#include "ellesmere/sparse.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ellesmere {

// C = alpha * op(A) * op(B) + beta * C, fp32, row-major. op(A) is M x K, op(B) is K x N, C is M x N.
// Stored shapes: A is M x K (K x M when trans_a), B is K x N (N x K when trans_b), with leading dimension equal
// to the stored row length. Canonical text: "gemm_f32:m<M>n<N>k<K>" plus "_ta" / "_tb" when transposed.
struct GemmProblem {
  std::int64_t m = 0;
  std::int64_t n = 0;
  std::int64_t k = 0;
  bool trans_a = false;
  bool trans_b = false;

  std::string str() const;
  // Throws InvalidArgument naming what is wrong ("gemm_f32:m4n4": missing k).
  static GemmProblem parse(std::string_view text);
  double flops() const { return 2.0 * double(m) * double(n) * double(k); }
  friend bool operator==(const GemmProblem&, const GemmProblem&) = default;
};

struct GemmOptions {
  float alpha = 1.0f;
  float beta = 0.0f;   // beta == 0: C is not read (it may hold NaN), as in BLAS
  // Run this Impl (e.g. "gemm_f32_clblast") instead of the first applicable one; throws NotSupported with the
  // Impl's reason if it cannot run the problem.
  std::string impl;
};

// Enqueues C = alpha*op(A)*op(B) + beta*C on context's queue and returns the kernels' events (it does not wait).
// Throws InvalidArgument if a buffer is smaller than the problem needs. With ELLESMERE_VERBOSE=dispatch, prints
// each Impl it passed over and why.
// Numerics: IEEE fp32, propagated: a NaN in row i of op(A) makes row i of C NaN, one in column j of op(B) column j;
// Inf times 0 gives NaN; alpha == 0 still reads A and B (unlike reference BLAS's shortcut). Overflow happens in
// fp32, so sums past FLT_MAX become Inf where the double-accumulated reference may stay finite. Subnormals may be
// flushed to zero on devices without CL_FP_DENORM (an error far below kGemmF32Tolerance).
EventList gemm_f32(Context& context, const GemmProblem& problem, const Buffer<float>& a, const Buffer<float>& b,
                   Buffer<float>& c, const GemmOptions& options = {});

// The fp32 GEMM Impls in dispatch order.
std::vector<std::string> gemm_f32_impls();

// ---- INT8 GEMM ----------------------------------------------------------------------------------------------
// C = epilogue(sum_k (A[m,k] - a_zero_point) * (B[k,n] - b_zero_point[n])) with exact int32 accumulation.
// On the RX 580 there is no int8 dot-product instruction and mad24 runs at the fp32 rate: INT8 is faster than fp32
// only where bytes decide (weights 4x smaller in memory, LDS and cache), above all in batch-1 GEMV.

// Canonical text "gemm_i8:m<M>n<N>k<K>" for u8 activations and i8 weights, plus "_sa" (signed: i8 activations)
// and "_ub" (unsigned: u8 weights). Flags are letters only: digits would read as a field's value.
struct GemmI8Problem {
  std::int64_t m = 0;
  std::int64_t n = 0;
  std::int64_t k = 0;
  QuantType a_type = QuantType::u8;
  QuantType b_type = QuantType::i8;

  std::string str() const;
  static GemmI8Problem parse(std::string_view text);   // throws InvalidArgument naming the problem
  double ops() const { return 2.0 * double(m) * double(n) * double(k); }
  friend bool operator==(const GemmI8Problem&, const GemmI8Problem&) = default;
};

// Weights packed once, at load time, into the kernels' layout (include/ellesmere/formats/int8_gemm.h), with
// column sums, per-column zero points and scales, on one Context. Move-only; the buffers belong to it, and a
// moved-from object is empty (k() == n() == 0) and rejected by gemm_i8.
class PackedWeightsI8 {
 public:
  PackedWeightsI8();
  ~PackedWeightsI8();
  PackedWeightsI8(PackedWeightsI8&& other) noexcept;
  PackedWeightsI8& operator=(PackedWeightsI8&& other) noexcept;

  std::int64_t k() const { return k_; }
  std::int64_t n() const { return n_; }
  QuantType type() const { return params_.type; }
  const QuantParams& params() const { return params_; }
  bool has_zero_points() const { return has_zero_points_; }   // some zero point is not 0
  double pack_ms() const { return pack_ms_; }       // host time to transpose, pack and sum (reported separately)
  double upload_ms() const { return upload_ms_; }   // host-to-device copy time
  const Buffer<std::uint32_t>& words() const { return words_; }
  const Buffer<std::int32_t>& column_sums() const { return column_sums_; }
  const Buffer<std::int32_t>& zero_points() const { return zero_points_; }   // one per column (per-tensor repeated)
  const Buffer<float>& scales() const { return scales_; }                    // one per column
  cl_context context() const { return context_; }
  // The requantize epilogue's per-column factors (a_scale * b_scale[n]) / y_scale in float32, on the device,
  // computed once per (a_scale, y_scale) pair and kept (static quantization reuses one pair per layer). Throws
  // InvalidArgument naming the scales when a factor is not a finite normal float. Safe to call from several
  // threads.
  const Buffer<float>& requantize_factors(Context& context, float a_scale, float y_scale) const;

 private:
  struct FactorCache;
  friend PackedWeightsI8 pack_weights_i8(Context&, std::span<const std::uint8_t>, std::int64_t, std::int64_t,
                                         WeightLayout, const QuantParams&);
  std::int64_t k_ = 0;
  std::int64_t n_ = 0;
  QuantParams params_;
  bool has_zero_points_ = false;
  double pack_ms_ = 0;
  double upload_ms_ = 0;
  Buffer<std::uint32_t> words_;
  Buffer<std::int32_t> column_sums_;
  Buffer<std::int32_t> zero_points_;
  Buffer<float> scales_;
  cl_context context_ = nullptr;
  std::unique_ptr<FactorCache> factor_cache_;
};

// Packs B, given as raw bytes (u8 values, or i8 values' two's-complement bytes) in layout, K x N logically, with
// per-tensor params or per-output-channel params (axis 0 of an N x K array, axis 1 of a K x N array; N channels).
// Throws InvalidArgument naming what is wrong (sizes, params, K above the int32-exact limit of 33025).
PackedWeightsI8 pack_weights_i8(Context& context, std::span<const std::uint8_t> b, std::int64_t k, std::int64_t n,
                                WeightLayout layout, const QuantParams& params);

struct GemmI8Epilogue {
  enum class Kind {
    int32,        // C: int32, the exact sum (ONNX MatMulInteger)
    requantize,   // C: y_type, saturate(rint(acc * a_scale * b_scale[n] / y_scale) + y_zero_point) (QLinearMatMul)
    dequantize,   // C: float, acc * (a_scale * b_scale[n]) + bias[n], optional ReLU (dynamic quantization)
  };
  Kind kind = Kind::int32;
  float a_scale = 1.0f;                 // requantize, dequantize
  float y_scale = 1.0f;                 // requantize
  std::int32_t y_zero_point = 0;        // requantize
  QuantType y_type = QuantType::u8;     // requantize
  const Buffer<float>* bias = nullptr;  // dequantize, optional: N values
  bool relu = false;                    // dequantize

  // Every per-column factor the epilogue uses (a_scale * b_scale[n], divided by y_scale to requantize) must be a
  // finite normal float, or gemm_i8 throws InvalidArgument naming the scales.
  static GemmI8Epilogue int32() { return {}; }
  static GemmI8Epilogue requantize(float a_scale, float y_scale, std::int32_t y_zero_point, QuantType y_type);
  static GemmI8Epilogue dequantize(float a_scale, const Buffer<float>* bias = nullptr, bool relu = false);
  std::size_t output_element_size() const;   // 4, 1 or 4
};

struct GemmI8Options {
  std::string impl;   // run this Impl instead of the first applicable one
};

// Enqueues C = epilogue((A - a_zero_point)(B - zb)) for A (M x K bytes of problem.a_type, row-major) and packed B
// (problem.k x problem.n of problem.b_type), C (M x N, row-major, of the epilogue's type). Requantize and
// dequantize reproduce the host reference bit for bit (float steps in a fixed order, no contraction). Numerics: the
// accumulation is exact integer arithmetic; requantize saturates (an Inf product clamps to the type's end); a NaN
// in the dequantize bias propagates (through ReLU too). Throws
// InvalidArgument naming the argument (sizes, types, zero points out of range, scales not finite and > 0,
// weights packed on another Context or for another shape).
EventList gemm_i8(Context& context, const GemmI8Problem& problem, const RawBuffer& a, std::int32_t a_zero_point,
                  const PackedWeightsI8& b, RawBuffer& c, const GemmI8Epilogue& epilogue = {},
                  const GemmI8Options& options = {});

// The INT8 GEMM Impls in dispatch order.
std::vector<std::string> gemm_i8_impls();

// ---- Weight-only quantized GEMM (grouped INT4, or INT8 for llama.cpp Q8_0) ---------------------------------------
// Y = X * W^T (+ bias): X is M x K activations (fp32, or fp16 storage), W is N x K GroupedWeights (quant.hpp), Y is
// M x N fp32. Bound by memory bandwidth at small M, where 4-bit weights read ~7x fewer bytes than fp32; Polaris
// computes no faster (the kernels unpack to fp32 and multiply-add at the fp32 rate).

// Canonical text "gemm_wq:m<M>n<N>k<K>q<bits>g<group>" (e.g. gemm_wq:m1n4096k4096q4g32, which is llama.cpp's
// Q4_0 layout), plus "_z" (per-group zero points) and "_h" (fp16 activations).
struct GemmWqProblem {
  std::int64_t m = 0;
  std::int64_t n = 0;
  std::int64_t k = 0;
  int bits = 4;
  int group = 32;
  bool zero_points = false;
  bool half_activations = false;

  std::string str() const;
  static GemmWqProblem parse(std::string_view text);   // throws InvalidArgument naming the problem
  double flops() const { return 2.0 * double(m) * double(n) * double(k); }
  // The problem for weights w and M rows of activations.
  static GemmWqProblem of(std::int64_t m, const GroupedWeights& w, bool half_activations = false);
  friend bool operator==(const GemmWqProblem&, const GemmWqProblem&) = default;
};

// GroupedWeights on one Context's device (their bytes as they are: the host layout is the kernels'). Move-only; a
// moved-from object is empty (n() == k() == 0) and rejected by gemm_wq.
class PackedWeightsWq {
 public:
  PackedWeightsWq() = default;
  PackedWeightsWq(PackedWeightsWq&& other) noexcept;
  PackedWeightsWq& operator=(PackedWeightsWq&& other) noexcept;

  std::int64_t n() const { return n_; }
  std::int64_t k() const { return k_; }
  int bits() const { return bits_; }
  int group() const { return group_; }
  bool zero_points() const { return zero_points_; }
  std::uint64_t bytes() const;                   // device bytes: qs + scales + zeros
  double upload_ms() const { return upload_ms_; }
  const Buffer<std::uint8_t>& qs() const { return qs_; }
  const Buffer<std::uint16_t>& scales() const { return scales_; }
  const Buffer<std::uint8_t>& zeros() const { return zeros_; }   // empty when symmetric
  cl_context context() const { return context_; }

 private:
  friend PackedWeightsWq pack_weights_wq(Context&, const GroupedWeights&);
  std::int64_t n_ = 0;
  std::int64_t k_ = 0;
  int bits_ = 4;
  int group_ = 32;
  bool zero_points_ = false;
  double upload_ms_ = 0;
  Buffer<std::uint8_t> qs_;
  Buffer<std::uint16_t> scales_;
  Buffer<std::uint8_t> zeros_;
  cl_context context_ = nullptr;
};

// Validates w (GroupedWeights::validate: InvalidArgument naming the problem) and uploads it to context's device.
PackedWeightsWq pack_weights_wq(Context& context, const GroupedWeights& w);

struct GemmWqOptions {
  const Buffer<float>* bias = nullptr;   // optional: N values added to every row of Y
  std::string impl;                      // run this Impl instead of the first applicable one
};

// Enqueues Y = X * W^T (+ bias). x holds M x K fp32 values, or fp16 bit patterns when problem.half_activations,
// row-major; y holds M x N floats. Throws InvalidArgument naming the argument: a dimension below 1, weights packed
// for another shape or format or on another Context, a buffer too small. Numerics: weights are finite by
// construction (validate); NaN/Inf in row m of X or in bias[n] propagate (IEEE fp32) to row m / column n of Y.
EventList gemm_wq(Context& context, const GemmWqProblem& problem, const RawBuffer& x, const PackedWeightsWq& w,
                  Buffer<float>& y, const GemmWqOptions& options = {});

// The weight-only quantized GEMM Impls in dispatch order.
std::vector<std::string> gemm_wq_impls();

// ---- Sparse CSR products: SpMV and SpMM --------------------------------------------------------------------------
// Y = A X (+ bias, ReLU) with A a validated CsrMatrix (sparse.hpp) on the device, X dense K x N and Y dense M x N,
// both row-major fp32; SpMV is N = 1. Bound by memory traffic (values, indices and the gathered rows of X), on the
// RX 580 as on a CPU; a pruned layer beats its dense GEMM only below a crossover density (see the README).

// Canonical text "spmm_csr:m<M>k<K>n<N>d<density>" (density nnz / (M K) to 4 significant digits), plus "_p" when
// the row lengths are skewed (power-law: coefficient of variation of the row lengths above kSkewedRowsCv). The
// tests and benchmarks generate a uniform random matrix for a problem, or an R-MAT one when "_p" is set.
struct SpmmProblem {
  std::int64_t m = 0;
  std::int64_t k = 0;
  std::int64_t n = 1;
  double density = 0;
  bool skewed = false;

  static constexpr double kSkewedRowsCv = 1.0;

  std::string str() const;
  static SpmmProblem parse(std::string_view text);   // throws InvalidArgument naming the problem
  // nnz implied by the density (exact for problems made by of(): round(density * m * k) within its 4 digits).
  std::int64_t nnz() const;
  double mean_row() const { return density * double(k); }
  double flops() const { return 2.0 * double(nnz()) * double(n); }
  static SpmmProblem of(const CsrRowStats& stats, std::int64_t k, std::int64_t n);
  friend bool operator==(const SpmmProblem&, const SpmmProblem&) = default;
};

namespace detail {
struct CsrScratch;
}

// A validated CsrMatrix on one Context's device, with its row statistics. Move-only; a moved-from object is empty
// (context() == nullptr) and rejected by spmm_csr. It also keeps the scratch the nonzero-balanced Impl needs for
// rows split between work-items (2 x ceil(nnz / CH) x N floats for the largest N run so far), allocated on first use
// and released with it. Safe to use from several threads at once, on one Context or on Contexts made by share()
// (launches that share the scratch are serialised; one from another queue waits for the previous one to finish).
class DeviceCsr {
 public:
  DeviceCsr() = default;
  DeviceCsr(DeviceCsr&& other) noexcept;
  DeviceCsr& operator=(DeviceCsr&& other) noexcept;

  std::int64_t rows() const { return stats_.rows; }
  std::int64_t cols() const { return cols_; }
  std::int64_t nnz() const { return stats_.nnz; }
  const CsrRowStats& stats() const { return stats_; }
  std::uint64_t bytes() const;   // device bytes: row_ptr + col_idx + values
  const Buffer<std::int32_t>& row_ptr() const { return row_ptr_; }
  const Buffer<std::int32_t>& col_idx() const { return col_idx_; }
  const Buffer<float>& values() const { return values_; }
  cl_context context() const { return context_; }
  // The problem of a product with n columns.
  SpmmProblem problem(std::int64_t n) const;
  detail::CsrScratch& scratch() const { return *scratch_; }

 private:
  friend DeviceCsr upload_csr(Context&, const CsrMatrix&);
  std::int64_t cols_ = 0;
  CsrRowStats stats_;
  Buffer<std::int32_t> row_ptr_;
  Buffer<std::int32_t> col_idx_;
  Buffer<float> values_;
  cl_context context_ = nullptr;
  std::shared_ptr<detail::CsrScratch> scratch_;
};

// Validates a (CsrMatrix::validate: InvalidArgument naming the first violation) and uploads it: invalid CSR never
// reaches a kernel.
DeviceCsr upload_csr(Context& context, const CsrMatrix& a);

struct SpmmOptions {
  const Buffer<float>* bias = nullptr;   // optional: M values, bias[r] added to every column of row r
  bool relu = false;                     // then Y = (Y <= 0 ? 0 : Y): NaN kept, as ONNX's Relu
  // Run this Impl instead of the one the row statistics choose; throws NotSupported with its reason if it cannot
  // run the problem at all.
  std::string impl;
};

// Enqueues Y = A X (+ bias, ReLU) for X holding K x n floats and Y M x n, row-major (n >= 1). Without options.impl,
// the Impl is chosen from A's row statistics: on a GPU skewed rows -> spmm_csr_f32_balanced, long rows ->
// spmm_csr_f32_vector; else (and always on a CPU device) spmm_csr_f32_row (ELLESMERE_VERBOSE=dispatch prints why). Results do not depend on
// the launch geometry's timing (no atomics): the same Params give the same bits every run. NaN and Inf in A or X
// propagate as IEEE arithmetic says. Throws InvalidArgument naming the argument: n < 1, an empty (moved-from) A,
// A uploaded on another Context, a buffer too small.
EventList spmm_csr(Context& context, const DeviceCsr& a, std::int64_t n, const Buffer<float>& x, Buffer<float>& y,
                   const SpmmOptions& options = {});
// SpMV: y = A x (+ bias, ReLU), spmm_csr with n = 1.
EventList spmv_csr(Context& context, const DeviceCsr& a, const Buffer<float>& x, Buffer<float>& y,
                   const SpmmOptions& options = {});

// The sparse product Impls in dispatch order.
std::vector<std::string> spmm_csr_impls();

// ---- FP16 convolution -----------------------------------------------------------------------------------------
// Conv2d with ONNX semantics: X is N x C x H x W (NCHW), W is K x C/groups x R x S (OIHW), Y is N x K x OH x OW, all
// IEEE binary16 held as uint16_t bit patterns (quant.hpp converts), read with vload_half and accumulated in fp32.
// On the RX 580 fp16 arithmetic runs at the fp32 rate (no packed math, and Mesa exposes no cl_khr_fp16): halving the
// bytes moved is the whole win, so no kernel here needs cl_khr_fp16.

// Canonical text "conv_f16:n<N>c<C>h<H>w<W>k<K>r<R>s<S>", then padding "p<P>" (all four sides) or
// "pt<top>pl<left>pb<bottom>pr<right>", stride "u<U>" or "uh<Uh>uw<Uw>", dilation (when not 1) "d<D>" or "dh<Dh>dw<Dw>",
// groups (when not 1) "g<G>": conv_f16:n1c64h56w56k64r3s3p1u1 is ResNet-18's 3x3 layer at batch 1. A missing p, u,
// d or g means 0, 1, 1, 1.
struct ConvProblem {
  std::int64_t n = 1;
  std::int64_t c = 0;
  std::int64_t h = 0;
  std::int64_t w = 0;
  std::int64_t k = 0;
  std::int64_t r = 0;   // kernel height
  std::int64_t s = 0;   // kernel width
  std::int64_t pad_top = 0;
  std::int64_t pad_left = 0;
  std::int64_t pad_bottom = 0;
  std::int64_t pad_right = 0;
  std::int64_t stride_h = 1;
  std::int64_t stride_w = 1;
  std::int64_t dilation_h = 1;
  std::int64_t dilation_w = 1;
  std::int64_t groups = 1;

  std::string str() const;
  // Throws InvalidArgument naming the problem and what is wrong, including everything validate() checks.
  static ConvProblem parse(std::string_view text);
  // Throws InvalidArgument naming the first inconsistency: a dimension below 1, a negative pad, stride or dilation
  // below 1, C or K not divisible by groups, an output size below 1 (the dilated kernel larger than the padded
  // input), or an element count of X, W or Y of 2^31 or more (the kernels index with 32-bit ints).
  void validate() const;
  std::int64_t out_h() const { return (h + pad_top + pad_bottom - dilation_h * (r - 1) - 1) / stride_h + 1; }
  std::int64_t out_w() const { return (w + pad_left + pad_right - dilation_w * (s - 1) - 1) / stride_w + 1; }
  std::int64_t c_per_group() const { return c / groups; }
  std::int64_t k_per_group() const { return k / groups; }
  bool depthwise() const { return groups > 1 && groups == c && k % c == 0; }   // one input channel per group
  std::int64_t input_elements() const { return n * c * h * w; }
  std::int64_t weight_elements() const { return k * c_per_group() * r * s; }
  std::int64_t output_elements() const { return n * k * out_h() * out_w(); }
  double flops() const { return 2.0 * double(output_elements()) * double(c_per_group() * r * s); }
  friend bool operator==(const ConvProblem&, const ConvProblem&) = default;
};

// The fused epilogue: Y = act(conv + bias[k] + residual), in fp32 before the one rounding to half. ReLU6 is
// clip(0, 6). NaN propagates through ReLU and clip (as ONNX's Relu and Clip do).
struct ConvEpilogue {
  enum class Activation { none, relu, clip };
  const Buffer<float>* bias = nullptr;                // optional: K floats
  const Buffer<std::uint16_t>* residual = nullptr;    // optional: halves shaped as Y (ResNet's skip connection)
  Activation activation = Activation::none;
  float clip_min = 0.0f;                              // clip: min(max(y, clip_min), clip_max)
  float clip_max = 6.0f;

  static ConvEpilogue relu(const Buffer<float>* bias = nullptr) { return {bias, nullptr, Activation::relu}; }
  static ConvEpilogue relu6(const Buffer<float>* bias = nullptr) { return {bias, nullptr, Activation::clip, 0, 6}; }
};

struct ConvOptions {
  ConvEpilogue epilogue;
  std::string impl;   // run this Impl instead of the one dispatch chooses; NotSupported with its reason if it can't
};

// Enqueues Y = epilogue(conv(X, W)) with x, w and y holding the halves of X, W and Y in the layouts above. Impls
// that change layouts internally (Winograd's transforms, the 1x1 GEMM's packing) do so inside the call, in its
// events and time. Throws InvalidArgument naming the argument: an inconsistent problem (validate()), a buffer
// smaller than its tensor, clip_min > clip_max or a clip bound that is NaN.
// Numerics: every half is read exactly (subnormal halves too: they are normal floats) and each output is rounded to
// half once, so a result beyond 65504 (from 65520 up) is stored as +-Inf. NaN/Inf in X or W propagate (Inf * 0 =
// NaN) to the outputs whose window holds them; Winograd Impls mix a whole tile in their transforms, so there a
// NaN/Inf input makes every output of the 2x2 / 4x4 output tiles it touches NaN. (to_halves turns floats beyond
// the half range into +-Inf and keeps NaN.)
EventList conv2d_f16(Context& context, const ConvProblem& problem, const Buffer<std::uint16_t>& x,
                     const Buffer<std::uint16_t>& w, Buffer<std::uint16_t>& y, const ConvOptions& options = {});

// Any other element type is a compile-time error that says what to do (tests/compile_fail/conv_f32_buffers.cpp).
template <typename TX, typename TW, typename TY>
EventList conv2d_f16(Context&, const ConvProblem&, const Buffer<TX>&, const Buffer<TW>&, Buffer<TY>&,
                     const ConvOptions& = {}) {
  static_assert(sizeof(TX) == 0,
                "conv2d_f16 takes X, W and Y as half bit patterns, Buffer<std::uint16_t>: convert fp32 data with "
                "ellesmere::to_halves (ellesmere/quant.hpp) and results back with to_floats");
  return {};
}

// The FP16 convolution Impls in dispatch order.
std::vector<std::string> conv2d_f16_impls();

// ONNX QuantizeLinear / DequantizeLinear on the device, bit-exact with quantize_linear / dequantize_linear on the
// host (quant.hpp) where the device divides with correct rounding (it reports CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT;
// PoCL and AMD's drivers do). shape and params as on the host; y / q hold raw bytes of params.type. Numerics as on
// the host (saturate): NaN -> the zero point, +-Inf and huge values clamp to the type's ends. A device without
// CL_FP_DENORM may flush a subnormal x to 0, which changes q only for scales below 2 * FLT_MIN.
EventList quantize_linear(Context& context, const Buffer<float>& x, std::span<const std::int64_t> shape,
                          const QuantParams& params, RawBuffer& y);
EventList dequantize_linear(Context& context, const RawBuffer& q, std::span<const std::int64_t> shape,
                            const QuantParams& params, Buffer<float>& x);

}  // namespace ellesmere
