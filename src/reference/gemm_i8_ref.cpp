// INT8 GEMM reference: the exact sum on Eigen int64 matrices, then requantize / dequantize epilogues in float32,
// written out step by step. Used by tests, benchmarks and tools to check the gemm_i8 kernels bit for bit.
#include <Eigen/Dense>

#include <cfenv>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "reference/reference.hpp"

// The float steps below must round once each, as the kernels do with FP_CONTRACT OFF: this library is built with
// -ffp-contract=off (CMakeLists.txt).
namespace ellesmere::reference {

namespace {

std::int64_t value(std::uint8_t byte, QuantType t) {
  return t == QuantType::i8 ? std::int64_t(std::int8_t(byte)) : std::int64_t(byte);
}

float column_scale(const QuantParams& p, std::int64_t col) { return p.scales[p.per_channel() ? std::size_t(col) : 0]; }
std::int64_t column_zero_point(const QuantParams& p, std::int64_t col) {
  return p.zero_points[p.per_channel() ? std::size_t(col) : 0];
}

}  // namespace

std::vector<std::int32_t> gemm_i8_ref(const GemmI8Problem& p, std::span<const std::uint8_t> a, std::int32_t a_zp,
                                      std::span<const std::uint8_t> b, WeightLayout layout,
                                      const QuantParams& b_params) {
  using Matrix = Eigen::Matrix<std::int64_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  if (a.size() != std::size_t(p.m * p.k) || b.size() != std::size_t(p.k * p.n)) {
    throw InvalidArgument(fmt::format("gemm_i8_ref {}: operand sizes {} and {} do not match", p.str(), a.size(),
                                      b.size()));
  }
  Matrix A(p.m, p.k), B(p.k, p.n);
  for (std::int64_t i = 0; i < p.m; ++i) {
    for (std::int64_t kk = 0; kk < p.k; ++kk) A(i, kk) = value(a[std::size_t(i * p.k + kk)], p.a_type) - a_zp;
  }
  for (std::int64_t kk = 0; kk < p.k; ++kk) {
    for (std::int64_t j = 0; j < p.n; ++j) {
      const std::size_t idx = std::size_t(layout == WeightLayout::nk ? j * p.k + kk : kk * p.n + j);
      B(kk, j) = value(b[idx], p.b_type) - column_zero_point(b_params, j);
    }
  }
  const Matrix C = A * B;
  std::vector<std::int32_t> out(std::size_t(p.m * p.n));
  for (std::int64_t i = 0; i < p.m; ++i) {
    for (std::int64_t j = 0; j < p.n; ++j) {
      const std::int64_t v = C(i, j);
      if (v < std::numeric_limits<std::int32_t>::min() || v > std::numeric_limits<std::int32_t>::max()) {
        throw InvalidArgument(fmt::format("gemm_i8_ref {}: C[{}][{}] = {} does not fit int32", p.str(), i, j, v));
      }
      out[std::size_t(i * p.n + j)] = std::int32_t(v);
    }
  }
  return out;
}

std::vector<std::uint8_t> requantize_ref(std::span<const std::int32_t> acc, std::int64_t m, std::int64_t n,
                                         float a_scale, const QuantParams& b_params, float y_scale,
                                         std::int32_t y_zp, QuantType y_type) {
  if (std::fegetround() != FE_TONEAREST) {
    throw Error("requantize_ref needs the default rounding mode (to nearest): nearbyint rounds by it");
  }
  std::vector<std::uint8_t> out(std::size_t(m * n));
  const float lo = float(quant_min(y_type)), hi = float(quant_max(y_type));
  for (std::int64_t j = 0; j < n; ++j) {
    const float ab = a_scale * column_scale(b_params, j);
    const float mult = ab / y_scale;
    for (std::int64_t i = 0; i < m; ++i) {
      const float scaled = float(acc[std::size_t(i * n + j)]) * mult;
      float q = std::nearbyint(scaled) + float(y_zp);   // default rounding mode: to nearest, ties to even
      q = std::min(std::max(q, lo), hi);
      const std::int32_t v = std::int32_t(q);
      out[std::size_t(i * n + j)] = y_type == QuantType::u8 ? std::uint8_t(v) : std::uint8_t(std::int8_t(v));
    }
  }
  return out;
}

std::vector<float> dequantize_acc_ref(std::span<const std::int32_t> acc, std::int64_t m, std::int64_t n,
                                      float a_scale, const QuantParams& b_params, std::span<const float> bias,
                                      bool relu) {
  std::vector<float> out(std::size_t(m * n));
  for (std::int64_t j = 0; j < n; ++j) {
    const float scale = a_scale * column_scale(b_params, j);
    for (std::int64_t i = 0; i < m; ++i) {
      float y = float(acc[std::size_t(i * n + j)]) * scale;
      if (!bias.empty()) y = y + bias[std::size_t(j)];
      if (relu) y = y <= 0.0f ? 0.0f : y;   // NaN (from a NaN bias) kept, as the kernels do
      out[std::size_t(i * n + j)] = y;
    }
  }
  return out;
}

}  // namespace ellesmere::reference
