// quantize_ref / dequantize_ref (quant_ref.hpp): element-by-element ONNX QuantizeLinear and DequantizeLinear,
// written from the ONNX formulas without calling src/quant, so that tests can cross-check the library and kernels.
#include <algorithm>
#include <cfenv>
#include <cmath>
#include <cstddef>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "reference/quant_ref.hpp"

namespace ellesmere::reference {

namespace {

struct Layout {
  std::size_t elements = 1;
  std::size_t inner = 1;   // elements per channel slice
  std::size_t channels = 1;
};

Layout layout(const char* fn, std::span<const std::int64_t> shape, const QuantParams& p, std::size_t in_size,
              std::size_t out_size) {
  Layout l;
  for (const std::int64_t d : shape) {
    if (d < 0) throw InvalidArgument(fmt::format("{}: negative dimension {}", fn, d));
    l.elements *= static_cast<std::size_t>(d);
  }
  if (in_size != l.elements || out_size != l.elements) {
    throw InvalidArgument(fmt::format("{}: input has {} and output {} elements; the shape holds {}", fn, in_size,
                                      out_size, l.elements));
  }
  if (p.scales.empty() || p.zero_points.size() != p.scales.size()) {
    throw InvalidArgument(fmt::format("{}: {} scales and {} zero points", fn, p.scales.size(), p.zero_points.size()));
  }
  if (p.axis >= 0) {
    const auto axis = static_cast<std::size_t>(p.axis);
    if (axis >= shape.size() || static_cast<std::size_t>(shape[axis]) != p.scales.size()) {
      throw InvalidArgument(fmt::format("{}: axis {} does not index a dimension of size {}", fn, p.axis,
                                        p.scales.size()));
    }
    l.channels = p.scales.size();
    for (std::size_t d = axis + 1; d < shape.size(); ++d) l.inner *= static_cast<std::size_t>(shape[d]);
  }
  return l;
}

}  // namespace

void quantize_ref(std::span<const float> x, std::span<const std::int64_t> shape, const QuantParams& params,
                  std::span<std::uint8_t> y) {
  if (std::fegetround() != FE_TONEAREST) {
    throw Error("quantize_ref: needs the default rounding mode (round to nearest) for rint's half-to-even");
  }
  const Layout l = layout("quantize_ref", shape, params, x.size(), y.size());
  const double qmin = params.type == QuantType::i8 ? -128.0 : 0.0;
  const double qmax = params.type == QuantType::i8 ? 127.0 : 255.0;
  for (std::size_t i = 0; i < l.elements; ++i) {
    const std::size_t c = (i / l.inner) % l.channels;
    const float scale = params.scales[c];
    const std::int32_t zp = params.zero_points[c];
    const float scaled = x[i] / scale;   // np.float32 array / np.float32 scale
    double q = zp;                       // NaN: the zero point
    if (!std::isnan(scaled)) q = std::clamp(static_cast<double>(std::rint(scaled)) + zp, qmin, qmax);
    y[i] = static_cast<std::uint8_t>(static_cast<long>(q));   // modulo 256: two's complement for i8
  }
}

void dequantize_ref(std::span<const std::uint8_t> q, std::span<const std::int64_t> shape, const QuantParams& params,
                    std::span<float> x) {
  const Layout l = layout("dequantize_ref", shape, params, q.size(), x.size());
  for (std::size_t i = 0; i < l.elements; ++i) {
    const std::size_t c = (i / l.inner) % l.channels;
    const long value = params.type == QuantType::i8 ? static_cast<long>(static_cast<std::int8_t>(q[i])) : q[i];
    x[i] = static_cast<float>(static_cast<double>(value - params.zero_points[c]) * params.scales[c]);
  }
}

}  // namespace ellesmere::reference
