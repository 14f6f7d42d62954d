// Device QuantizeLinear / DequantizeLinear (kernels/quant/quantize_linear.cl): their Impls, problem text
// ("quantize_linear:n<N>" / "dequantize_linear:n<N>", "_s" for signed i8) and the public entry points.
#include <atomic>
#include <cmath>
#include <iostream>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "ellesmere/ops.hpp"
#include "ops/dispatch.hpp"
#include "ops/operand_check.hpp"
#include "ops/problem_text.hpp"
#include "ops/quant/quantize_impl.hpp"
#include "quant/channel_view.hpp"

namespace ellesmere::ops {

std::string QuantizeProblem::str() const {
  return fmt::format("{}:n{}{}", dequantize ? "dequantize_linear" : "quantize_linear", n,
                     type == QuantType::i8 ? "_s" : "");
}

QuantizeProblem QuantizeProblem::parse(std::string_view text) {
  const auto p = ProblemText::parse(text);
  QuantizeProblem q;
  if (p.op == "dequantize_linear") {
    q.dequantize = true;
  } else if (p.op != "quantize_linear") {
    throw InvalidArgument(fmt::format("problem \"{}\" is not a quantize_linear or dequantize_linear problem", text));
  }
  q.n = p.integer(text, "n");
  p.expect_only(text, {"n"});
  for (const auto& f : p.flags) {
    if (f != "s") throw InvalidArgument(fmt::format("problem \"{}\": unknown flag {} (knows s: signed i8)", text, f));
    q.type = QuantType::i8;
  }
  return q;
}

namespace {

// ONNX divides x / scale with correct rounding; OpenCL's default float division may be off by 2.5 ulp. In order of
// preference: the build option (OpenCL C 1.2 and a device that supports it), a double division rounded to float
// (exact for float operands), plain float division with a warning.
std::string divide_option(const DeviceInfo& device) {
  if (device.has_correct_divide && device.opencl_c_version_number() >= 12) {
    return " -cl-fp32-correctly-rounded-divide-sqrt";
  }
  if (device.has_fp64) return " -DDIVIDE_IN_DOUBLE=1";
  static std::atomic<bool> warned{false};
  if (!warned.exchange(true)) {
    std::cerr << fmt::format("ellesmere: warning: quantize_linear on {}: the device has neither correctly rounded "
                             "float division nor fp64, so results may differ from ONNX by one step at rounding "
                             "ties\n",
                             device.name);
  }
  return {};
}

class ElementwiseImpl final : public QuantizeImpl {
 public:
  explicit ElementwiseImpl(bool dequantize) : dequantize_(dequantize) {}
  std::string name() const override {
    return dequantize_ ? "dequantize_linear_f32_elementwise" : "quantize_linear_f32_elementwise";
  }
  std::string op() const override { return dequantize_ ? "dequantize_linear" : "quantize_linear"; }
  std::string kernel_file() const override { return "quant/quantize_linear.cl"; }
  ParamSpace space() const override { return {{{"WG", {64, 128, 256}, 64, "work-items per work-group"}}}; }

  std::string check_params(const Params& p, const DeviceInfo& device) const override {
    const int wg = p.get("WG");
    if (wg <= 0 || std::size_t(wg) > device.max_work_group_size || std::size_t(wg) > device.max_work_item_sizes[0]) {
      return fmt::format("WG={} is not within the device's work-group limit {}", wg, device.max_work_group_size);
    }
    return {};
  }

  std::string build_options(std::string_view problem, const Params& params) const override {
    return fmt::format("{} -DQTYPE={}", params.defines(), int(QuantizeProblem::parse(problem).type));
  }

  std::vector<std::string> variant_options() const override {
    if (dequantize_) return {""};
    return {"", " -DDIVIDE_IN_DOUBLE=1"};   // the double-division path for devices without correct division
  }

  std::vector<LaunchShape> launch_shapes(std::string_view problem, const Params& params) const override {
    const QuantizeProblem q = QuantizeProblem::parse(problem);
    const std::size_t wg = std::size_t(params.get("WG"));
    LaunchShape s;
    s.kernel = dequantize_ ? "dequantize_linear" : "quantize_linear";
    s.local = {wg, 1, 1};
    s.global = {round_up(std::size_t(std::max<std::int64_t>(q.n, 1)), wg), 1, 1};
    return {s};
  }

  EventList launch(detail::ContextImpl& ctx, const QuantizeProblem& q, const Params& params,
                   const QuantizeArgs& args) const override {
    const std::string problem = q.str();
    const LaunchShape s = launch_shapes(problem, params).front();
    std::string options = build_options(problem, params);
    if (!dequantize_) options += divide_option(ctx.info);
    cl::Kernel& k = ctx.kernel(kernel_file(), s.kernel, options);
    detail::set_args(k, name(), args.in, args.out, cl_int(q.n), args.scales, args.zero_points, cl_int(args.channels),
                     cl_int(args.inner));
    EventList events;
    detail::track(events, ctx.launch(k, cl::NDRange(s.global[0]), cl::NDRange(s.local[0]),
                                     fmt::format("{} {} [{}]", name(), problem, params.str())));
    return events;
  }

 private:
  bool dequantize_;
};

EventList run(Context& context, bool dequantize, cl_mem in, std::size_t in_bytes, cl_mem out, std::size_t out_bytes,
              std::span<const std::int64_t> shape, const QuantParams& params) {
  const char* what = dequantize ? "dequantize_linear" : "quantize_linear";
  // The host's checks (params, overflow-free shape, axis, channels), for exactly the shape's element count; the
  // buffers may be larger.
  const std::size_t count = quant_detail::element_count(what, shape);
  const auto view = quant_detail::channel_view(what, shape, params, count, dequantize ? "q" : "x", count,
                                               dequantize ? "x" : "y");
  if (count >= (std::size_t(1) << 31)) {
    throw InvalidArgument(fmt::format("{}: {} elements; the kernel handles at most 2^31 - 1", what, count));
  }
  QuantizeProblem q;
  q.n = std::int64_t(count);
  q.type = params.type;
  q.dequantize = dequantize;
  const std::string problem = q.str();
  const std::size_t in_size = dequantize ? 1 : 4, out_size = dequantize ? 4 : 1;
  check_operand(context, problem, dequantize ? "q" : "x", in, in_bytes / in_size, std::uint64_t(count),
                fmt::format("{} elements", count));
  check_operand(context, problem, dequantize ? "x" : "y", out, out_bytes / out_size, std::uint64_t(count),
                fmt::format("{} elements", count));
  if (count == 0) return {};
  const std::int64_t channels = std::int64_t(view.channels), inner = std::int64_t(view.inner);
  const auto& list = dequantize ? dequantize_linear_list() : quantize_linear_list();
  auto [impl, tuned] = choose_impl(list, problem, context.device(), "", [](const QuantizeImpl&) { return ""; });
  Buffer<float> scales(context, std::span<const float>(params.scales), "quantization scales");
  Buffer<std::int32_t> zero_points(context, std::span<const std::int32_t>(params.zero_points), "zero points");
  return impl->launch(context.impl(), q, tuned,
                      QuantizeArgs{in, out, scales.handle(), zero_points.handle(), channels, inner});
}

}  // namespace

const std::vector<std::unique_ptr<QuantizeImpl>>& quantize_linear_list() {
  static const auto* list = [] {
    auto* l = new std::vector<std::unique_ptr<QuantizeImpl>>();
    l->push_back(std::make_unique<ElementwiseImpl>(false));
    return l;
  }();
  return *list;
}

const std::vector<std::unique_ptr<QuantizeImpl>>& dequantize_linear_list() {
  static const auto* list = [] {
    auto* l = new std::vector<std::unique_ptr<QuantizeImpl>>();
    l->push_back(std::make_unique<ElementwiseImpl>(true));
    return l;
  }();
  return *list;
}

}  // namespace ellesmere::ops

namespace ellesmere {

EventList quantize_linear(Context& context, const Buffer<float>& x, std::span<const std::int64_t> shape,
                          const QuantParams& params, RawBuffer& y) {
  return ops::run(context, false, x.handle(), x.raw().bytes(), y.handle(), y.bytes(), shape, params);
}

EventList dequantize_linear(Context& context, const RawBuffer& q, std::span<const std::int64_t> shape,
                            const QuantParams& params, Buffer<float>& x) {
  return ops::run(context, true, q.handle(), q.bytes(), x.handle(), x.raw().bytes(), shape, params);
}

}  // namespace ellesmere
