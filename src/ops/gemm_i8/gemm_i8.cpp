// The public INT8 GEMM API: problem text, weight packing (include/ellesmere/formats/int8_gemm.h), argument checks,
// epilogue scales, dispatch over gemm_i8_list().
#include <bit>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <utility>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "ellesmere/ops.hpp"
#include "ops/dispatch.hpp"
#include "ops/gemm_i8/gemm_i8_impl.hpp"
#include "ops/operand_check.hpp"
#include "ops/problem_text.hpp"
#include "runtime/cl.hpp"

namespace ellesmere {

static_assert(int(QuantType::u8) == ELLESMERE_QTYPE_U8 && int(QuantType::i8) == ELLESMERE_QTYPE_I8,
              "QuantType values are the kernels' ELLESMERE_QTYPE_*");
static_assert(int(GemmI8Epilogue::Kind::int32) == ELLESMERE_I8_EPILOGUE_INT32 &&
                  int(GemmI8Epilogue::Kind::requantize) == ELLESMERE_I8_EPILOGUE_REQUANT &&
                  int(GemmI8Epilogue::Kind::dequantize) == ELLESMERE_I8_EPILOGUE_DEQUANT,
              "GemmI8Epilogue::Kind values are the kernels' ELLESMERE_I8_EPILOGUE_*");

std::string GemmI8Problem::str() const {
  return fmt::format("gemm_i8:m{}n{}k{}{}{}", m, n, k, a_type == QuantType::i8 ? "_sa" : "",
                     b_type == QuantType::u8 ? "_ub" : "");
}

GemmI8Problem GemmI8Problem::parse(std::string_view text) {
  const auto p = ops::ProblemText::parse_op(text, "gemm_i8");
  GemmI8Problem g;
  g.m = p.integer(text, "m");
  g.n = p.integer(text, "n");
  g.k = p.integer(text, "k");
  p.expect_only(text, {"m", "n", "k"});
  for (const auto& f : p.flags) {
    if (f == "sa") {
      g.a_type = QuantType::i8;
    } else if (f == "ub") {
      g.b_type = QuantType::u8;
    } else {
      throw InvalidArgument(fmt::format("problem \"{}\": unknown flag {} (gemm_i8 knows sa: signed i8 activations, "
                                        "ub: unsigned u8 weights)", text, f));
    }
  }
  return g;
}

GemmI8Epilogue GemmI8Epilogue::requantize(float a_scale, float y_scale, std::int32_t y_zero_point, QuantType y_type) {
  GemmI8Epilogue e;
  e.kind = Kind::requantize;
  e.a_scale = a_scale;
  e.y_scale = y_scale;
  e.y_zero_point = y_zero_point;
  e.y_type = y_type;
  return e;
}

GemmI8Epilogue GemmI8Epilogue::dequantize(float a_scale, const Buffer<float>* bias, bool relu) {
  GemmI8Epilogue e;
  e.kind = Kind::dequantize;
  e.a_scale = a_scale;
  e.bias = bias;
  e.relu = relu;
  return e;
}

std::size_t GemmI8Epilogue::output_element_size() const { return kind == Kind::requantize ? 1 : 4; }

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

std::int32_t value_of(std::uint8_t byte, QuantType type) {
  return type == QuantType::i8 ? std::int32_t(std::int8_t(byte)) : std::int32_t(byte);
}

bool finite_positive(float v) { return std::isfinite(v) && v > 0.0f; }

}  // namespace

struct PackedWeightsI8::FactorCache {
  std::mutex mutex;
  std::map<std::pair<std::uint32_t, std::uint32_t>, Buffer<float>> buffers;   // keyed by the scales' bits
};

PackedWeightsI8::PackedWeightsI8() : factor_cache_(std::make_unique<FactorCache>()) {}
PackedWeightsI8::~PackedWeightsI8() = default;

PackedWeightsI8::PackedWeightsI8(PackedWeightsI8&& other) noexcept
    : k_(std::exchange(other.k_, 0)),
      n_(std::exchange(other.n_, 0)),
      params_(std::move(other.params_)),
      has_zero_points_(other.has_zero_points_),
      pack_ms_(other.pack_ms_),
      upload_ms_(other.upload_ms_),
      words_(std::move(other.words_)),
      column_sums_(std::move(other.column_sums_)),
      zero_points_(std::move(other.zero_points_)),
      scales_(std::move(other.scales_)),
      context_(std::exchange(other.context_, nullptr)),
      factor_cache_(std::exchange(other.factor_cache_, std::make_unique<FactorCache>())) {}

PackedWeightsI8& PackedWeightsI8::operator=(PackedWeightsI8&& other) noexcept {
  if (this != &other) {
    PackedWeightsI8 moved(std::move(other));
    std::swap(k_, moved.k_);
    std::swap(n_, moved.n_);
    std::swap(params_, moved.params_);
    std::swap(has_zero_points_, moved.has_zero_points_);
    std::swap(pack_ms_, moved.pack_ms_);
    std::swap(upload_ms_, moved.upload_ms_);
    std::swap(words_, moved.words_);
    std::swap(column_sums_, moved.column_sums_);
    std::swap(zero_points_, moved.zero_points_);
    std::swap(scales_, moved.scales_);
    std::swap(context_, moved.context_);
    std::swap(factor_cache_, moved.factor_cache_);
  }
  return *this;
}

namespace {

float column_scale(const QuantParams& p, std::int64_t col) { return p.scales[p.per_channel() ? std::size_t(col) : 0]; }

// A factor the kernels multiply by must be finite and normal (devices flush subnormals to zero; inf and 0 make
// NaN or lose every result).
void check_factor(float f, std::int64_t col, const std::string& what) {
  if (!std::isfinite(f) || f < std::numeric_limits<float>::min()) {
    throw InvalidArgument(fmt::format("{} for column {} is {}, not a finite normal float", what, col, f));
  }
}

}  // namespace

const Buffer<float>& PackedWeightsI8::requantize_factors(Context& context, float a_scale, float y_scale) const {
  const auto key = std::make_pair(std::bit_cast<std::uint32_t>(a_scale), std::bit_cast<std::uint32_t>(y_scale));
  std::lock_guard lock(factor_cache_->mutex);
  if (auto it = factor_cache_->buffers.find(key); it != factor_cache_->buffers.end()) return it->second;
  std::vector<float> factors(static_cast<std::size_t>(n_));
  for (std::int64_t col = 0; col < n_; ++col) {
    const float ab = a_scale * column_scale(params_, col);   // ONNX Runtime's order: (a_scale * b_scale) / y_scale
    factors[std::size_t(col)] = ab / y_scale;
    check_factor(factors[std::size_t(col)], col, fmt::format("a_scale * b_scale / y_scale = {} * {} / {}", a_scale,
                                                             column_scale(params_, col), y_scale));
  }
  if (factor_cache_->buffers.size() >= 16) factor_cache_->buffers.clear();   // many pairs: dynamic use, keep few
  return factor_cache_->buffers
      .emplace(key, Buffer<float>(context, std::span<const float>(factors), "requantize factors"))
      .first->second;
}

PackedWeightsI8 pack_weights_i8(Context& context, std::span<const std::uint8_t> b, std::int64_t k, std::int64_t n,
                                WeightLayout layout, const QuantParams& params) {
  const char* layout_name = layout == WeightLayout::nk ? "N x K" : "K x N";
  if (k < 1 || n < 1) {
    throw InvalidArgument(fmt::format("pack_weights_i8: k = {} and n = {} must both be at least 1", k, n));
  }
  if (k > ELLESMERE_I8_MAX_K) {
    throw InvalidArgument(fmt::format("pack_weights_i8: k = {} exceeds {}, beyond which int32 sums of u8 products "
                                      "could overflow",
                                      k, ELLESMERE_I8_MAX_K));
  }
  if (std::uint64_t(b.size()) != std::uint64_t(k) * std::uint64_t(n)) {
    throw InvalidArgument(fmt::format("pack_weights_i8: B holds {} bytes but a {} array with k = {}, n = {} needs {}",
                                      b.size(), layout_name, k, n, k * n));
  }
  params.validate("B");
  const int channel_axis = layout == WeightLayout::nk ? 0 : 1;
  if (params.per_channel() && (params.axis != channel_axis || std::int64_t(params.channels()) != n)) {
    throw InvalidArgument(fmt::format("pack_weights_i8: per-channel B params must be per output channel: axis {} of "
                                      "the {} array with {} channels (got axis {} with {})",
                                      channel_axis, layout_name, n, params.axis, params.channels()));
  }

  const auto t0 = Clock::now();
  const std::int64_t k4 = (k + 3) / 4;
  std::vector<std::uint32_t> words(std::size_t(k4 * n), 0u);
  std::vector<std::int32_t> column_sums(std::size_t(n), 0);
  auto at = [&](std::int64_t kk, std::int64_t nn) {
    return b[std::size_t(layout == WeightLayout::nk ? nn * k + kk : kk * n + nn)];
  };
  // Blocked so that both the source (rows of one layout) and the packed rows stay in cache.
  constexpr std::int64_t kBlock = 64;
  for (std::int64_t n0 = 0; n0 < n; n0 += kBlock) {
    for (std::int64_t q0 = 0; q0 < k4; q0 += kBlock) {
      for (std::int64_t nn = n0; nn < std::min(n, n0 + kBlock); ++nn) {
        for (std::int64_t q = q0; q < std::min(k4, q0 + kBlock); ++q) {
          std::uint32_t word = 0;
          for (std::int64_t j = 0; j < 4 && 4 * q + j < k; ++j) {
            const std::uint8_t byte = at(4 * q + j, nn);
            word |= std::uint32_t(byte) << (8 * j);
            column_sums[std::size_t(nn)] += value_of(byte, params.type);
          }
          words[std::size_t(q * n + nn)] = word;
        }
      }
    }
  }
  std::vector<std::int32_t> zero_points(static_cast<std::size_t>(n));
  std::vector<float> scales(static_cast<std::size_t>(n));
  bool any_zero_point = false;
  for (std::int64_t nn = 0; nn < n; ++nn) {
    const std::size_t c = params.per_channel() ? std::size_t(nn) : 0;
    zero_points[std::size_t(nn)] = params.zero_points[c];
    scales[std::size_t(nn)] = params.scales[c];
    any_zero_point = any_zero_point || params.zero_points[c] != 0;
  }

  PackedWeightsI8 packed;
  packed.k_ = k;
  packed.n_ = n;
  packed.params_ = params;
  packed.has_zero_points_ = any_zero_point;
  packed.pack_ms_ = ms_since(t0);
  const auto t1 = Clock::now();
  packed.words_ = Buffer<std::uint32_t>(context, std::span<const std::uint32_t>(words), "packed INT8 weights");
  packed.column_sums_ = Buffer<std::int32_t>(context, std::span<const std::int32_t>(column_sums), "column sums");
  packed.zero_points_ = Buffer<std::int32_t>(context, std::span<const std::int32_t>(zero_points), "zero points");
  packed.scales_ = Buffer<float>(context, std::span<const float>(scales), "weight scales");
  packed.upload_ms_ = ms_since(t1);
  packed.context_ = context.cl_context_handle();
  return packed;
}

EventList gemm_i8(Context& context, const GemmI8Problem& p, const RawBuffer& a, std::int32_t a_zero_point,
                  const PackedWeightsI8& b, RawBuffer& c, const GemmI8Epilogue& epilogue,
                  const GemmI8Options& options) {
  const std::string problem = p.str();
  if (p.m < 1 || p.n < 1 || p.k < 1) {
    throw InvalidArgument(fmt::format("{}: every dimension must be at least 1 (m = {}, n = {}, k = {})", problem, p.m,
                                      p.n, p.k));
  }
  if (a_zero_point < quant_min(p.a_type) || a_zero_point > quant_max(p.a_type)) {
    throw InvalidArgument(fmt::format("{}: a_zero_point {} is outside the {} range [{}, {}]", problem, a_zero_point,
                                      quant_type_name(p.a_type), quant_min(p.a_type), quant_max(p.a_type)));
  }
  if (b.k() != p.k || b.n() != p.n) {
    throw InvalidArgument(fmt::format("{}: B was packed for k = {}, n = {}{}", problem, b.k(), b.n(),
                                      b.k() == 0 ? " (an empty or moved-from PackedWeightsI8)" : ""));
  }
  if (b.type() != p.b_type) {
    throw InvalidArgument(fmt::format("{}: B was packed as {} but the problem says {}", problem,
                                      quant_type_name(b.type()), quant_type_name(p.b_type)));
  }
  if (b.context() != context.cl_context_handle()) {
    throw InvalidArgument(fmt::format("{}: B was packed on another Context", problem));
  }
  const std::uint64_t words = std::uint64_t((p.k + 3) / 4 * p.n);
  ops::check_operand(context, problem, "B (packed words)", b.words(), words, fmt::format("{} words", words));
  ops::check_operand(context, problem, "B (column sums)", b.column_sums(), std::uint64_t(p.n), fmt::format("{}", p.n));
  ops::check_operand(context, problem, "B (zero points)", b.zero_points(), std::uint64_t(p.n), fmt::format("{}", p.n));
  ops::check_operand(context, problem, "B (scales)", b.scales(), std::uint64_t(p.n), fmt::format("{}", p.n));
  ops::check_operand(context, problem, "A", a.handle(), a.bytes(), std::uint64_t(p.m * p.k),
                     fmt::format("{} x {} bytes", p.m, p.k));
  ops::check_operand(context, problem, "C", c.handle(), c.bytes() / epilogue.output_element_size(),
                     std::uint64_t(p.m * p.n), fmt::format("{} x {}", p.m, p.n));

  cl_mem epi_scale = nullptr;
  if (epilogue.kind != GemmI8Epilogue::Kind::int32) {
    if (!finite_positive(epilogue.a_scale)) {
      throw InvalidArgument(fmt::format("{}: a_scale {} must be finite and > 0", problem, epilogue.a_scale));
    }
  }
  if (epilogue.kind == GemmI8Epilogue::Kind::dequantize) {
    // The kernel forms a_scale * b_scale[n] itself, from the weights' scales: the same float32 product.
    for (std::int64_t col = 0; col < p.n; ++col) {
      const float b_scale = column_scale(b.params(), col);
      check_factor(epilogue.a_scale * b_scale, col, fmt::format("a_scale * b_scale = {} * {}", epilogue.a_scale, b_scale));
    }
    epi_scale = b.scales().handle();
  }
  if (epilogue.kind == GemmI8Epilogue::Kind::requantize) {
    if (!finite_positive(epilogue.y_scale)) {
      throw InvalidArgument(fmt::format("{}: y_scale {} must be finite and > 0", problem, epilogue.y_scale));
    }
    if (epilogue.y_zero_point < quant_min(epilogue.y_type) || epilogue.y_zero_point > quant_max(epilogue.y_type)) {
      throw InvalidArgument(fmt::format("{}: y_zero_point {} is outside the {} range [{}, {}]", problem,
                                        epilogue.y_zero_point, quant_type_name(epilogue.y_type),
                                        quant_min(epilogue.y_type), quant_max(epilogue.y_type)));
    }
    try {
      epi_scale = b.requantize_factors(context, epilogue.a_scale, epilogue.y_scale).handle();
    } catch (const InvalidArgument& e) {
      throw InvalidArgument(fmt::format("{}: {}", problem, e.what()));
    }
  }
  if (epilogue.bias != nullptr) {
    if (epilogue.kind != GemmI8Epilogue::Kind::dequantize) {
      throw InvalidArgument(fmt::format("{}: a bias needs the dequantize epilogue", problem));
    }
    ops::check_operand(context, problem, "bias", *epilogue.bias, std::uint64_t(p.n), fmt::format("{}", p.n));
  }
  if (epilogue.relu && epilogue.kind != GemmI8Epilogue::Kind::dequantize) {
    throw InvalidArgument(fmt::format("{}: ReLU needs the dequantize epilogue", problem));
  }

  const DeviceInfo& device = context.device();
  auto [impl, params] = ops::choose_impl(ops::gemm_i8_list(), problem, device, options.impl,
                                         [&](const ops::GemmI8Impl& i) { return i.applicable(p, device); });
  ops::GemmI8Args args;
  args.a = a.handle();
  args.a_zero_point = a_zero_point;
  args.b = &b;
  args.c = c.handle();
  args.epilogue = epilogue.kind;
  args.out_type = epilogue.y_type;
  args.a_scale = epilogue.a_scale;
  args.epi_scale = epi_scale;
  args.bias = epilogue.bias != nullptr ? epilogue.bias->handle() : nullptr;
  args.relu = epilogue.relu;
  args.y_zero_point = epilogue.y_zero_point;
  return impl->launch(context.impl(), p, params, args);
}

std::vector<std::string> gemm_i8_impls() {
  std::vector<std::string> names;
  for (const auto& impl : ops::gemm_i8_list()) names.push_back(impl->name());
  return names;
}

}  // namespace ellesmere
