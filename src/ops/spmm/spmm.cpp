// The public sparse CSR product API: problem text, the device copy of a validated CsrMatrix, argument checks and
// dispatch over spmm_list() by row statistics.
#include <cmath>
#include <utility>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "ellesmere/ops.hpp"
#include "ops/dispatch.hpp"
#include "ops/operand_check.hpp"
#include "ops/problem_text.hpp"
#include "ops/spmm/spmm_impl.hpp"

namespace ellesmere {

namespace {

// 4 significant digits in plain decimal notation ("0.1", "0.00001667"): problem text has no exponents.
std::string density_text(double d) {
  if (!(d > 0)) return "0";
  const int decimals = std::max(0, 3 - int(std::floor(std::log10(d))));
  std::string s = fmt::format("{:.{}f}", d, decimals);
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  return s;
}

}  // namespace

std::string SpmmProblem::str() const {
  return fmt::format("spmm_csr:m{}k{}n{}d{}{}", m, k, n, density_text(density), skewed ? "_p" : "");
}

SpmmProblem SpmmProblem::parse(std::string_view text) {
  const auto p = ops::ProblemText::parse_op(text, "spmm_csr");
  SpmmProblem s;
  s.m = p.integer(text, "m");
  s.k = p.integer(text, "k");
  s.n = p.integer(text, "n");
  const auto d = p.fields.find("d");
  if (d == p.fields.end()) throw InvalidArgument(fmt::format("problem \"{}\": missing d (density)", text));
  if (!(d->second >= 0 && d->second <= 1)) {
    throw InvalidArgument(fmt::format("problem \"{}\": density d = {} is outside [0, 1]", text, d->second));
  }
  s.density = d->second;
  p.expect_only(text, {"m", "k", "n", "d"});
  for (const auto& f : p.flags) {
    if (f == "p") {
      s.skewed = true;
    } else {
      throw InvalidArgument(fmt::format("problem \"{}\": unknown flag {} (spmm_csr knows p: skewed, power-law rows)",
                                        text, f));
    }
  }
  return s;
}

std::int64_t SpmmProblem::nnz() const { return std::llround(density * double(m) * double(k)); }

SpmmProblem SpmmProblem::of(const CsrRowStats& stats, std::int64_t k, std::int64_t n) {
  SpmmProblem p{.m = stats.rows, .k = k, .n = n};
  p.density = stats.rows > 0 && k > 0 ? double(stats.nnz) / (double(stats.rows) * double(k)) : 0.0;
  p.skewed = stats.cv > kSkewedRowsCv;
  return p;
}

DeviceCsr::DeviceCsr(DeviceCsr&& other) noexcept
    : cols_(std::exchange(other.cols_, 0)),
      stats_(std::exchange(other.stats_, {})),
      row_ptr_(std::move(other.row_ptr_)),
      col_idx_(std::move(other.col_idx_)),
      values_(std::move(other.values_)),
      context_(std::exchange(other.context_, nullptr)),
      scratch_(std::move(other.scratch_)) {}

DeviceCsr& DeviceCsr::operator=(DeviceCsr&& other) noexcept {
  if (this != &other) {
    DeviceCsr moved(std::move(other));
    std::swap(cols_, moved.cols_);
    std::swap(stats_, moved.stats_);
    std::swap(row_ptr_, moved.row_ptr_);
    std::swap(col_idx_, moved.col_idx_);
    std::swap(values_, moved.values_);
    std::swap(context_, moved.context_);
    std::swap(scratch_, moved.scratch_);
  }
  return *this;
}

std::uint64_t DeviceCsr::bytes() const {
  return (std::uint64_t(row_ptr_.size()) + std::uint64_t(col_idx_.size())) * 4 + std::uint64_t(values_.size()) * 4;
}

SpmmProblem DeviceCsr::problem(std::int64_t n) const { return SpmmProblem::of(stats_, cols_, n); }

DeviceCsr upload_csr(Context& context, const CsrMatrix& a) {
  a.validate("upload_csr");
  DeviceCsr d;
  d.cols_ = a.cols;
  d.stats_ = row_stats(a);
  d.row_ptr_ = Buffer<std::int32_t>(context, std::span<const std::int32_t>(a.row_ptr), "CSR row_ptr");
  // OpenCL has no empty buffers: an all-zero matrix gets one unused element of each.
  const std::vector<std::int32_t> one_index{0};
  const std::vector<float> one_value{0.0f};
  d.col_idx_ = Buffer<std::int32_t>(context, a.nnz() > 0 ? std::span<const std::int32_t>(a.col_idx)
                                                          : std::span<const std::int32_t>(one_index),
                                    "CSR col_idx");
  d.values_ = Buffer<float>(context, a.nnz() > 0 ? std::span<const float>(a.values) : std::span<const float>(one_value),
                            "CSR values");
  d.context_ = context.cl_context_handle();
  d.scratch_ = std::make_shared<detail::CsrScratch>();
  return d;
}

EventList spmm_csr(Context& context, const DeviceCsr& a, std::int64_t n, const Buffer<float>& x, Buffer<float>& y,
                   const SpmmOptions& options) {
  if (a.context() == nullptr) throw InvalidArgument("spmm_csr: A is empty (a moved-from DeviceCsr)");
  const SpmmProblem p = a.problem(n);
  const std::string problem = p.str();
  if (p.m < 1 || p.k < 1 || p.n < 1) {
    throw InvalidArgument(fmt::format("{}: every dimension must be at least 1 (A is {} x {}, n = {})", problem, p.m,
                                      p.k, p.n));
  }
  if (a.context() != context.cl_context_handle()) {
    throw InvalidArgument(fmt::format("{}: A was uploaded on another Context", problem));
  }
  ops::check_operand(context, problem, "X", x, std::uint64_t(p.k * p.n), fmt::format("{} x {}", p.k, p.n));
  ops::check_operand(context, problem, "Y", y, std::uint64_t(p.m * p.n), fmt::format("{} x {}", p.m, p.n));
  if (options.bias != nullptr) {
    ops::check_operand(context, problem, "bias", *options.bias, std::uint64_t(p.m), fmt::format("{}", p.m));
  }

  auto [impl, params] = ops::choose_spmm(p, context.device(), options.impl);
  ops::SpmmArgs args;
  args.a = &a;
  args.x = x.handle();
  args.y = y.handle();
  args.bias = options.bias != nullptr ? options.bias->handle() : nullptr;
  args.relu = options.relu;
  return impl->launch(context.impl(), p, params, args);
}

EventList spmv_csr(Context& context, const DeviceCsr& a, const Buffer<float>& x, Buffer<float>& y,
                   const SpmmOptions& options) {
  return spmm_csr(context, a, 1, x, y, options);
}

namespace ops {

std::pair<const SpmmImpl*, Params> choose_spmm(const SpmmProblem& p, const DeviceInfo& device,
                                               const std::string& requested) {
  return choose_impl(spmm_list(), p.str(), device, requested, [&](const SpmmImpl& i) {
    std::string why = i.applicable(p, device);
    if (why.empty() && requested.empty()) why = i.suited(p, device);
    return why;
  });
}

}  // namespace ops

std::vector<std::string> spmm_csr_impls() {
  std::vector<std::string> names;
  for (const auto& impl : ops::spmm_list()) names.push_back(impl->name());
  return names;
}

}  // namespace ellesmere
