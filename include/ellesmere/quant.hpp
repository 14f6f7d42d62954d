// Quantization: parameters (per-tensor or per-channel scales and zero points), ONNX QuantizeLinear /
// DequantizeLinear semantics on the host, calibration observers that choose activation parameters, and grouped
// weight-only quantization (INT4, INT8) with llama.cpp Q4_0 / Q8_0 interchange. Device-side quantize/dequantize,
// INT8 GEMM and the grouped-weight GEMM live in ops.hpp. Host-only; no OpenCL needed.
//
// Why INT8 on a Polaris GPU: the RX 580 has no int8 dot-product instruction (that arrived with gfx906), so
// int8 multiply-adds run no faster than fp32 ones (24-bit mad24 at full rate). INT8 wins by moving 4x fewer
// bytes and fitting 4x more weights in LDS and cache, which is what bandwidth-bound layers (batch-1 GEMV) need.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ellesmere {

enum class QuantType { u8, i8 };

// How a model stores a weight matrix of N outputs and K inputs: N x K (ONNX Gemm with transB=1, PyTorch Linear,
// llama.cpp) or K x N (ONNX MatMul).
enum class WeightLayout { nk, kn };
const char* quant_type_name(QuantType t) noexcept;   // "u8", "i8"
std::int32_t quant_min(QuantType t) noexcept;        // 0 or -128
std::int32_t quant_max(QuantType t) noexcept;        // 255 or 127

// Scales and zero points of a quantized tensor: one pair (per-tensor, axis = -1) or one pair per slice along
// axis (per-channel; e.g. axis 0 of an N x K weight = per output channel). Real value = scale * (q - zero_point).
struct QuantParams {
  QuantType type = QuantType::u8;
  std::vector<float> scales{1.0f};
  std::vector<std::int32_t> zero_points{0};
  int axis = -1;

  bool per_channel() const { return axis >= 0; }
  std::size_t channels() const { return scales.size(); }
  // Throws InvalidArgument naming what (e.g. "B") and the offending entry: a scale that is not finite and > 0, a
  // zero point outside the type's range, scales/zero points of different or zero counts, per-tensor params with
  // more than one entry, an axis below -1. (Whether params were meant to be symmetric is not recorded here; a
  // caller that needs zero point 0 checks zero_points itself.)
  void validate(std::string_view what) const;

  // Both build validated params (InvalidArgument as validate() throws; per_channel also rejects axis < 0).
  static QuantParams per_tensor(QuantType type, float scale, std::int32_t zero_point);
  static QuantParams per_channel(QuantType type, int axis, std::vector<float> scales,
                                 std::vector<std::int32_t> zero_points);
};

// ONNX QuantizeLinear: q = saturate(round_half_to_even(x / scale) + zero_point), with a correctly rounded float32
// division, exactly as the ONNX reference computes it. shape is x's shape (row-major); for per-channel params the
// channel of element i is (i / inner) % channels, inner = product of shape[axis+1:]. Throws InvalidArgument on a
// shape/params mismatch (axis out of range, shape[axis] != channels, x.size() != product(shape), y.size() wrong)
// and on invalid params. ONNX leaves NaN undefined; here NaN quantizes to the zero point (it represents 0.0),
// +inf and -inf saturate to the type's max and min; the device kernels do the same. y holds raw bytes (the i8
// values' two's-complement bytes).
void quantize_linear(std::span<const float> x, std::span<const std::int64_t> shape, const QuantParams& params,
                     std::span<std::uint8_t> y);
// ONNX DequantizeLinear: x = (float(q) - float(zero_point)) * scale, float32.
void dequantize_linear(std::span<const std::uint8_t> q, std::span<const std::int64_t> shape,
                       const QuantParams& params, std::span<float> x);

// Calibration observers for activations: fed batches of real values, they choose per-tensor parameters.
enum class ObserverKind {
  min_max,      // range [min(x, 0), max(x, 0)] of everything seen (ONNX DynamicQuantizeLinear's choice)
  percentile,   // clip to the [100 - p, p] percentiles of what was seen (p = ObserverOptions::percentile)
  mse,          // the 256-level grid (u8, or i8 with a zero point) with the least expected squared quantization
                // error over what was seen; its ends, which may lie up to a step past the data
};
const char* observer_kind_name(ObserverKind k) noexcept;

struct ObserverOptions {
  double percentile = 99.99;   // for ObserverKind::percentile, in (50, 100]
  int histogram_bins = 2048;   // resolution of the histogram percentile and MSE work from
  int mse_candidates = 256;    // MSE observer: scales tried (k / n of min_max's, k = 1..n), each with its zero points
};

class Observer {
 public:
  explicit Observer(ObserverKind kind, ObserverOptions options = {});
  // Accumulates a batch. NaN values are counted (nan_count()) and otherwise ignored; infinities throw
  // InvalidArgument naming the index (and leave the observer unchanged). The result does not depend on how the
  // values were split into batches or in which order the batches came.
  void observe(std::span<const float> values);
  std::uint64_t count() const { return count_; }   // values observed, NaNs not included
  std::uint64_t nan_count() const { return nan_count_; }
  float min() const { return min_; }
  float max() const { return max_; }

  // The clipping range chosen by the observer's kind; always contains 0 (so zero is exactly representable).
  // Throws InvalidArgument if nothing was observed.
  std::pair<float, float> range() const;
  // Parameters for type: asymmetric (u8, or i8 with a zero point) unless symmetric, which requires i8 and gives
  // zero point 0 with scale = max(|lo|, |hi|) / 127. Same as params_from_range(range(), type, symmetric).
  QuantParams params(QuantType type, bool symmetric = false) const;

 private:
  void grow_histogram(float lo, float hi);
  ObserverKind kind_;
  ObserverOptions options_;
  std::uint64_t count_ = 0;
  std::uint64_t nan_count_ = 0;
  float min_ = 0.0f;
  float max_ = 0.0f;
  double hist_lo_ = 0.0;   // histogram covers [hist_lo_, hist_hi_); double, as the edges of a window around
  double hist_hi_ = 0.0;   // float data can pass FLT_MAX or need more than 24 bits
  std::vector<double> histogram_;
};

// Parameters from a range as ONNX DynamicQuantizeLinear computes them (u8: scale = (hi - lo) / 255,
// zero point = saturate(round_half_even(-lo / scale))), generalised to i8 and to symmetric i8. The range is first
// widened to include 0. Bit for bit as ONNX's reference computes it under NumPy 1.x: the scale in double, rounded
// once to float32; the zero point divided in double. i8 asymmetric: the same scale, zero point =
// saturate(-128 + round_half_even(-lo / scale)). symmetric (i8 only, else InvalidArgument): scale =
// max(|lo|, |hi|) / 127, zero point 0. An all-zero range gives scale 1 (ONNX's formula would divide by zero) and
// the zero point that formula gives with it; a scale that would be below FLT_MIN is raised to FLT_MIN (devices may
// flush subnormals). Throws InvalidArgument for a non-finite bound or lo > hi.
QuantParams params_from_range(float lo, float hi, QuantType type, bool symmetric = false);

// ---- Grouped weight-only quantization -------------------------------------------------------------------------
// Batch-1 LLM decoding on an RX 580 is bound by memory bandwidth: 4-bit weights read 8x fewer bytes than fp32
// (7.1x counting G = 32 fp16 scales, 7.8x at G = 128). The arithmetic is no faster: Polaris has no packed or
// int8-dot math, so the kernels unpack to fp32 and multiply-add at the fp32 rate. Bytes are the whole win.

// IEEE binary16 <-> float32 (Debian's libfp16). float_to_half rounds to nearest even (as F16C and ggml do); values
// beyond the half range become +-inf, NaN stays NaN. half_to_float is exact for every one of the 65536 patterns.
// Halves are held as their uint16_t bit patterns, which is what Buffer<std::uint16_t> carries to vload_half.
std::uint16_t float_to_half(float value) noexcept;
float half_to_float(std::uint16_t half) noexcept;
// Whole buffers; the spans must have the same size (else InvalidArgument).
void floats_to_halves(std::span<const float> in, std::span<std::uint16_t> out);
void halves_to_floats(std::span<const std::uint16_t> in, std::span<float> out);
std::vector<std::uint16_t> to_halves(std::span<const float> values);
std::vector<float> to_floats(std::span<const std::uint16_t> halves);

// A weight matrix W (n outputs x k inputs) quantized in groups of `group` consecutive weights along K, held on the
// host in the kernels' layout (include/ellesmere/formats/grouped_weights.h): 4-bit q with an fp16 scale per group
// and either a per-group zero point (asymmetric, GPTQ/AWQ style) or the implied 8 (symmetric, llama.cpp Q4_0), or
// 8-bit symmetric q (llama.cpp Q8_0). w[n][k] = scale * (q - z), exact in float32. K need not be a multiple of the
// group: the last group of each row is padded with weights that dequantize to 0. Upload with pack_weights_wq
// (ops.hpp).
struct GroupedWeights {
  int bits = 4;                         // 4, or 8 (symmetric only)
  int group = 32;                       // weights per scale: 32, 64 or 128
  bool zero_points = false;             // per-group zero points (bits 4 only); else symmetric
  std::int64_t n = 0;                   // rows (outputs)
  std::int64_t k = 0;                   // columns (inputs)
  std::vector<std::uint8_t> qs;         // n * row_bytes()
  std::vector<std::uint16_t> scales;    // n * group_stride() binary16 patterns (padding entries 0)
  std::vector<std::uint8_t> zeros;      // n * group_stride() when zero_points (0..15), else empty

  std::int64_t groups() const;          // per row: ceil(k / group)
  std::int64_t group_stride() const;    // groups() rounded up to 16 (scale and zero rows are 16-entry aligned)
  std::int64_t padded_k() const;        // groups() * group
  std::int64_t row_bytes() const;       // padded_k() * bits / 8
  std::uint64_t bytes() const;          // qs + scales + zeros: what one GEMV reads
  double bits_per_weight() const;       // bytes() * 8 / (n * k)

  int q(std::int64_t row, std::int64_t col) const;            // the stored value (0..15, or -128..127)
  int zero_point(std::int64_t row, std::int64_t group_index) const;   // z: the stored one, 8, or 0
  float scale(std::int64_t row, std::int64_t group_index) const;
  float weight(std::int64_t row, std::int64_t col) const;     // scale * (q - z)
  std::vector<float> dequantize() const;                      // n x k, row-major

  // Throws InvalidArgument naming what (e.g. "W") and the first problem: bits/group unsupported, zero points with
  // bits 8, n or k < 1, array sizes that do not match, a scale that is Inf or NaN, a zero point above 15, padding
  // that is not zero-valued.
  void validate(std::string_view what) const;
};

struct GroupQuantOptions {
  int bits = 4;              // 4 or 8
  int group = 32;            // 32, 64 or 128
  bool zero_points = false;  // asymmetric (4-bit only): range [min(w, 0), max(w, 0)] over 16 levels
  // MSE-optimal clipping: per group, try clip_candidates ranges shrunk by factors evenly spaced in [min_clip, 1]
  // and keep the one with the least squared error after rounding (the fp16 scale included). Off: round to nearest
  // over the full range.
  bool clip_search = false;
  int clip_candidates = 20;
  float min_clip = 0.5f;
};

// Quantizes w (n x k in layout) by round-to-nearest (half to even) with an fp16 scale per group. Symmetric 4-bit
// uses all 16 levels, as llama.cpp's Q4_0 does: d = (the value of largest magnitude) / -8, q = clamp(rint(w / d)
// + 8, 0, 15). Symmetric 8-bit: d = max|w| / 127, q = clamp(rint(w / d), -127, 127). Asymmetric 4-bit: d = (hi - lo)
// / 15, z = clamp(rint(-lo / d), 0, 15), q = clamp(rint(w / d) + z, 0, 15). Divisions use the fp16-rounded scale
// the kernels will multiply by. Throws InvalidArgument for unsupported options, sizes that do not match, non-finite
// weights, or a group whose scale overflows fp16 (|w| beyond ~5e5 for 4-bit).
GroupedWeights quantize_grouped(std::span<const float> w, std::int64_t n, std::int64_t k, WeightLayout layout,
                                const GroupQuantOptions& options = {});

// How far the quantized weights are from the originals: nmse = sum (w - deq)^2 / sum w^2 (0 when both are all
// zero, +inf when only w is), max_abs = max |w - deq|, in double. Throws InvalidArgument when the shapes differ.
struct QuantError {
  double nmse = 0;
  double max_abs = 0;
};
QuantError quantization_error(std::span<const float> w, WeightLayout layout, const GroupedWeights& q);

// llama.cpp interchange (ggml's Q4_0 and Q8_0 blocks: 32 weights, fp16 d, then the quants; see the format header).
// n rows of k weights, k a multiple of 32 (the block formats cannot describe anything else), blocks row by row as
// ggml stores a tensor. Import is lossless: it regroups the bytes into our layout (Q4_0 -> 4-bit G = 32
// symmetric; Q8_0 -> 8-bit G = 32), and dequantizing the result equals ggml's dequantize_row bit for bit. Throws
// InvalidArgument naming the problem: k not a multiple of 32, a buffer whose size is not n * k / 32 blocks
// (truncated or too long), a scale that is Inf or NaN (with its row and block).
GroupedWeights import_q4_0(std::span<const std::uint8_t> blocks, std::int64_t n, std::int64_t k);
GroupedWeights import_q8_0(std::span<const std::uint8_t> blocks, std::int64_t n, std::int64_t k);
// The inverse, for weights of exactly that format (else InvalidArgument saying what differs).
std::vector<std::uint8_t> export_q4_0(const GroupedWeights& w);
std::vector<std::uint8_t> export_q8_0(const GroupedWeights& w);
// ggml's reference quantizers (quantize_row_q4_0_ref, quantize_row_q8_0_ref), bit for bit: w is count floats,
// count a multiple of 32; returns the blocks. Non-finite values throw InvalidArgument. A block so small that
// ggml's 1/d overflows (ggml's cast is then undefined) gets d = fp16 0 and every q at the zero point.
std::vector<std::uint8_t> quantize_q4_0(std::span<const float> w);
std::vector<std::uint8_t> quantize_q8_0(std::span<const float> w);
// ggml's dequantize_row_q4_0 / dequantize_row_q8_0, bit for bit: one float per weight of every block. Throws
// InvalidArgument when blocks is not a whole number of blocks.
std::vector<float> dequantize_q4_0(std::span<const std::uint8_t> blocks);
std::vector<float> dequantize_q8_0(std::span<const std::uint8_t> blocks);

}  // namespace ellesmere
