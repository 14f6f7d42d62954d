// FP16 convolution reference on Eigen in fp32 (from the halves, which are exact as floats): an im2col matrix per
// (image, group) times the group's weights. Also the half helpers tests and benchmarks share.
#include <Eigen/Dense>

#include <algorithm>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "ellesmere/quant.hpp"
#include "reference/reference.hpp"

namespace ellesmere::reference {

namespace {
constexpr std::uint16_t kPoisonHalf = 0x7d5a;   // a signalling-pattern half NaN: no conversion of a result yields it
}

std::vector<float> conv2d_f16_ref(const ConvProblem& p, std::span<const std::uint16_t> x,
                                  std::span<const std::uint16_t> w, const ConvRefEpilogue& e) {
  p.validate();
  if (x.size() != std::size_t(p.input_elements()) || w.size() != std::size_t(p.weight_elements())) {
    throw InvalidArgument(fmt::format("conv2d_f16_ref {}: X has {} halves (want {}), W {} (want {})", p.str(), x.size(),
                                      p.input_elements(), w.size(), p.weight_elements()));
  }
  if (!e.bias.empty() && e.bias.size() != std::size_t(p.k)) {
    throw InvalidArgument(fmt::format("conv2d_f16_ref {}: bias has {} values, want {}", p.str(), e.bias.size(), p.k));
  }
  if (!e.residual.empty() && e.residual.size() != std::size_t(p.output_elements())) {
    throw InvalidArgument(fmt::format("conv2d_f16_ref {}: residual has {} halves, want {}", p.str(), e.residual.size(),
                                      p.output_elements()));
  }
  using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const std::int64_t oh = p.out_h(), ow = p.out_w(), cg = p.c_per_group(), kg = p.k_per_group();
  const std::int64_t taps = cg * p.r * p.s, pixels = oh * ow;
  const std::vector<float> xf = to_floats(x);
  const std::vector<float> wf = to_floats(w);
  std::vector<float> y(std::size_t(p.output_elements()));
  Matrix cols(taps, pixels);
  for (std::int64_t n = 0; n < p.n; ++n) {
    for (std::int64_t g = 0; g < p.groups; ++g) {
      for (std::int64_t c = 0; c < cg; ++c) {
        const float* plane = xf.data() + ((n * p.c + g * cg + c) * p.h) * p.w;
        for (std::int64_t r = 0; r < p.r; ++r) {
          for (std::int64_t s = 0; s < p.s; ++s) {
            const std::int64_t row = (c * p.r + r) * p.s + s;
            for (std::int64_t oy = 0; oy < oh; ++oy) {
              const std::int64_t iy = oy * p.stride_h - p.pad_top + r * p.dilation_h;
              for (std::int64_t ox = 0; ox < ow; ++ox) {
                const std::int64_t ix = ox * p.stride_w - p.pad_left + s * p.dilation_w;
                const bool inside = iy >= 0 && iy < p.h && ix >= 0 && ix < p.w;
                cols(row, oy * ow + ox) = inside ? plane[iy * p.w + ix] : 0.0f;
              }
            }
          }
        }
      }
      const Eigen::Map<const Matrix> wg(wf.data() + g * kg * taps, kg, taps);
      Eigen::Map<Matrix> yg(y.data() + (n * p.k + g * kg) * pixels, kg, pixels);
      yg.noalias() = wg * cols;
    }
  }
  for (std::size_t i = 0; i < y.size(); ++i) {
    float v = y[i];
    if (!e.bias.empty()) v += e.bias[(i / std::size_t(pixels)) % std::size_t(p.k)];
    if (!e.residual.empty()) v += half_to_float(e.residual[i]);
    if (e.activation == ConvEpilogue::Activation::relu) v = v < 0.0f ? 0.0f : v;
    if (e.activation == ConvEpilogue::Activation::clip) v = v < e.clip_min ? e.clip_min : (v > e.clip_max ? e.clip_max : v);
    y[i] = v;
  }
  return y;
}

std::vector<std::uint16_t> random_halves(std::size_t count, std::uint64_t seed, float lo, float hi) {
  return to_halves(random_floats(count, seed, lo, hi));
}

std::uint16_t poison_f16() { return kPoisonHalf; }

std::int64_t first_poisoned_f16(std::span<const std::uint16_t> values) {
  const auto it = std::find(values.begin(), values.end(), kPoisonHalf);
  return it == values.end() ? -1 : std::int64_t(it - values.begin());
}

}  // namespace ellesmere::reference
