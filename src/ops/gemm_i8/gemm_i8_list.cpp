// The ordered list of INT8 GEMM Impls and what they share: traffic, defines, the launch. Adding a variant: one
// .cl, one Impl file, one line here.
#include <fmt/format.h>

#include "ops/gemm_i8/gemm_i8_impl.hpp"

namespace ellesmere::ops {

const std::vector<std::unique_ptr<GemmI8Impl>>& gemm_i8_list() {
  static const auto* list = [] {
    auto* l = new std::vector<std::unique_ptr<GemmI8Impl>>();
    l->push_back(make_gemm_i8_gemv());     // M <= 8: memory-bound, split-K streaming of the weights
    l->push_back(make_gemm_i8_tile2d());   // everything else
    return l;
  }();
  return *list;
}

Traffic GemmI8Impl::traffic(const GemmI8Problem& p) const {
  const double m = double(p.m), n = double(p.n), k = double(p.k);
  // A and B once (1 byte each), C once; C's width depends on the epilogue, counted as 4 bytes (int32/float).
  return {2.0 * m * n * k, m * k + k * n + 4.0 * m * n};
}

std::string GemmI8Impl::common_limits(const GemmI8Problem& p) {
  if (p.k > ELLESMERE_I8_MAX_K) {
    return fmt::format("K = {} exceeds {}, beyond which int32 sums of u8 products could overflow", p.k,
                       ELLESMERE_I8_MAX_K);
  }
  const std::int64_t limit = std::int64_t(1) << 31;
  if (p.m * p.k >= limit || p.m * p.n >= limit || ((p.k + 3) / 4) * p.n >= limit) {
    return "an operand has 2^31 or more elements (the kernels index with 32-bit ints)";
  }
  return {};
}

std::vector<LaunchShape> GemmI8Impl::launch_shapes(std::string_view problem, const Params& params) const {
  return shapes(GemmI8Problem::parse(problem), params);
}

std::string GemmI8Impl::build_options(std::string_view problem, const Params& params) const {
  return build_options(GemmI8Problem::parse(problem), params);
}

std::string GemmI8Impl::build_options(const GemmI8Problem& p, const Params& params) const {
  return fmt::format("{} -DA_TYPE={} -DB_TYPE={}", params.defines(), int(p.a_type), int(p.b_type));
}

std::string GemmI8Impl::epilogue_options(const GemmI8Args& args) {
  // Canonical: defines that an epilogue does not use take their defaults, so equal programs share one build.
  const bool requant = args.epilogue == GemmI8Epilogue::Kind::requantize;
  const bool dequant = args.epilogue == GemmI8Epilogue::Kind::dequantize;
  return fmt::format(" -DEPILOGUE={} -DOUT_TYPE={} -DHAS_BIAS={} -DRELU={} -DHAS_B_ZP={}", int(args.epilogue),
                     requant ? int(args.out_type) : 0, dequant && args.bias ? 1 : 0, dequant && args.relu ? 1 : 0,
                     args.b->has_zero_points() ? 1 : 0);
}

std::vector<std::string> GemmI8Impl::variant_options() const {
  std::vector<std::string> out;
  for (bool zero_points : {true, false}) {   // HAS_B_ZP comes from the packed weights
    const std::string zp = fmt::format(" -DHAS_B_ZP={}", zero_points ? 1 : 0);
    auto with = [&](GemmI8Epilogue::Kind kind, QuantType out_type, bool bias, bool relu) {
      out.push_back(fmt::format(" -DEPILOGUE={} -DOUT_TYPE={} -DHAS_BIAS={} -DRELU={}", int(kind), int(out_type),
                                bias ? 1 : 0, relu ? 1 : 0) + zp);
    };
    with(GemmI8Epilogue::Kind::int32, QuantType::u8, false, false);
    with(GemmI8Epilogue::Kind::requantize, QuantType::u8, false, false);
    with(GemmI8Epilogue::Kind::requantize, QuantType::i8, false, false);
    for (bool bias : {false, true}) {
      for (bool relu : {false, true}) with(GemmI8Epilogue::Kind::dequantize, QuantType::u8, bias, relu);
    }
  }
  return out;
}

EventList GemmI8Impl::launch(detail::ContextImpl& ctx, const GemmI8Problem& p, const Params& params,
                             const GemmI8Args& args) const {
  const LaunchShape s = shapes(p, params).front();
  cl::Kernel& k = ctx.kernel(kernel_file(), s.kernel, build_options(p, params) + epilogue_options(args));
  const PackedWeightsI8& b = *args.b;
  detail::set_args(k, name(), cl_int(p.m), cl_int(p.n), cl_int(p.k), args.a, cl_int(p.k), cl_int(args.a_zero_point),
                   b.words().handle(), b.column_sums().handle(), b.zero_points().handle(), args.a_scale,
                   args.epi_scale, args.bias, cl_int(args.y_zero_point), args.c, cl_int(p.n));
  EventList events;
  detail::track(events, ctx.launch(k, cl::NDRange(s.global[0], s.global[1]), cl::NDRange(s.local[0], s.local[1]),
                                   fmt::format("{} {} [{}]", name(), p.str(), params.str())));
  return events;
}

}  // namespace ellesmere::ops
