// Host-side quantization (include/ellesmere/quant.hpp): QuantType helpers, QuantParams checks, ONNX QuantizeLinear /
// DequantizeLinear and parameters from a range. Used by the observers, the INT8 ops' host paths, tests and tools;
// the device kernels must agree with quantize_linear bit for bit (tests check them against quant_ref.cpp).
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "ellesmere/quant.hpp"
#include "quant/channel_view.hpp"
#include "quant/rounding.hpp"
#include "ellesmere/tensor_io.hpp"

// Bit-exactness with ONNX needs x / scale to be one correctly rounded float32 division: no x87 extended precision
// (FLT_EVAL_METHOD 0 on x86-64 SSE) and no -ffast-math, which lets the compiler use reciprocals and reassociate.
static_assert(FLT_EVAL_METHOD == 0, "float expressions must be evaluated in float (quantize_linear is bit-exact)");
#ifdef __FAST_MATH__
#error "src/quant/quantize.cpp must not be built with -ffast-math: quantize_linear must be bit-exact with ONNX"
#endif

namespace ellesmere {

namespace {

using quant::round_half_even;

std::string shape_text(std::span<const std::int64_t> shape) {
  return shape_string(std::vector<std::int64_t>(shape.begin(), shape.end()));
}

// The smallest normal float. Scales chosen here are never subnormal: OpenCL devices may flush fp32 subnormals to
// zero (AMD's do by default), which would turn x / scale into a division by zero on the device.
constexpr float kMinScale = std::numeric_limits<float>::min();

float clamp_scale(double scale) {
  const auto s = static_cast<float>(scale);
  return s < kMinScale ? kMinScale : s;
}

}  // namespace

const char* quant_type_name(QuantType t) noexcept {
  switch (t) {
    case QuantType::u8: return "u8";
    case QuantType::i8: return "i8";
  }
  return "?";
}

namespace quant_detail {

std::size_t element_count(const char* fn, std::span<const std::int64_t> shape) {
  std::size_t elements = 1;
  bool overflow = false;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] < 0) {
      throw InvalidArgument(
          fmt::format("{}: shape[{}] = {} is negative (shape {})", fn, d, shape[d], shape_text(shape)));
    }
    const auto dim = static_cast<std::size_t>(shape[d]);
    if (dim != 0 && elements > std::numeric_limits<std::size_t>::max() / dim) overflow = true;
    elements *= dim;
  }
  if (overflow) {
    throw InvalidArgument(fmt::format("{}: shape {} holds more elements than a size_t counts", fn, shape_text(shape)));
  }
  return elements;
}

ChannelView channel_view(const char* fn, std::span<const std::int64_t> shape, const QuantParams& params,
                         std::size_t in_size, const char* in_name, std::size_t out_size, const char* out_name) {
  params.validate(fmt::format("{} params", fn));
  const std::size_t elements = element_count(fn, shape);
  if (in_size != elements) {
    throw InvalidArgument(fmt::format("{}: {} has {} elements but shape {} holds {}", fn, in_name, in_size,
                                      shape_text(shape), elements));
  }
  if (out_size != elements) {
    throw InvalidArgument(fmt::format("{}: {} has {} elements but shape {} holds {}", fn, out_name, out_size,
                                      shape_text(shape), elements));
  }
  ChannelView view;
  if (!params.per_channel()) {
    view.inner = elements;
    return view;
  }
  const auto axis = static_cast<std::size_t>(params.axis);
  if (axis >= shape.size()) {
    throw InvalidArgument(fmt::format("{}: params.axis = {} is out of range for shape {} (rank {})", fn, params.axis,
                                      shape_text(shape), shape.size()));
  }
  if (static_cast<std::size_t>(shape[axis]) != params.channels()) {
    throw InvalidArgument(fmt::format("{}: shape[{}] = {} (shape {}) but params hold {} channels (scales and "
                                      "zero_points along axis {})",
                                      fn, axis, shape[axis], shape_text(shape), params.channels(), axis));
  }
  view.channels = params.channels();
  for (std::size_t d = 0; d < axis; ++d) view.outer *= static_cast<std::size_t>(shape[d]);
  for (std::size_t d = axis + 1; d < shape.size(); ++d) view.inner *= static_cast<std::size_t>(shape[d]);
  return view;
}

}  // namespace quant_detail

using quant_detail::channel_view;
using quant_detail::ChannelView;

std::int32_t quant_min(QuantType t) noexcept { return t == QuantType::i8 ? -128 : 0; }
std::int32_t quant_max(QuantType t) noexcept { return t == QuantType::i8 ? 127 : 255; }

void QuantParams::validate(std::string_view what) const {
  if (type != QuantType::u8 && type != QuantType::i8) {
    throw InvalidArgument(fmt::format("{}: type = {} is not a QuantType", what, static_cast<int>(type)));
  }
  if (scales.empty()) {
    throw InvalidArgument(fmt::format("{}: no scales (need one per tensor, or one per channel)", what));
  }
  if (scales.size() != zero_points.size()) {
    throw InvalidArgument(fmt::format("{}: {} scales but {} zero_points (need one zero point per scale)", what,
                                      scales.size(), zero_points.size()));
  }
  if (axis < -1) {
    throw InvalidArgument(fmt::format("{}: axis = {} (use -1 for per-tensor params, or a dimension index >= 0)",
                                      what, axis));
  }
  if (axis == -1 && scales.size() != 1) {
    throw InvalidArgument(fmt::format("{}: per-tensor params (axis = -1) hold {} scales and zero_points; expected 1",
                                      what, scales.size()));
  }
  for (std::size_t i = 0; i < scales.size(); ++i) {
    if (!std::isfinite(scales[i]) || !(scales[i] > 0.0f)) {
      throw InvalidArgument(fmt::format("{}: scales[{}] = {} is not a finite number > 0", what, i, scales[i]));
    }
    if (scales[i] < kMinScale) {
      throw InvalidArgument(fmt::format("{}: scales[{}] = {} is subnormal; OpenCL devices may flush it to zero "
                                        "(the smallest accepted scale is {})",
                                        what, i, scales[i], kMinScale));
    }
  }
  const std::int32_t lo = quant_min(type), hi = quant_max(type);
  for (std::size_t i = 0; i < zero_points.size(); ++i) {
    if (zero_points[i] < lo || zero_points[i] > hi) {
      throw InvalidArgument(fmt::format("{}: zero_points[{}] = {} is outside the {} range [{}, {}]", what, i,
                                        zero_points[i], quant_type_name(type), lo, hi));
    }
  }
}

QuantParams QuantParams::per_tensor(QuantType type, float scale, std::int32_t zero_point) {
  QuantParams p;
  p.type = type;
  p.scales = {scale};
  p.zero_points = {zero_point};
  p.axis = -1;
  p.validate("QuantParams::per_tensor");
  return p;
}

QuantParams QuantParams::per_channel(QuantType type, int axis, std::vector<float> scales,
                                     std::vector<std::int32_t> zero_points) {
  if (axis < 0) {
    throw InvalidArgument(fmt::format("QuantParams::per_channel: axis = {} must be >= 0 (normalise a negative ONNX "
                                      "axis with the tensor's rank first)",
                                      axis));
  }
  QuantParams p;
  p.type = type;
  p.scales = std::move(scales);
  p.zero_points = std::move(zero_points);
  p.axis = axis;
  p.validate("QuantParams::per_channel");
  return p;
}

void quantize_linear(std::span<const float> x, std::span<const std::int64_t> shape, const QuantParams& params,
                     std::span<std::uint8_t> y) {
  const ChannelView v = channel_view("quantize_linear", shape, params, x.size(), "x", y.size(), "y");
  const auto qmin = static_cast<float>(quant_min(params.type));
  const auto qmax = static_cast<float>(quant_max(params.type));
  std::size_t i = 0;
  for (std::size_t o = 0; o < v.outer; ++o) {
    for (std::size_t c = 0; c < v.channels; ++c) {
      const float scale = params.scales[c];
      const std::int32_t zp = params.zero_points[c];
      const auto zp_f = static_cast<float>(zp);
      for (std::size_t k = 0; k < v.inner; ++k, ++i) {
        const float scaled = x[i] / scale;   // one correctly rounded float32 division, as numpy on float32 arrays
        std::int32_t q;
        if (std::isnan(scaled)) {
          q = zp;   // NaN is undefined in ONNX; it represents nothing, so it maps to the value 0.0
        } else {
          // round_half_even(scaled) is an integer; adding zp (|zp| <= 255) is exact below 2^24 and anything larger
          // saturates anyway. +-inf flow through to the clamp.
          q = static_cast<std::int32_t>(std::clamp(round_half_even(scaled) + zp_f, qmin, qmax));
        }
        y[i] = static_cast<std::uint8_t>(q);   // i8: the two's-complement byte
      }
    }
  }
}

void dequantize_linear(std::span<const std::uint8_t> q, std::span<const std::int64_t> shape,
                       const QuantParams& params, std::span<float> x) {
  const ChannelView v = channel_view("dequantize_linear", shape, params, q.size(), "q", x.size(), "x");
  const bool is_signed = params.type == QuantType::i8;
  std::size_t i = 0;
  for (std::size_t o = 0; o < v.outer; ++o) {
    for (std::size_t c = 0; c < v.channels; ++c) {
      const float scale = params.scales[c];
      const auto zp = static_cast<float>(params.zero_points[c]);
      for (std::size_t k = 0; k < v.inner; ++k, ++i) {
        const float value = is_signed ? static_cast<float>(static_cast<std::int8_t>(q[i])) : static_cast<float>(q[i]);
        x[i] = (value - zp) * scale;   // the subtraction is exact; one rounding, in the multiply
      }
    }
  }
}

// Scales: computed in double from the float32 bounds and rounded once to float32. That is what ONNX's
// DynamicQuantizeLinear reference (onnx/backend/test/case/node/dynamicquantizelinear.py, which generated the
// test_dynamicquantizelinear* data) does under NumPy 1.x: np.minimum(0, np.min(X)) mixes a Python int with a
// float32 scalar and so yields a float64, and (x_max - x_min) / 255 stays float64 until np.float32(...). A float32
// computation (ONNX Runtime; the onnx.reference evaluator; NumPy 2 under NEP 50) gives a scale one ulp away for
// about a quarter of random ranges. The zero point likewise divides in double (round((0 - x_min) / Y_Scale) with
// x_min float64), rounding half to even like Python's round().
//
// Choices beyond ONNX, documented in quant.hpp:
// - i8 asymmetric: the u8 scale, zero point = saturate(-128 + round_half_even(-lo / scale)) (the u8 zero point
//   shifted by -128), so both types have 256 levels over the same grid.
// - symmetric (i8 only): scale = max(|lo|, |hi|) / 127, zero point 0; q = -128 is still reachable below -127.
// - lo == hi == 0 (all-zero data): ONNX's formula divides 0 by 0. Scale 1 (any positive scale represents 0
//   exactly; 1 is what onnx.reference and ONNX Runtime use), zero point as the formula gives with it: 0 for u8 and
//   symmetric i8, -128 for asymmetric i8.
// - a range narrower than 255 smallest normal floats would give a subnormal or zero scale; the scale is raised to
//   FLT_MIN (see kMinScale).
QuantParams params_from_range(float lo, float hi, QuantType type, bool symmetric) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) {
    throw InvalidArgument(fmt::format("params_from_range: lo = {} and hi = {} must be finite", lo, hi));
  }
  if (lo > hi) throw InvalidArgument(fmt::format("params_from_range: lo = {} > hi = {}", lo, hi));
  if (type != QuantType::u8 && type != QuantType::i8) {
    throw InvalidArgument(fmt::format("params_from_range: type = {} is not a QuantType", static_cast<int>(type)));
  }
  // Zero must be exactly representable (padding, ReLU outputs): widen the range to include it.
  const double dlo = std::min(static_cast<double>(lo), 0.0);
  const double dhi = std::max(static_cast<double>(hi), 0.0);

  if (symmetric) {
    if (type != QuantType::i8) {
      throw InvalidArgument(fmt::format("params_from_range: symmetric = true needs type i8, not {} (a symmetric "
                                        "u8 grid cannot hold negative values)",
                                        quant_type_name(type)));
    }
    const double amax = std::max(-dlo, dhi);
    return QuantParams::per_tensor(type, amax == 0.0 ? 1.0f : clamp_scale(amax / 127.0), 0);
  }

  const float scale = dhi == dlo ? 1.0f : clamp_scale((dhi - dlo) / 255.0);
  const double steps = round_half_even((0.0 - dlo) / static_cast<double>(scale));   // zero's offset from lo
  const double zp = std::clamp(steps + quant_min(type), static_cast<double>(quant_min(type)),
                               static_cast<double>(quant_max(type)));
  return QuantParams::per_tensor(type, scale, static_cast<std::int32_t>(zp));
}

}  // namespace ellesmere
