// Quantization: parameters (per-tensor or per-channel scales and zero points), ONNX QuantizeLinear /
// DequantizeLinear semantics on the host, and calibration observers that choose activation parameters.
// Device-side quantize/dequantize and INT8 GEMM live in ops.hpp. Host-only; no OpenCL needed.
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

}  // namespace ellesmere
