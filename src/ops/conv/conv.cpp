// The public FP16 convolution API: problem text and its checks, argument checks and dispatch over conv_list().
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "ellesmere/ops.hpp"
#include "ops/conv/conv_impl.hpp"
#include "ops/dispatch.hpp"
#include "ops/operand_check.hpp"
#include "ops/problem_text.hpp"

namespace ellesmere {

namespace {

// "p1" when every side is the same, else "pt..pl..pb..pr.."; the same pattern for the two-sided fields.
std::string pair_text(const char* both, const char* first, const char* second, std::int64_t a, std::int64_t b) {
  return a == b ? fmt::format("{}{}", both, a) : fmt::format("{}{}{}{}", first, a, second, b);
}

}  // namespace

std::string ConvProblem::str() const {
  std::string t = fmt::format("conv_f16:n{}c{}h{}w{}k{}r{}s{}", n, c, h, w, k, r, s);
  if (pad_top == pad_left && pad_top == pad_bottom && pad_top == pad_right) {
    t += fmt::format("p{}", pad_top);
  } else {
    t += fmt::format("pt{}pl{}pb{}pr{}", pad_top, pad_left, pad_bottom, pad_right);
  }
  t += pair_text("u", "uh", "uw", stride_h, stride_w);
  if (dilation_h != 1 || dilation_w != 1) t += pair_text("d", "dh", "dw", dilation_h, dilation_w);
  if (groups != 1) t += fmt::format("g{}", groups);
  return t;
}

ConvProblem ConvProblem::parse(std::string_view text) {
  const auto p = ops::ProblemText::parse_op(text, "conv_f16");
  p.expect_only(text, {"n", "c", "h", "w", "k", "r", "s", "p", "pt", "pl", "pb", "pr", "u", "uh", "uw", "d", "dh",
                       "dw", "g"});
  if (!p.flags.empty()) {
    throw InvalidArgument(fmt::format("problem \"{}\": unknown flag {} (conv_f16 has none)", text, *p.flags.begin()));
  }
  ConvProblem c;
  c.n = p.integer(text, "n");
  c.c = p.integer(text, "c");
  c.h = p.integer(text, "h");
  c.w = p.integer(text, "w");
  c.k = p.integer(text, "k");
  c.r = p.integer(text, "r");
  c.s = p.integer(text, "s");
  const auto has = [&](const char* name) { return p.fields.count(name) > 0; };
  // A field given both ways ("p1" and "pt2") is ambiguous: refuse it rather than pick one.
  const auto one_or_sides = [&](const char* both, std::initializer_list<const char*> sides, std::int64_t fallback,
                                std::initializer_list<std::int64_t*> out) {
    bool any_side = false;
    for (const char* side : sides) any_side = any_side || has(side);
    if (has(both) && any_side) {
      throw InvalidArgument(fmt::format("problem \"{}\": {} given both for all sides and per side", text, both));
    }
    auto o = out.begin();
    for (const char* side : sides) {
      if (any_side && !has(side)) {
        throw InvalidArgument(fmt::format("problem \"{}\": {} given per side but {} is missing", text, both, side));
      }
      **o++ = any_side ? p.integer(text, side) : has(both) ? p.integer(text, both) : fallback;
    }
  };
  one_or_sides("p", {"pt", "pl", "pb", "pr"}, 0, {&c.pad_top, &c.pad_left, &c.pad_bottom, &c.pad_right});
  one_or_sides("u", {"uh", "uw"}, 1, {&c.stride_h, &c.stride_w});
  one_or_sides("d", {"dh", "dw"}, 1, {&c.dilation_h, &c.dilation_w});
  c.groups = has("g") ? p.integer(text, "g") : 1;
  try {
    c.validate();
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(fmt::format("problem \"{}\": {}", text, e.what()));
  }
  return c;
}

void ConvProblem::validate() const {
  const auto fail = [&](const std::string& why) { throw InvalidArgument(why); };
  if (n < 1 || c < 1 || h < 1 || w < 1 || k < 1 || r < 1 || s < 1) {
    fail(fmt::format("every dimension must be at least 1 (n {} c {} h {} w {} k {} r {} s {})", n, c, h, w, k, r, s));
  }
  if (pad_top < 0 || pad_left < 0 || pad_bottom < 0 || pad_right < 0) {
    fail(fmt::format("pads must be >= 0 (top {} left {} bottom {} right {})", pad_top, pad_left, pad_bottom, pad_right));
  }
  if (stride_h < 1 || stride_w < 1) fail(fmt::format("strides must be >= 1 ({} x {})", stride_h, stride_w));
  if (dilation_h < 1 || dilation_w < 1) fail(fmt::format("dilations must be >= 1 ({} x {})", dilation_h, dilation_w));
  if (groups < 1) fail(fmt::format("groups = {} must be >= 1", groups));
  if (c % groups != 0 || k % groups != 0) {
    fail(fmt::format("groups = {} must divide both C = {} and K = {}", groups, c, k));
  }
  // Pads at least as large as the kernel would make whole output rows of padding only: ONNX allows it, and so do we
  // (they are zeros plus the epilogue).
  const std::int64_t span_h = dilation_h * (r - 1) + 1, span_w = dilation_w * (s - 1) + 1;
  if (h + pad_top + pad_bottom < span_h || w + pad_left + pad_right < span_w) {
    fail(fmt::format("output size {} x {} < 1: the dilated kernel ({} x {}) is larger than the padded input ({} x {})",
                     out_h(), out_w(), span_h, span_w, h + pad_top + pad_bottom, w + pad_left + pad_right));
  }
  const double limit = 2147483647.0;
  const double oh = double(out_h()), ow = double(out_w());
  if (double(n) * double(c) * double(h + pad_top + pad_bottom) * double(w + pad_left + pad_right) >= limit ||
      double(k) * double(c / groups) * double(r) * double(s) >= limit || double(n) * double(k) * oh * ow >= limit) {
    fail("X, W or Y has 2^31 or more elements (the kernels index with 32-bit ints)");
  }
}

EventList conv2d_f16(Context& context, const ConvProblem& p, const Buffer<std::uint16_t>& x,
                     const Buffer<std::uint16_t>& w, Buffer<std::uint16_t>& y, const ConvOptions& options) {
  p.validate();
  const std::string problem = p.str();
  ops::check_operand(context, problem, "X", x, std::uint64_t(p.input_elements()),
                     fmt::format("{} x {} x {} x {} halves", p.n, p.c, p.h, p.w));
  ops::check_operand(context, problem, "W", w, std::uint64_t(p.weight_elements()),
                     fmt::format("{} x {} x {} x {} halves", p.k, p.c_per_group(), p.r, p.s));
  ops::check_operand(context, problem, "Y", y, std::uint64_t(p.output_elements()),
                     fmt::format("{} x {} x {} x {} halves", p.n, p.k, p.out_h(), p.out_w()));
  const ConvEpilogue& e = options.epilogue;
  if (e.bias != nullptr) ops::check_operand(context, problem, "bias", *e.bias, std::uint64_t(p.k), fmt::format("{}", p.k));
  if (e.residual != nullptr) {
    ops::check_operand(context, problem, "residual", *e.residual, std::uint64_t(p.output_elements()),
                       fmt::format("{} x {} x {} x {} halves", p.n, p.k, p.out_h(), p.out_w()));
    if (e.residual->handle() == y.handle()) {
      // Impls that write Y in several passes would read a residual they had already overwritten.
      throw InvalidArgument(fmt::format("{}: the residual must not be Y itself", problem));
    }
  }
  if (e.activation == ConvEpilogue::Activation::clip &&
      (std::isnan(e.clip_min) || std::isnan(e.clip_max) || e.clip_min > e.clip_max)) {
    throw InvalidArgument(fmt::format("{}: clip bounds [{}, {}] must be numbers with min <= max", problem, e.clip_min,
                                      e.clip_max));
  }
  if (x.handle() == y.handle() || w.handle() == y.handle()) {
    throw InvalidArgument(fmt::format("{}: Y must not be the same buffer as X or W (no in-place convolution)", problem));
  }

  auto [impl, params] = ops::choose_conv(p, context.device(), options.impl);
  ops::ConvArgs args;
  args.x = x.handle();
  args.w = w.handle();
  args.y = y.handle();
  args.bias = e.bias != nullptr ? e.bias->handle() : nullptr;
  args.residual = e.residual != nullptr ? e.residual->handle() : nullptr;
  args.activation = e.activation;
  args.clip_min = e.clip_min;
  args.clip_max = e.clip_max;
  return impl->launch(context.impl(), p, params, args);
}

std::vector<std::string> conv2d_f16_impls() {
  std::vector<std::string> names;
  for (const auto& impl : ops::conv_list()) names.push_back(impl->name());
  return names;
}

namespace ops {

std::pair<const ConvImpl*, Params> choose_conv(const ConvProblem& p, const DeviceInfo& device,
                                               const std::string& requested) {
  return choose_impl(conv_list(), p.str(), device, requested, [&](const ConvImpl& i) {
    std::string why = i.applicable(p, device);
    if (why.empty() && requested.empty()) why = i.suited(p, device);
    return why;
  });
}

}  // namespace ops

}  // namespace ellesmere
