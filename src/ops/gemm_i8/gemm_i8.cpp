// The public INT8 GEMM API: problem text, weight packing (include/ellesmere/formats/int8_gemm.h), argument checks,
// epilogue scales, dispatch over gemm_i8_list().
#include <chrono>
#include <cmath>

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
  const auto p = ops::ProblemText::parse(text);
  if (p.op != "gemm_i8") throw InvalidArgument(fmt::format("problem \"{}\" is a {} problem, not gemm_i8", text, p.op));
  GemmI8Problem g;
  auto field = [&](const char* name) -> std::int64_t {
    auto it = p.fields.find(name);
    if (it == p.fields.end()) throw InvalidArgument(fmt::format("problem \"{}\": missing {}", text, name));
    const double v = it->second;
    if (v < 0 || v != std::floor(v) || v >= 2147483648.0) {
      throw InvalidArgument(fmt::format("problem \"{}\": {} must be an integer in [0, 2^31)", text, name));
    }
    return std::int64_t(v);
  };
  g.m = field("m");
  g.n = field("n");
  g.k = field("k");
  for (const auto& [name, v] : p.fields) {
    if (name != "m" && name != "n" && name != "k") {
      throw InvalidArgument(fmt::format("problem \"{}\": unknown field {}", text, name));
    }
  }
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
    throw InvalidArgument(fmt::format("{}: B was packed for k = {}, n = {}", problem, b.k(), b.n()));
  }
  if (b.type() != p.b_type) {
    throw InvalidArgument(fmt::format("{}: B was packed as {} but the problem says {}", problem,
                                      quant_type_name(b.type()), quant_type_name(p.b_type)));
  }
  if (b.context() != context.cl_context_handle()) {
    throw InvalidArgument(fmt::format("{}: B was packed on another Context", problem));
  }
  ops::check_operand(context, problem, "A", a.handle(), a.bytes(), std::uint64_t(p.m * p.k),
                     fmt::format("{} x {} bytes", p.m, p.k));
  ops::check_operand(context, problem, "C", c.handle(), c.bytes() / epilogue.output_element_size(),
                     std::uint64_t(p.m * p.n), fmt::format("{} x {}", p.m, p.n));

  // Per-column epilogue factors, in float32 and in ONNX Runtime's order: mult = a_scale * b_scale / y_scale.
  std::vector<float> factors;
  if (epilogue.kind != GemmI8Epilogue::Kind::int32) {
    if (!finite_positive(epilogue.a_scale)) {
      throw InvalidArgument(fmt::format("{}: a_scale {} must be finite and > 0", problem, epilogue.a_scale));
    }
    const QuantParams& bp = b.params();
    factors.resize(std::size_t(p.n));
    for (std::size_t i = 0; i < factors.size(); ++i) factors[i] = epilogue.a_scale * bp.scales[bp.per_channel() ? i : 0];
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
    for (float& f : factors) f = f / epilogue.y_scale;
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
  Buffer<float> factor_buffer;
  if (!factors.empty()) factor_buffer = Buffer<float>(context, std::span<const float>(factors), "epilogue scales");
  ops::GemmI8Args args;
  args.a = a.handle();
  args.a_zero_point = a_zero_point;
  args.b = &b;
  args.c = c.handle();
  args.epilogue = epilogue.kind;
  args.out_type = epilogue.y_type;
  args.epi_scale = factor_buffer.handle();
  args.bias = epilogue.bias != nullptr ? epilogue.bias->handle() : nullptr;
  args.relu = epilogue.relu;
  args.y_zero_point = epilogue.y_zero_point;
  // factor_buffer is released on return; OpenCL keeps a released buffer alive until the kernels using it finish.
  return impl->launch(context.impl(), p, params, args);
}

std::vector<std::string> gemm_i8_impls() {
  std::vector<std::string> names;
  for (const auto& impl : ops::gemm_i8_list()) names.push_back(impl->name());
  return names;
}

}  // namespace ellesmere
