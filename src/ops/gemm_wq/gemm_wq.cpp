// The public weight-only quantized GEMM API: problem text, the device copy of GroupedWeights, argument checks and
// dispatch over gemm_wq_list().
#include <chrono>
#include <utility>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "ellesmere/ops.hpp"
#include "ops/dispatch.hpp"
#include "ops/gemm_wq/gemm_wq_impl.hpp"
#include "ops/operand_check.hpp"
#include "ops/problem_text.hpp"

namespace ellesmere {

std::string GemmWqProblem::str() const {
  return fmt::format("gemm_wq:m{}n{}k{}q{}g{}{}{}", m, n, k, bits, group, zero_points ? "_z" : "",
                     half_activations ? "_h" : "");
}

GemmWqProblem GemmWqProblem::parse(std::string_view text) {
  const auto p = ops::ProblemText::parse_op(text, "gemm_wq");
  GemmWqProblem g;
  g.m = p.integer(text, "m");
  g.n = p.integer(text, "n");
  g.k = p.integer(text, "k");
  g.bits = int(p.integer(text, "q"));
  g.group = int(p.integer(text, "g"));
  p.expect_only(text, {"m", "n", "k", "q", "g"});
  for (const auto& f : p.flags) {
    if (f == "z") {
      g.zero_points = true;
    } else if (f == "h") {
      g.half_activations = true;
    } else {
      throw InvalidArgument(fmt::format("problem \"{}\": unknown flag {} (gemm_wq knows z: per-group zero points, h: "
                                        "fp16 activations)",
                                        text, f));
    }
  }
  return g;
}

GemmWqProblem GemmWqProblem::of(std::int64_t m, const GroupedWeights& w, bool half_activations) {
  return {.m = m, .n = w.n, .k = w.k, .bits = w.bits, .group = w.group, .zero_points = w.zero_points,
          .half_activations = half_activations};
}

PackedWeightsWq::PackedWeightsWq(PackedWeightsWq&& other) noexcept
    : n_(std::exchange(other.n_, 0)),
      k_(std::exchange(other.k_, 0)),
      bits_(other.bits_),
      group_(other.group_),
      zero_points_(other.zero_points_),
      upload_ms_(other.upload_ms_),
      qs_(std::move(other.qs_)),
      scales_(std::move(other.scales_)),
      zeros_(std::move(other.zeros_)),
      context_(std::exchange(other.context_, nullptr)) {}

PackedWeightsWq& PackedWeightsWq::operator=(PackedWeightsWq&& other) noexcept {
  if (this != &other) {
    PackedWeightsWq moved(std::move(other));
    std::swap(n_, moved.n_);
    std::swap(k_, moved.k_);
    std::swap(bits_, moved.bits_);
    std::swap(group_, moved.group_);
    std::swap(zero_points_, moved.zero_points_);
    std::swap(upload_ms_, moved.upload_ms_);
    std::swap(qs_, moved.qs_);
    std::swap(scales_, moved.scales_);
    std::swap(zeros_, moved.zeros_);
    std::swap(context_, moved.context_);
  }
  return *this;
}

std::uint64_t PackedWeightsWq::bytes() const {
  return std::uint64_t(qs_.size()) + std::uint64_t(scales_.size()) * 2 + std::uint64_t(zeros_.size());
}

PackedWeightsWq pack_weights_wq(Context& context, const GroupedWeights& w) {
  w.validate("pack_weights_wq");
  const auto t0 = std::chrono::steady_clock::now();
  PackedWeightsWq packed;
  packed.n_ = w.n;
  packed.k_ = w.k;
  packed.bits_ = w.bits;
  packed.group_ = w.group;
  packed.zero_points_ = w.zero_points;
  packed.qs_ = Buffer<std::uint8_t>(context, std::span<const std::uint8_t>(w.qs), "quantized weights");
  packed.scales_ = Buffer<std::uint16_t>(context, std::span<const std::uint16_t>(w.scales), "weight scales");
  if (w.zero_points) {
    packed.zeros_ = Buffer<std::uint8_t>(context, std::span<const std::uint8_t>(w.zeros), "weight zero points");
  }
  packed.upload_ms_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  packed.context_ = context.cl_context_handle();
  return packed;
}

EventList gemm_wq(Context& context, const GemmWqProblem& p, const RawBuffer& x, const PackedWeightsWq& w,
                  Buffer<float>& y, const GemmWqOptions& options) {
  const std::string problem = p.str();
  if (p.m < 1 || p.n < 1 || p.k < 1) {
    throw InvalidArgument(fmt::format("{}: every dimension must be at least 1 (m = {}, n = {}, k = {})", problem, p.m,
                                      p.n, p.k));
  }
  if (w.n() == 0) throw InvalidArgument(fmt::format("{}: the weights are empty (a moved-from PackedWeightsWq)", problem));
  if (w.n() != p.n || w.k() != p.k || w.bits() != p.bits || w.group() != p.group ||
      w.zero_points() != p.zero_points) {
    throw InvalidArgument(fmt::format("{}: the weights are n = {}, k = {}, {}-bit, group {}{}", problem, w.n(), w.k(),
                                      w.bits(), w.group(), w.zero_points() ? ", with zero points" : ", symmetric"));
  }
  if (w.context() != context.cl_context_handle()) {
    throw InvalidArgument(fmt::format("{}: the weights were packed on another Context", problem));
  }
  const GroupedWeights shape{.bits = p.bits, .group = p.group, .zero_points = p.zero_points, .n = p.n, .k = p.k};
  ops::check_operand(context, problem, "W (qs)", w.qs(), std::uint64_t(p.n * shape.row_bytes()),
                     fmt::format("{} bytes", p.n * shape.row_bytes()));
  ops::check_operand(context, problem, "W (scales)", w.scales(), std::uint64_t(p.n * shape.group_stride()),
                     fmt::format("{} scales", p.n * shape.group_stride()));
  if (p.zero_points) {
    ops::check_operand(context, problem, "W (zero points)", w.zeros(), std::uint64_t(p.n * shape.group_stride()),
                       fmt::format("{} zero points", p.n * shape.group_stride()));
  }
  const std::size_t x_size = p.half_activations ? 2 : 4;
  ops::check_operand(context, problem, "X", x.handle(), x.bytes() / x_size, std::uint64_t(p.m * p.k),
                     fmt::format("{} x {} {}", p.m, p.k, p.half_activations ? "halves" : "floats"));
  ops::check_operand(context, problem, "Y", y, std::uint64_t(p.m * p.n), fmt::format("{} x {}", p.m, p.n));
  if (options.bias != nullptr) {
    ops::check_operand(context, problem, "bias", *options.bias, std::uint64_t(p.n), fmt::format("{}", p.n));
  }

  const DeviceInfo& device = context.device();
  auto [impl, params] = ops::choose_impl(ops::gemm_wq_list(), problem, device, options.impl,
                                         [&](const ops::GemmWqImpl& i) { return i.applicable(p, device); });
  ops::GemmWqArgs args;
  args.x = x.handle();
  args.w = &w;
  args.y = y.handle();
  args.bias = options.bias != nullptr ? options.bias->handle() : nullptr;
  return impl->launch(context.impl(), p, params, args);
}

std::vector<std::string> gemm_wq_impls() {
  std::vector<std::string> names;
  for (const auto& impl : ops::gemm_wq_list()) names.push_back(impl->name());
  return names;
}

}  // namespace ellesmere
