// Tuner harnesses for gemm_f32, gemm_i8, gemm_wq, spmm_csr and conv_f16 (see harness.hpp): seeded inputs, a poisoned
// output, one launch through the Impl with the candidate's Params, and the op's reference tolerance.
#include "harness.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "ellesmere/ops.hpp"
#include "ellesmere/quant.hpp"
#include "ops/conv/conv_impl.hpp"
#include "ops/dispatch.hpp"
#include "ops/gemm/gemm_impl.hpp"
#include "ops/gemm_i8/gemm_i8_impl.hpp"
#include "ops/gemm_wq/gemm_wq_impl.hpp"
#include "ops/problem_text.hpp"
#include "ops/quant/quantize_impl.hpp"
#include "ops/spmm/spmm_impl.hpp"
#include "reference/reference.hpp"

namespace ellesmere::tune {

namespace {

// "" when out matches ref within tolerance and every element was written, else what is wrong.
std::string judge_floats(std::span<const float> out, std::span<const float> ref, double tolerance) {
  if (auto i = reference::first_poisoned(out); i >= 0) return fmt::format("element {} never written", i);
  const double err = reference::relative_error(out, ref);
  if (!(err <= tolerance)) return fmt::format("relative error {:.3g} > {:.0e}", err, tolerance);
  return {};
}

template <class ImplT>
const ImplT* as(const ops::ImplBase& impl) {
  return dynamic_cast<const ImplT*>(&impl);
}

std::string wrong_op(const ops::ImplBase& impl, const std::string& problem) {
  return fmt::format("{} runs {} problems, not {}", impl.name(), impl.op(), problem);
}

class GemmF32Harness final : public Harness {
 public:
  GemmF32Harness(Context& ctx, const std::string& problem, std::uint64_t seed)
      : ctx_(ctx), text_(problem), p_(GemmProblem::parse(problem)),
        a_host_(reference::random_floats(std::size_t(p_.m * p_.k), seed)),
        b_host_(reference::random_floats(std::size_t(p_.k * p_.n), seed + 1)),
        a_(ctx, std::span<const float>(a_host_), "A"), b_(ctx, std::span<const float>(b_host_), "B"),
        c_(ctx, std::size_t(p_.m * p_.n), "C") {}
  const std::string& problem() const override { return text_; }
  std::string applicable(const ops::ImplBase& impl) const override {
    const auto* i = as<ops::GemmF32Impl>(impl);
    return i ? i->applicable(p_, ctx_.device()) : wrong_op(impl, text_);
  }
  void poison() override { c_.fill(reference::poison_f32()); }
  EventList run(const ops::ImplBase& impl, const ops::Params& params) override {
    ops::GemmArgs args{.a = a_.handle(), .b = b_.handle(), .c = c_.handle()};
    return as<ops::GemmF32Impl>(impl)->launch(ctx_.impl(), p_, params, args);
  }
  std::string check() override {
    if (ref_.empty()) {
      ref_.resize(std::size_t(p_.m * p_.n));
      reference::gemm_f32_ref(p_, a_host_, b_host_, ref_);
    }
    return judge_floats(c_.to_vector(), ref_, reference::kGemmF32Tolerance);
  }

 private:
  Context& ctx_;
  std::string text_;
  GemmProblem p_;
  std::vector<float> a_host_, b_host_, ref_;
  Buffer<float> a_, b_, c_;
};

// u8 activations with zero point 121 and per-channel weights with nonzero zero points, so every correction term of
// the kernels runs; int32 output, bit-exact.
class GemmI8Harness final : public Harness {
 public:
  static constexpr std::int32_t kAZero = 121;
  static constexpr std::int32_t kPoison = 0x7fdead00;   // no sum of these inputs reaches it (|sum| < 2^16 K)

  GemmI8Harness(Context& ctx, const std::string& problem, std::uint64_t seed)
      : ctx_(ctx), text_(problem), p_(GemmI8Problem::parse(problem)),
        a_host_(reference::random_bytes(std::size_t(p_.m * p_.k), seed)),
        b_host_(reference::random_bytes(std::size_t(p_.k * p_.n), seed + 1)), b_params_(make_params(p_)),
        b_(pack_weights_i8(ctx, b_host_, p_.k, p_.n, WeightLayout::nk, b_params_)),
        a_(ctx, std::span<const std::uint8_t>(a_host_), "A"), c_(ctx, std::size_t(p_.m * p_.n), "C") {}
  const std::string& problem() const override { return text_; }
  std::string applicable(const ops::ImplBase& impl) const override {
    const auto* i = as<ops::GemmI8Impl>(impl);
    return i ? i->applicable(p_, ctx_.device()) : wrong_op(impl, text_);
  }
  void poison() override { c_.fill(kPoison); }
  EventList run(const ops::ImplBase& impl, const ops::Params& params) override {
    ops::GemmI8Args args;
    args.a = a_.handle();
    args.a_zero_point = kAZero;
    args.b = &b_;
    args.c = c_.handle();
    return as<ops::GemmI8Impl>(impl)->launch(ctx_.impl(), p_, params, args);
  }
  std::string check() override {
    if (ref_.empty()) ref_ = reference::gemm_i8_ref(p_, a_host_, kAZero, b_host_, WeightLayout::nk, b_params_);
    const auto out = c_.to_vector();
    for (std::size_t i = 0; i < out.size(); ++i) {
      if (out[i] == kPoison) return fmt::format("element {} never written", i);
      if (out[i] != ref_[i]) return fmt::format("element {}: {} != {} (integer results must be exact)", i, out[i], ref_[i]);
    }
    return {};
  }

 private:
  static QuantParams make_params(const GemmI8Problem& p) {
    std::vector<float> scales(std::size_t(p.n), 0.02f);
    std::vector<std::int32_t> zps(std::size_t(p.n));
    const bool u8 = p.b_type == QuantType::u8;
    for (std::size_t i = 0; i < zps.size(); ++i) zps[i] = std::int32_t(i % 7) - 3 + (u8 ? 128 : 0);
    return QuantParams::per_channel(p.b_type, 0, scales, zps);
  }
  Context& ctx_;
  std::string text_;
  GemmI8Problem p_;
  std::vector<std::uint8_t> a_host_, b_host_;
  QuantParams b_params_;
  PackedWeightsI8 b_;
  Buffer<std::uint8_t> a_;
  Buffer<std::int32_t> c_;
  std::vector<std::int32_t> ref_;
};

class GemmWqHarness final : public Harness {
 public:
  GemmWqHarness(Context& ctx, const std::string& problem, std::uint64_t seed)
      : ctx_(ctx), text_(problem), p_(GemmWqProblem::parse(problem)),
        w_(quantize_grouped(reference::random_floats(std::size_t(p_.n * p_.k), seed, -0.05f, 0.05f), p_.n, p_.k,
                            WeightLayout::nk, {.bits = p_.bits, .group = p_.group, .zero_points = p_.zero_points})),
        packed_(pack_weights_wq(ctx, w_)), y_(ctx, std::size_t(p_.m * p_.n), "Y") {
    const std::size_t count = std::size_t(p_.m * p_.k);
    if (p_.half_activations) {
      const auto h = reference::random_halves(count, seed + 1);
      x_values_.resize(count);
      for (std::size_t i = 0; i < count; ++i) x_values_[i] = half_to_float(h[i]);
      x_ = RawBuffer(ctx, count * 2, "X");
      x_.upload(h.data(), count * 2);
    } else {
      x_values_ = reference::random_floats(count, seed + 1);
      x_ = RawBuffer(ctx, count * 4, "X");
      x_.upload(x_values_.data(), count * 4);
    }
  }
  const std::string& problem() const override { return text_; }
  std::string applicable(const ops::ImplBase& impl) const override {
    const auto* i = as<ops::GemmWqImpl>(impl);
    return i ? i->applicable(p_, ctx_.device()) : wrong_op(impl, text_);
  }
  void poison() override { y_.fill(reference::poison_f32()); }
  EventList run(const ops::ImplBase& impl, const ops::Params& params) override {
    ops::GemmWqArgs args{.x = x_.handle(), .w = &packed_, .y = y_.handle()};
    return as<ops::GemmWqImpl>(impl)->launch(ctx_.impl(), p_, params, args);
  }
  std::string check() override {
    if (ref_.empty()) ref_ = reference::gemm_wq_ref(p_.m, x_values_, w_);
    return judge_floats(y_.to_vector(), ref_, reference::kGemmWqTolerance);
  }

 private:
  Context& ctx_;
  std::string text_;
  GemmWqProblem p_;
  GroupedWeights w_;
  PackedWeightsWq packed_;
  std::vector<float> x_values_, ref_;
  RawBuffer x_;
  Buffer<float> y_;
};

// The matrix the problem stands for (uniform, or R-MAT when "_p"), as the tests and benchmarks generate it.
class SpmmHarness final : public Harness {
 public:
  SpmmHarness(Context& ctx, const std::string& problem, std::uint64_t seed)
      : ctx_(ctx), text_(problem), requested_(SpmmProblem::parse(problem)),
        a_(reference::csr_for_problem(requested_, seed)), d_(upload_csr(ctx, a_)), p_(d_.problem(requested_.n)),
        x_host_(reference::random_floats(std::size_t(a_.cols * p_.n), seed + 1)),
        x_(ctx, std::span<const float>(x_host_), "X"), y_(ctx, std::size_t(std::max<std::int64_t>(a_.rows * p_.n, 1)), "Y") {}
  const std::string& problem() const override { return text_; }
  std::string applicable(const ops::ImplBase& impl) const override {
    const auto* i = as<ops::SpmmImpl>(impl);
    return i ? i->applicable(p_, ctx_.device()) : wrong_op(impl, text_);
  }
  void poison() override { y_.fill(reference::poison_f32()); }
  EventList run(const ops::ImplBase& impl, const ops::Params& params) override {
    ops::SpmmArgs args{.a = &d_, .x = x_.handle(), .y = y_.handle()};
    return as<ops::SpmmImpl>(impl)->launch(ctx_.impl(), p_, params, args);
  }
  std::string check() override {
    if (ref_.empty()) ref_ = reference::spmm_csr_ref(a_, p_.n, x_host_);
    auto out = y_.to_vector();
    out.resize(ref_.size());
    return judge_floats(out, ref_, reference::kSpmmTolerance);
  }

 private:
  Context& ctx_;
  std::string text_;
  SpmmProblem requested_;
  CsrMatrix a_;
  DeviceCsr d_;
  SpmmProblem p_;
  std::vector<float> x_host_, ref_;
  Buffer<float> x_, y_;
};

// Plain convolution (no epilogue: the epilogue's cost is the same for every Params of an Impl).
class ConvHarness final : public Harness {
 public:
  ConvHarness(Context& ctx, const std::string& problem, std::uint64_t seed)
      : ctx_(ctx), text_(problem), p_(ConvProblem::parse(problem)),
        x_host_(reference::random_halves(std::size_t(p_.input_elements()), seed)),
        w_host_(reference::random_halves(std::size_t(p_.weight_elements()), seed + 1)),
        x_(ctx, std::span<const std::uint16_t>(x_host_), "X"), w_(ctx, std::span<const std::uint16_t>(w_host_), "W"),
        y_(ctx, std::size_t(p_.output_elements()), "Y") {}
  const std::string& problem() const override { return text_; }
  std::string applicable(const ops::ImplBase& impl) const override {
    const auto* i = as<ops::ConvImpl>(impl);
    return i ? i->applicable(p_, ctx_.device()) : wrong_op(impl, text_);
  }
  void poison() override { y_.fill(reference::poison_f16()); }
  EventList run(const ops::ImplBase& impl, const ops::Params& params) override {
    ops::ConvArgs args;
    args.x = x_.handle();
    args.w = w_.handle();
    args.y = y_.handle();
    return as<ops::ConvImpl>(impl)->launch(ctx_.impl(), p_, params, args);
  }
  std::string check() override {
    if (ref_.empty()) ref_ = reference::conv2d_f16_ref(p_, x_host_, w_host_);
    const auto out = y_.to_vector();
    if (auto i = reference::first_poisoned_f16(out); i >= 0) return fmt::format("element {} never written", i);
    std::vector<float> values(out.size());
    for (std::size_t i = 0; i < out.size(); ++i) values[i] = half_to_float(out[i]);
    return judge_floats(values, ref_, reference::kConvF16Tolerance);
  }

 private:
  Context& ctx_;
  std::string text_;
  ConvProblem p_;
  std::vector<std::uint16_t> x_host_, w_host_;
  Buffer<std::uint16_t> x_, w_, y_;
  std::vector<float> ref_;
};

// QuantizeLinear (fp32 -> 8 bits) and DequantizeLinear (8 bits -> fp32), per tensor, against the host library, bit
// for bit. Quantized inputs stay clear of the byte poison: x in [-48, 48) with scale 0.4 lands in [8, 248] around the
// zero point (128 for u8, 0 for i8), so 255 (u8) or 127 (i8) in the output means "never written".
class QuantizeHarness final : public Harness {
 public:
  QuantizeHarness(Context& ctx, const std::string& problem, std::uint64_t seed)
      : ctx_(ctx), text_(problem), p_(ops::QuantizeProblem::parse(problem)),
        params_(QuantParams::per_tensor(p_.type, 0.4f, p_.type == QuantType::u8 ? 128 : 0)),
        shape_{p_.n}, scales_(ctx, std::span<const float>(params_.scales), "scales"),
        zero_points_(ctx, std::span<const std::int32_t>(params_.zero_points), "zero points") {
    const std::size_t n = std::size_t(p_.n);
    x_ = reference::random_floats(n, seed, -48.0f, 48.0f);
    q_.resize(n);
    quantize_linear(x_, shape_, params_, q_);
    if (p_.dequantize) {
      in_ = RawBuffer(ctx, n, "q");
      in_.upload(q_.data(), n);
      out_ = RawBuffer(ctx, n * 4, "x");
    } else {
      in_ = RawBuffer(ctx, n * 4, "x");
      in_.upload(x_.data(), n * 4);
      out_ = RawBuffer(ctx, n, "q");
    }
  }
  const std::string& problem() const override { return text_; }
  std::string applicable(const ops::ImplBase& impl) const override {
    if (!dynamic_cast<const ops::QuantizeImpl*>(&impl) || impl.op() != ops::ProblemText::parse(text_).op) {
      return wrong_op(impl, text_);
    }
    return {};
  }
  void poison() override {
    if (p_.dequantize) {
      const float v = reference::poison_f32();
      out_.fill(&v, 4);
    } else {
      const std::uint8_t v = byte_poison();
      out_.fill(&v, 1);
    }
  }
  EventList run(const ops::ImplBase& impl, const ops::Params& params) override {
    ops::QuantizeArgs args{in_.handle(), out_.handle(), scales_.handle(), zero_points_.handle(), 1, p_.n};
    return dynamic_cast<const ops::QuantizeImpl&>(impl).launch(ctx_.impl(), p_, params, args);
  }
  std::string check() override {
    const std::size_t n = std::size_t(p_.n);
    if (p_.dequantize) {
      std::vector<float> out(n), ref(n);
      out_.download(out.data(), n * 4);
      dequantize_linear(q_, shape_, params_, ref);
      if (auto i = reference::first_poisoned(out); i >= 0) return fmt::format("element {} never written", i);
      for (std::size_t i = 0; i < n; ++i) {
        if (out[i] != ref[i]) return fmt::format("element {}: {} != {} (must be exact)", i, out[i], ref[i]);
      }
      return {};
    }
    std::vector<std::uint8_t> out(n);
    out_.download(out.data(), n);
    for (std::size_t i = 0; i < n; ++i) {
      if (out[i] == byte_poison()) return fmt::format("element {} never written", i);
      if (out[i] != q_[i]) return fmt::format("element {}: {} != {} (must be exact)", i, int(out[i]), int(q_[i]));
    }
    return {};
  }

 private:
  std::uint8_t byte_poison() const { return p_.type == QuantType::u8 ? 255 : 127; }
  Context& ctx_;
  std::string text_;
  ops::QuantizeProblem p_;
  QuantParams params_;
  std::vector<std::int64_t> shape_;
  std::vector<float> x_;
  std::vector<std::uint8_t> q_;
  Buffer<float> scales_;
  Buffer<std::int32_t> zero_points_;
  RawBuffer in_, out_;
};

}  // namespace

std::vector<std::string> harness_ops() {
  return {"gemm_f32", "gemm_i8", "gemm_wq", "spmm_csr", "conv_f16", "quantize_linear", "dequantize_linear"};
}

std::unique_ptr<Harness> make_harness(Context& context, const std::string& problem, std::uint64_t seed) {
  const std::string op = ops::ProblemText::parse(problem).op;
  if (op == "gemm_f32") return std::make_unique<GemmF32Harness>(context, problem, seed);
  if (op == "gemm_i8") return std::make_unique<GemmI8Harness>(context, problem, seed);
  if (op == "gemm_wq") return std::make_unique<GemmWqHarness>(context, problem, seed);
  if (op == "spmm_csr") return std::make_unique<SpmmHarness>(context, problem, seed);
  if (op == "conv_f16") return std::make_unique<ConvHarness>(context, problem, seed);
  if (op == "quantize_linear" || op == "dequantize_linear") {
    return std::make_unique<QuantizeHarness>(context, problem, seed);
  }
  throw NotSupported(fmt::format("{}: the tuner has no harness for {} problems (it tunes: {})", problem, op,
                                 fmt::join(harness_ops(), ", ")));
}

std::string dispatch_choice(Context& context, const std::string& problem) {
  try {
    return ops::dispatch_choice(context.device(), problem);
  } catch (const NotSupported&) {
    throw NotSupported(fmt::format("{}: the tuner has no harness for {} problems", problem,
                                   ops::ProblemText::parse(problem).op));
  }
}

std::string verification_problem(const std::string& problem) {
  const std::string op = ops::ProblemText::parse(problem).op;
  // Odd sizes a few tiles wide: 67 rows (two 64-row tiles, one partial), 131 columns, 259 = 2 x 128 + 3 along K.
  auto cut = [](std::int64_t v, std::int64_t limit) { return std::min(v, limit); };
  if (op == "gemm_f32") {
    GemmProblem p = GemmProblem::parse(problem);
    p.m = cut(p.m, 67), p.n = cut(p.n, 131), p.k = cut(p.k, 259);
    return p.str();
  }
  if (op == "gemm_i8") {
    GemmI8Problem p = GemmI8Problem::parse(problem);
    if (p.m > 8) p.m = cut(p.m, 67);   // M <= 8 stays: it decides which Impls apply (the GEMVs)
    p.n = cut(p.n, 131), p.k = cut(p.k, 259);
    return p.str();
  }
  if (op == "gemm_wq") {
    GemmWqProblem p = GemmWqProblem::parse(problem);
    if (p.m > 8) p.m = cut(p.m, 67);
    p.n = cut(p.n, 131), p.k = cut(p.k, std::int64_t(2 * p.group + 3));
    return p.str();
  }
  if (op == "spmm_csr") {
    SpmmProblem p = SpmmProblem::parse(problem);
    // Keep at least ~500 nonzeros at any density, so rows are not all empty.
    const double side = std::ceil(std::sqrt(500.0 / std::max(p.density, 1e-9)));
    p.m = cut(p.m, std::max<std::int64_t>(259, std::int64_t(side) | 1));
    p.k = cut(p.k, std::max<std::int64_t>(259, std::int64_t(side) | 1));
    return SpmmProblem::parse(p.str()).str();
  }
  if (op == "conv_f16") {
    ConvProblem p = ConvProblem::parse(problem);
    p.n = 1;
    // 13 x 13 outputs at most (not a multiple of any tile), keeping window, stride, padding and channels.
    const std::int64_t eh = p.dilation_h * (p.r - 1) + 1, ew = p.dilation_w * (p.s - 1) + 1;
    p.h = cut(p.h, std::max<std::int64_t>(eh, 12 * p.stride_h + eh - p.pad_top - p.pad_bottom));
    p.w = cut(p.w, std::max<std::int64_t>(ew, 12 * p.stride_w + ew - p.pad_left - p.pad_right));
    p.validate();
    return p.str();
  }
  if (op == "quantize_linear" || op == "dequantize_linear") {
    ops::QuantizeProblem p = ops::QuantizeProblem::parse(problem);
    p.n = cut(p.n, 4099);   // a partial last work-group at every WG
    return p.str();
  }
  throw NotSupported(fmt::format("{}: the tuner has no harness for {} problems", problem, op));
}

}  // namespace ellesmere::tune
