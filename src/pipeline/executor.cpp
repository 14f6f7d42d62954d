// The executor (executor.hpp): runs every step of a lowered model on the device, compute layers with their chosen
// precision through the library's ops, the other nodes through kernels/graph/graph_ops.cl.
#include "pipeline/executor.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "ellesmere/ops.hpp"
#include "ellesmere/sparse.hpp"
#include "ops/conv/conv_impl.hpp"
#include "pipeline/graph_kernels.hpp"
#include "pipeline/host_ops.hpp"
#include "runtime/cl.hpp"
#include "runtime/context_impl.hpp"

namespace ellesmere::pipeline {

float int8_weight_scale(std::span<const float> channel) {
  float m = 0.0f;
  for (const float v : channel) m = std::max(m, std::fabs(v));
  if (m == 0.0f) return 1.0f;
  return std::max(m / 127.0f, std::numeric_limits<float>::min());
}

const char* precision_name(Precision p) noexcept {
  switch (p) {
    case Precision::fp32: return "fp32";
    case Precision::fp16: return "fp16";
    case Precision::int8: return "int8";
    case Precision::int4: return "int4";
    case Precision::csr: return "csr";
  }
  return "?";
}

std::string LayerChoice::label() const {
  switch (precision) {
    case Precision::int4: return fmt::format("int4-g{}", group);
    case Precision::csr: return fmt::format("csr-{:g}%", sparsity * 100.0);
    default: return precision_name(precision);
  }
}

bool LayerChoice::operator==(const LayerChoice& o) const {
  if (precision != o.precision) return false;
  if (precision == Precision::int4) return group == o.group;
  if (precision == Precision::csr) return sparsity == o.sparsity;
  if (precision == Precision::int8) {
    return act.has_value() == o.act.has_value() &&
           (!act || (act->scales == o.act->scales && act->zero_points == o.act->zero_points));
  }
  return true;
}

namespace {

// An activation on the device: a pooled buffer (4-byte units, whatever the element type) with its type and shape.
struct DeviceTensor {
  ElemType type = ElemType::f32;
  Shape shape;
  std::shared_ptr<Buffer<float>> buf;
  std::int64_t count() const { return element_count(shape); }
  cl_mem mem() const { return buf->handle(); }
  std::size_t bytes() const { return std::size_t(count()) * elem_size(type); }
};

std::int64_t product(const Shape& s, std::size_t from, std::size_t to) {
  std::int64_t p = 1;
  for (std::size_t i = from; i < to && i < s.size(); ++i) p *= s[i];
  return p;
}

void copy_buffer(Context& ctx, cl_mem src, std::size_t src_offset, cl_mem dst, std::size_t dst_offset,
                 std::size_t bytes) {
  if (bytes == 0) return;
  runtime::check(clEnqueueCopyBuffer(ctx.cl_queue_handle(), src, dst, src_offset, dst_offset, bytes, 0, nullptr,
                                     nullptr),
                 "clEnqueueCopyBuffer", "copying a slice of a batched integer matmul");
}

}  // namespace

struct Executor::Pool {
  explicit Pool(Context& c) : ctx(c) {}
  Context& ctx;
  bool poison = false;
  std::multimap<std::size_t, std::unique_ptr<Buffer<float>>> free;

  std::shared_ptr<Buffer<float>> get(std::size_t bytes) {
    const std::size_t floats = std::max<std::size_t>(1, (bytes + 3) / 4);
    std::unique_ptr<Buffer<float>> b;
    auto it = free.lower_bound(floats);
    if (it != free.end() && it->first <= 2 * floats + 4096) {
      b = std::move(it->second);
      free.erase(it);
    } else {
      b = std::make_unique<Buffer<float>>(ctx, floats, "model activation");
    }
    if (poison) {
      const std::uint32_t pattern = 0xffffffffu;   // a NaN as float, -1 as int32, 255 / -1 as bytes
      b->raw().fill(&pattern, 4);
    }
    Buffer<float>* raw = b.release();
    return std::shared_ptr<Buffer<float>>(raw, [this](Buffer<float>* p) {
      const std::size_t size = p->size();
      free.emplace(size, std::unique_ptr<Buffer<float>>(p));
    });
  }
};

struct Executor::State {
  bool packed = false;
  LayerChoice packed_for;
  std::uint64_t weight_bytes = 0;
  // compute layers
  Buffer<float> w32;
  Buffer<std::uint16_t> w16;
  Buffer<float> bias;
  PackedWeightsI8 w8;
  PackedWeightsWq wq;
  GroupedWeights grouped;   // int4: the host copy gemm_wq's problem is made from
  DeviceCsr csr;
  // node steps: uploaded constants and small index arrays, by name / key
  std::map<std::string, std::shared_ptr<Buffer<float>>> consts;
  std::map<std::string, std::unique_ptr<Buffer<std::int32_t>>> ints;
  std::map<std::string, std::unique_ptr<Buffer<float>>> floats;
  std::vector<PackedWeightsI8> qpacked;   // integer matmul/conv: weights per batch slice or group
  std::string qpacked_key;
};

Executor::Executor(Context& context, const Graph& graph, std::vector<Step> steps, std::vector<LayerChoice> choices)
    : ctx_(context), graph_(graph), steps_(std::move(steps)), choices_(std::move(choices)),
      pool_(std::make_unique<Pool>(context)) {
  choices_.resize(steps_.size());
  for (std::size_t i = 0; i < steps_.size(); ++i) states_.push_back(std::make_unique<State>());
  timings_.resize(steps_.size());
}

Executor::~Executor() = default;

void Executor::set_choice(std::size_t step, const LayerChoice& choice) {
  if (step >= steps_.size()) throw InvalidArgument(fmt::format("no step {}", step));
  choices_[step] = choice;
}

void Executor::poison_buffers(bool poison) { pool_->poison = poison; }

std::uint64_t Executor::weight_bytes(std::size_t step) const { return states_.at(step)->weight_bytes; }

namespace {

// Everything one run needs, so that the step code reads as a list of cases.
struct Run {
  Context& ctx;
  const Graph& g;
  const ShapeMap& shapes;
  std::function<std::shared_ptr<Buffer<float>>(std::size_t)> alloc_bytes;
  std::map<std::string, DeviceTensor>& values;

  DeviceTensor alloc(const std::string& name) {
    const ValueType& vt = shapes.at(name);
    DeviceTensor t;
    t.type = vt.type;
    t.shape = vt.shape;
    t.buf = alloc_bytes(t.bytes());
    return t;
  }
  DeviceTensor temp(ElemType type, const Shape& shape) {
    DeviceTensor t;
    t.type = type;
    t.shape = shape;
    t.buf = alloc_bytes(t.bytes());
    return t;
  }
  // An activation, or a constant uploaded once into the step's state.
  DeviceTensor operand(Executor::State& st, const std::string& name) {
    const auto it = values.find(name);
    if (it != values.end()) return it->second;
    if (!g.is_constant(name)) throw InvalidArgument(fmt::format("value '{}' has not been computed", name));
    const HostTensor& c = g.constant(name);
    if (!is_device_type(c.type)) {
      throw NotSupported(fmt::format("constant '{}' of type {} cannot be used on the device", name,
                                     elem_type_name(c.type)));
    }
    auto& slot = st.consts[name];
    if (!slot) {
      const std::size_t floats = std::max<std::size_t>(1, (c.data.size() + 3) / 4);
      std::vector<float> padded(floats, 0.0f);
      if (!c.data.empty()) std::memcpy(padded.data(), c.data.data(), c.data.size());
      slot = std::make_shared<Buffer<float>>(ctx, std::span<const float>(padded), "model constant");
    }
    DeviceTensor t;
    t.type = c.type;
    t.shape = c.shape;
    t.buf = slot;
    return t;
  }
  cl_mem int_array(Executor::State& st, const std::string& key, const std::vector<std::int32_t>& v) {
    auto& slot = st.ints[key];
    if (!slot) {
      std::vector<std::int32_t> data = v.empty() ? std::vector<std::int32_t>{0} : v;
      slot = std::make_unique<Buffer<std::int32_t>>(ctx, std::span<const std::int32_t>(data), "index array");
    }
    return slot->handle();
  }
  cl_mem float_array(Executor::State& st, const std::string& key, const std::vector<float>& v) {
    auto& slot = st.floats[key];
    if (!slot) {
      std::vector<float> data = v.empty() ? std::vector<float>{0.0f} : v;
      slot = std::make_unique<Buffer<float>>(ctx, std::span<const float>(data), "layer constants");
    }
    return slot->handle();
  }
  std::vector<std::uint8_t> download_bytes(const DeviceTensor& t) {
    std::vector<std::uint8_t> out(t.bytes());
    if (!out.empty()) t.buf->raw().download(out.data(), out.size());
    return out;
  }
  std::vector<std::uint8_t> host_or_device_bytes(Executor::State& st, const std::string& name) {
    if (g.is_constant(name)) {
      const HostTensor& c = g.constant(name);
      return {reinterpret_cast<const std::uint8_t*>(c.data.data()),
              reinterpret_cast<const std::uint8_t*>(c.data.data()) + c.data.size()};
    }
    return download_bytes(operand(st, name));
  }
};

ConvEpilogue::Activation epilogue_act(const Activation& a) {
  if (!a.on) return ConvEpilogue::Activation::none;
  return a.relu() ? ConvEpilogue::Activation::relu : ConvEpilogue::Activation::clip;
}

void append(EventList& to, const EventList& from) {
  for (cl_event e : from.handles()) {
    clRetainEvent(e);
    to.add(e);
  }
}

}  // namespace


namespace {

// ---- Compute layers ------------------------------------------------------------------------------------------

void pack_dense(Run& r, const Step& step, const LayerChoice& choice, Executor::State& st) {
  if (st.packed && st.packed_for == choice) return;
  const DenseLayer& d = step.dense;
  st = Executor::State{};
  if (!d.bias.empty()) st.bias = Buffer<float>(r.ctx, std::span<const float>(d.bias), "layer bias");
  switch (choice.precision) {
    case Precision::fp32:
      st.w32 = Buffer<float>(r.ctx, std::span<const float>(d.w), "layer weights");
      st.weight_bytes = d.w.size() * 4;
      break;
    case Precision::int8: {
      // Symmetric i8 per output channel (axis 0 of the N x K weight): scale = max|w| / 127 (int8_weight_scale).
      std::vector<float> scales(std::size_t(d.n));
      std::vector<std::uint8_t> q(d.w.size());
      for (std::int64_t n = 0; n < d.n; ++n) {
        scales[std::size_t(n)] = int8_weight_scale(std::span<const float>(d.w).subspan(std::size_t(n * d.k),
                                                                                       std::size_t(d.k)));
      }
      const QuantParams wp = QuantParams::per_channel(QuantType::i8, 0, scales,
                                                      std::vector<std::int32_t>(std::size_t(d.n), 0));
      const std::vector<std::int64_t> wshape{d.n, d.k};
      quantize_linear(d.w, wshape, wp, q);
      st.w8 = pack_weights_i8(r.ctx, q, d.k, d.n, WeightLayout::nk, wp);
      st.weight_bytes = std::uint64_t(d.n * d.k) + std::uint64_t(d.n) * 4;
      break;
    }
    case Precision::int4: {
      GroupQuantOptions o;
      o.bits = 4;
      o.group = choice.group;
      st.grouped = quantize_grouped(d.w, d.n, d.k, WeightLayout::nk, o);
      st.wq = pack_weights_wq(r.ctx, st.grouped);
      st.weight_bytes = st.wq.bytes();
      break;
    }
    case Precision::csr: {
      const CsrMatrix a = prune_to_csr(d.w, d.n, d.k, choice.sparsity, PruneMode::global);
      st.csr = upload_csr(r.ctx, a);
      st.weight_bytes = st.csr.bytes();
      break;
    }
    case Precision::fp16:
      throw NotSupported("fp16 is offered for convolutions only (no fp16 GEMM kernel)");
  }
  if (!d.bias.empty()) st.weight_bytes += d.bias.size() * 4;
  st.packed = true;
  st.packed_for = choice;
}

EventList run_dense(Run& r, const Step& step, const LayerChoice& choice, Executor::State& st) {
  const DenseLayer& d = step.dense;
  pack_dense(r, step, choice, st);
  const DeviceTensor x = r.operand(st, step.inputs.at(0));
  if (x.shape.empty() || x.shape.back() != d.k) {
    throw InvalidArgument(fmt::format("input '{}' has shape {}; the weights expect {} features in the last "
                                      "dimension",
                                      step.inputs[0], shape_text(x.shape), d.k));
  }
  const std::int64_t rows = x.count() / d.k;
  DeviceTensor y = r.alloc(step.output);
  const Buffer<float>* bias = d.bias.empty() ? nullptr : &st.bias;
  EventList ev;
  bool act_done = false;
  switch (choice.precision) {
    case Precision::fp32: {
      GemmProblem p;
      p.m = rows;
      p.n = d.n;
      p.k = d.k;
      p.trans_b = true;
      ev = gemm_f32(r.ctx, p, *x.buf, st.w32, *y.buf);
      if (bias != nullptr || d.act.on) {
        append(ev, gk::bias_act_rows(r.ctx, y.mem(), bias ? bias->handle() : nullptr, rows, d.n, d.act.on, d.act.lo,
                                     d.act.hi));
      }
      act_done = true;
      break;
    }
    case Precision::int8: {
      if (!choice.act) throw InvalidArgument("int8 needs calibrated activation parameters");
      DeviceTensor xq = r.temp(ElemType::u8, x.shape);
      const std::int64_t count = x.count();
      const std::vector<std::int64_t> flat{count};
      ev = quantize_linear(r.ctx, *x.buf, flat, *choice.act, xq.buf->raw());
      GemmI8Problem p;
      p.m = rows;
      p.n = d.n;
      p.k = d.k;
      p.a_type = choice.act->type;
      p.b_type = QuantType::i8;
      append(ev, gemm_i8(r.ctx, p, xq.buf->raw(), choice.act->zero_points.at(0), st.w8, y.buf->raw(),
                         GemmI8Epilogue::dequantize(choice.act->scales.at(0), bias, d.act.relu())));
      act_done = !d.act.on || d.act.relu();
      break;
    }
    case Precision::int4: {
      GemmWqOptions o;
      o.bias = bias;
      ev = gemm_wq(r.ctx, GemmWqProblem::of(rows, st.grouped), x.buf->raw(), st.wq, *y.buf, o);
      break;
    }
    case Precision::csr: {
      SpmmOptions o;
      o.bias = bias;
      o.relu = d.act.relu();
      act_done = !d.act.on || d.act.relu();
      if (rows == 1) {
        ev = spmv_csr(r.ctx, st.csr, *x.buf, *y.buf, o);
      } else {
        // Y^T = W X^T: X (rows x K) transposed to K x rows, the product N x rows transposed back.
        DeviceTensor xt = r.temp(ElemType::f32, {d.k, rows});
        DeviceTensor yt = r.temp(ElemType::f32, {d.n, rows});
        // transpose_planes(x, y, 1, rows, cols) turns rows x cols into cols x rows.
        ev = gk::transpose_planes(r.ctx, x.mem(), xt.mem(), 1, rows, d.k);
        append(ev, spmm_csr(r.ctx, st.csr, rows, *xt.buf, *yt.buf, o));
        append(ev, gk::transpose_planes(r.ctx, yt.mem(), y.mem(), 1, d.n, rows));
      }
      break;
    }
    case Precision::fp16: throw NotSupported("fp16 is offered for convolutions only");
  }
  if (!act_done && d.act.on) append(ev, gk::relu_clip(r.ctx, ElemType::f32, y.mem(), y.mem(), y.count(), d.act.lo,
                                                      d.act.hi));
  r.values[step.output] = y;
  return ev;
}

EventList run_conv(Run& r, const Step& step, const LayerChoice& choice, Executor::State& st) {
  const ConvLayer& c = step.conv;
  if (!(st.packed && st.packed_for == choice)) {
    st = Executor::State{};
    if (!c.bias.empty()) st.bias = Buffer<float>(r.ctx, std::span<const float>(c.bias), "layer bias");
    if (choice.precision == Precision::fp32) {
      st.w32 = Buffer<float>(r.ctx, std::span<const float>(c.w), "layer weights");
      st.weight_bytes = c.w.size() * 4;
    } else if (choice.precision == Precision::fp16) {
      const std::vector<std::uint16_t> h = to_halves(c.w);
      st.w16 = Buffer<std::uint16_t>(r.ctx, std::span<const std::uint16_t>(h), "layer weights (fp16)");
      st.weight_bytes = c.w.size() * 2;
    } else {
      throw NotSupported(fmt::format("{} is not offered for convolutions (no such convolution kernel)",
                                     choice.label()));
    }
    st.weight_bytes += c.bias.size() * 4;
    st.packed = true;
    st.packed_for = choice;
  }
  const DeviceTensor x = r.operand(st, step.inputs.at(0));
  const Node& node = r.g.nodes.at(step.nodes.front());
  const ConvProblem p = conv_problem_for(step.conv.problem, node, x.shape);
  DeviceTensor y = r.alloc(step.output);
  DeviceTensor res;
  if (!c.residual.empty()) {
    res = r.operand(st, c.residual);
    if (res.shape != y.shape || res.type != ElemType::f32) {
      throw InvalidArgument(fmt::format("the residual '{}' has shape {}, the convolution's output {}", c.residual,
                                        shape_text(res.shape), shape_text(y.shape)));
    }
  }
  auto [impl, params] = ops::choose_conv(p, r.ctx.device(), "");
  ops::ConvArgs args;
  args.bias = c.bias.empty() ? nullptr : st.bias.handle();
  args.activation = epilogue_act(c.act);
  args.clip_min = c.act.lo;
  args.clip_max = c.act.hi;
  EventList ev;
  if (choice.precision == Precision::fp32) {
    args.f32_storage = true;
    args.x = x.mem();
    args.w = st.w32.handle();
    args.y = y.mem();
    args.residual = c.residual.empty() ? nullptr : res.mem();
    ev = impl->launch(r.ctx.impl(), p, params, args);
  } else {
    DeviceTensor xh = r.temp(ElemType::i8, {x.count() * 2});   // half bit patterns: 2 bytes each
    DeviceTensor yh = r.temp(ElemType::i8, {y.count() * 2});
    ev = gk::f32_to_f16(r.ctx, x.mem(), xh.mem(), x.count());
    DeviceTensor rh;
    if (!c.residual.empty()) {
      rh = r.temp(ElemType::i8, {res.count() * 2});
      append(ev, gk::f32_to_f16(r.ctx, res.mem(), rh.mem(), res.count()));
    }
    args.x = xh.mem();
    args.w = st.w16.handle();
    args.y = yh.mem();
    args.residual = c.residual.empty() ? nullptr : rh.mem();
    append(ev, impl->launch(r.ctx.impl(), p, params, args));
    append(ev, gk::f16_to_f32(r.ctx, yh.mem(), y.mem(), y.count()));
  }
  r.values[step.output] = y;
  return ev;
}

// ---- Node steps ------------------------------------------------------------------------------------------------

// A value that shares its input's buffer under another shape (Reshape, Flatten, Identity, Dropout, same-type Cast).
void view(Run& r, Executor::State& st, const Node& node) {
  DeviceTensor t = r.operand(st, node.input(0));
  const ValueType& vt = r.shapes.at(node.outputs.at(0));
  t.shape = vt.shape;
  t.type = vt.type;
  r.values[node.outputs[0]] = t;
}

// Integer matmul (MatMulInteger, QLinearMatMul): A (..., M, K) u8/i8, B (K, N) or batched (..., K, N).
EventList run_integer_matmul(Run& r, const Node& node, Executor::State& st) {
  const bool q = node.op == "QLinearMatMul";
  const std::string& a_name = node.input(0);
  const std::string& b_name = node.input(q ? 3 : 1);
  const DeviceTensor a = r.operand(st, a_name);
  const ValueType& bt = r.shapes.at(b_name);
  const QuantType a_type = quant_type_of(node, a.type, "A");
  const QuantType b_type = quant_type_of(node, bt.type, "B");
  if (a.shape.size() < 2 || bt.shape.size() < 2) {
    throw NotSupported(fmt::format("node {}: 1-D operands of integer matmul are not supported", node.label()));
  }
  const std::int64_t m = a.shape[a.shape.size() - 2], k = a.shape.back(), n = bt.shape.back();
  const std::int64_t a_batch = product(a.shape, 0, a.shape.size() - 2);
  const std::int64_t b_batch = product(bt.shape, 0, bt.shape.size() - 2);
  DeviceTensor y = r.alloc(node.outputs.at(0));
  const std::int64_t batch = element_count(y.shape) / (m * n);
  if ((b_batch != 1 && b_batch != batch) || (a_batch != 1 && a_batch != batch)) {
    throw NotSupported(fmt::format("node {}: batch broadcasting of A {} and B {} beyond repeating one operand is not "
                                   "supported",
                                   node.label(), shape_text(a.shape), shape_text(bt.shape)));
  }
  auto scalar_zp = [&](const std::string& name, const char* what) -> std::int32_t {
    if (name.empty()) return 0;
    const auto z = r.g.constant(name).to_int64s();
    if (z.size() != 1) {
      throw NotSupported(fmt::format("node {}: per-row {} zero points are not supported", node.label(), what));
    }
    return std::int32_t(z[0]);
  };
  // B's parameters: per tensor, or per column (N values along axis 1 of the K x N array).
  QuantParams bp;
  const std::string& bs_name = q ? node.input(4) : "";
  const std::string& bz_name = q ? node.input(5) : node.input(3);
  {
    std::vector<float> scales{1.0f};
    if (q) scales = r.g.constant(bs_name).to_floats();
    std::vector<std::int32_t> zps(scales.size(), 0);
    if (!bz_name.empty()) {
      const auto z = r.g.constant(bz_name).to_int64s();
      if (z.size() > 1 && scales.size() == 1) scales.assign(z.size(), scales[0]);
      zps.assign(z.begin(), z.end());
      if (zps.size() == 1 && scales.size() > 1) zps.assign(scales.size(), zps[0]);
    }
    if (scales.size() != zps.size() || (scales.size() > 1 && std::int64_t(scales.size()) != n)) {
      throw InvalidArgument(fmt::format("node {}: B has {} scales and {} zero points for N = {}", node.label(),
                                        scales.size(), zps.size(), n));
    }
    bp.type = b_type;
    bp.scales = scales;
    bp.zero_points = zps;
    bp.axis = scales.size() > 1 ? 1 : -1;
  }
  const std::int32_t a_zp = scalar_zp(node.input(2), "A");
  const std::string key = fmt::format("{}", shape_text(bt.shape));
  if (!r.g.is_constant(b_name) || st.qpacked_key != key) {
    st.qpacked.clear();
    const std::vector<std::uint8_t> bytes = r.host_or_device_bytes(st, b_name);
    for (std::int64_t b = 0; b < b_batch; ++b) {
      st.qpacked.push_back(pack_weights_i8(
          r.ctx, std::span<const std::uint8_t>(bytes).subspan(std::size_t(b * k * n), std::size_t(k * n)), k, n,
          WeightLayout::kn, bp));
    }
    st.qpacked_key = r.g.is_constant(b_name) ? key : "";
  }
  GemmI8Problem p;
  p.m = m;
  p.n = n;
  p.k = k;
  p.a_type = a_type;
  p.b_type = b_type;
  GemmI8Epilogue epi = GemmI8Epilogue::int32();
  if (q) {
    const float a_scale = r.g.constant(node.input(1)).to_floats().at(0);
    const float y_scale = r.g.constant(node.input(6)).to_floats().at(0);
    const std::int32_t y_zp = scalar_zp(node.input(7), "Y");
    epi = GemmI8Epilogue::requantize(a_scale, y_scale, y_zp, quant_type_of(node, y.type, "Y"));
  }
  EventList ev;
  const std::size_t a_bytes = std::size_t(m * k), y_bytes = std::size_t(m * n) * elem_size(y.type);
  if (batch == 1) {
    ev = gemm_i8(r.ctx, p, a.buf->raw(), a_zp, st.qpacked.at(0), y.buf->raw(), epi);
  } else {
    DeviceTensor as = r.temp(a.type, {m, k});
    DeviceTensor ys = r.temp(y.type, {m, n});
    for (std::int64_t b = 0; b < batch; ++b) {
      copy_buffer(r.ctx, a.mem(), std::size_t(a_batch == 1 ? 0 : b) * a_bytes, as.mem(), 0, a_bytes);
      append(ev, gemm_i8(r.ctx, p, as.buf->raw(), a_zp, st.qpacked.at(std::size_t(b_batch == 1 ? 0 : b)),
                         ys.buf->raw(), epi));
      copy_buffer(r.ctx, ys.mem(), 0, y.mem(), std::size_t(b) * y_bytes, y_bytes);
    }
  }
  r.values[node.outputs[0]] = y;
  return ev;
}

// Integer convolution (ConvInteger, QLinearConv): per image and group, im2col then gemm_i8 (int32), then the output
// stage writes NCHW (requantized with the int32 bias for QLinearConv).
EventList run_integer_conv(Run& r, const Node& node, Executor::State& st) {
  const bool q = node.op == "QLinearConv";
  const DeviceTensor x = r.operand(st, node.input(0));
  const std::string& w_name = node.input(q ? 3 : 1);
  const ValueType& wt = r.shapes.at(w_name);
  const QuantType x_type = quant_type_of(node, x.type, "X");
  const QuantType w_type = quant_type_of(node, wt.type, "W");
  const bool one_d = x.shape.size() == 3;
  const std::int64_t kr = one_d ? 1 : wt.shape[2], ks = wt.shape.back();
  const ConvGeometry g = conv_geometry(node, x.shape, kr, ks);
  const std::int64_t nimg = x.shape[0], c = x.shape[1], h = one_d ? 1 : x.shape[2], w = x.shape.back();
  const std::int64_t groups = node.get_int("group", 1), kout = wt.shape[0], cg = c / groups, kg = kout / groups;
  const std::int64_t kk = cg * kr * ks, pcount = g.out_h * g.out_w;
  DeviceTensor y = r.alloc(node.outputs.at(0));
  auto consts = [&](const std::string& name, std::size_t count, float fallback) {
    std::vector<double> v = name.empty() ? std::vector<double>{fallback} : r.g.constant(name).to_doubles();
    if (v.size() == 1) v.assign(count, v[0]);
    if (v.size() != count) {
      throw InvalidArgument(fmt::format("node {}: '{}' has {} values for {} output channels", node.label(), name,
                                        v.size(), count));
    }
    return v;
  };
  const std::string& xz_name = node.input(2);   // x_zero_point in both ops
  const std::int64_t x_zp = xz_name.empty() ? 0 : r.g.constant(xz_name).to_int64s().at(0);
  if (!xz_name.empty() && r.g.constant(xz_name).count() != 1) {
    throw NotSupported(fmt::format("node {}: per-channel input zero points are not supported", node.label()));
  }
  const auto w_scales = q ? consts(node.input(4), std::size_t(kout), 1.0f) : std::vector<double>(kout, 1.0);
  const auto w_zps = consts(q ? node.input(5) : node.input(3), std::size_t(kout), 0.0f);
  const std::string key = "conv";
  if (!r.g.is_constant(w_name) || st.qpacked_key != key) {
    st.qpacked.clear();
    const std::vector<std::uint8_t> bytes = r.host_or_device_bytes(st, w_name);
    for (std::int64_t gi = 0; gi < groups; ++gi) {
      std::vector<float> sc(static_cast<std::size_t>(kg));
      std::vector<std::int32_t> zp(static_cast<std::size_t>(kg));
      for (std::int64_t j = 0; j < kg; ++j) {
        sc[std::size_t(j)] = float(w_scales[std::size_t(gi * kg + j)]);
        zp[std::size_t(j)] = std::int32_t(w_zps[std::size_t(gi * kg + j)]);
      }
      const QuantParams wp = QuantParams::per_channel(w_type, 0, sc, zp);
      st.qpacked.push_back(pack_weights_i8(
          r.ctx, std::span<const std::uint8_t>(bytes).subspan(std::size_t(gi * kg * kk), std::size_t(kg * kk)), kk,
          kg, WeightLayout::nk, wp));
    }
    st.qpacked_key = r.g.is_constant(w_name) ? key : "";
  }
  cl_mem factor = nullptr, bias = nullptr;
  std::int32_t y_zp = 0;
  bool y_signed = false;
  if (q) {
    const float x_scale = r.g.constant(node.input(1)).to_floats().at(0);
    const float y_scale = r.g.constant(node.input(6)).to_floats().at(0);
    y_zp = node.input(7).empty() ? 0 : std::int32_t(r.g.constant(node.input(7)).to_int64s().at(0));
    y_signed = y.type == ElemType::i8;
    std::vector<float> f(static_cast<std::size_t>(kout));
    for (std::int64_t j = 0; j < kout; ++j) {
      f[std::size_t(j)] = (x_scale * float(w_scales[std::size_t(j)])) / y_scale;
      if (!std::isfinite(f[std::size_t(j)]) || f[std::size_t(j)] <= 0) {
        throw InvalidArgument(fmt::format("node {}: requantization factor of channel {} is {}", node.label(), j,
                                          f[std::size_t(j)]));
      }
    }
    factor = r.float_array(st, "factor", f);
    if (!node.input(8).empty()) {
      const auto b = r.g.constant(node.input(8)).to_int64s();
      if (std::int64_t(b.size()) != kout) {
        throw InvalidArgument(fmt::format("node {}: bias has {} values for {} channels", node.label(), b.size(),
                                          kout));
      }
      bias = r.int_array(st, "bias", std::vector<std::int32_t>(b.begin(), b.end()));
    }
  }
  DeviceTensor col = r.temp(x.type, {pcount, kk});
  DeviceTensor acc = r.temp(ElemType::i32, {pcount, kg});
  GemmI8Problem p;
  p.m = pcount;
  p.n = kg;
  p.k = kk;
  p.a_type = x_type;
  p.b_type = w_type;
  EventList ev;
  const std::uint8_t pad = std::uint8_t(x_zp & 0xff);
  for (std::int64_t img = 0; img < nimg; ++img) {
    for (std::int64_t gi = 0; gi < groups; ++gi) {
      append(ev, gk::im2col_bytes(r.ctx, x.mem(), col.mem(), img * c * h * w, gi * cg, cg, h, w, g, pad));
      append(ev, gemm_i8(r.ctx, p, col.buf->raw(), std::int32_t(x_zp), st.qpacked.at(std::size_t(gi)),
                         acc.buf->raw(), GemmI8Epilogue::int32()));
      if (q) {
        append(ev, gk::requantize_to_planes(r.ctx, acc.mem(), y.mem(), img * kout * pcount, pcount, kg, gi * kg, bias,
                                            factor, y_zp, y_signed));
      } else {
        append(ev, gk::int_to_planes(r.ctx, acc.mem(), y.mem(), img * kout * pcount, pcount, kg, gi * kg));
      }
    }
  }
  r.values[node.outputs[0]] = y;
  return ev;
}

EventList run_node(Run& r, const Step& step, Executor::State& st) {
  const Node& node = r.g.nodes.at(step.nodes.front());
  const std::string& op = node.op;
  if (op == "Identity" || op == "Dropout" || op == "Flatten" || op == "Reshape") {
    view(r, st, node);
    return {};
  }
  if (op == "Cast") {
    const DeviceTensor x = r.operand(st, node.input(0));
    const ElemType to = r.shapes.at(node.outputs.at(0)).type;
    if (to == x.type) {
      view(r, st, node);
      return {};
    }
    if (to != ElemType::f32) {
      throw NotSupported(fmt::format("node {}: Cast from {} to {} of a computed tensor is not supported (integer to "
                                     "float32 is)",
                                     node.label(), elem_type_name(x.type), elem_type_name(to)));
    }
    DeviceTensor y = r.alloc(node.outputs[0]);
    EventList ev = gk::cast_to_float(r.ctx, x.type, x.mem(), y.mem(), x.count());
    r.values[node.outputs[0]] = y;
    return ev;
  }
  if (op == "Relu" || op == "Clip") {
    const DeviceTensor x = r.operand(st, node.input(0));
    float lo = 0.0f, hi = INFINITY;
    if (op == "Clip") clip_bounds(node, r.g, lo, hi);
    if (x.type != ElemType::f32) {
      // Integer Clip: the bounds as the type's values (ONNX gives them in the input's type).
      const float tmin = x.type == ElemType::u8 ? 0.0f : x.type == ElemType::i8 ? -128.0f : -2147483648.0f;
      const float tmax = x.type == ElemType::u8 ? 255.0f : x.type == ElemType::i8 ? 127.0f : 2147483520.0f;
      lo = std::max(lo, tmin);
      hi = std::min(hi, tmax);
    }
    DeviceTensor y = r.alloc(node.outputs.at(0));
    EventList ev = gk::relu_clip(r.ctx, x.type, x.mem(), y.mem(), x.count(), lo, hi);
    r.values[node.outputs[0]] = y;
    return ev;
  }
  if (op == "Add") {
    const DeviceTensor a = r.operand(st, node.input(0));
    const DeviceTensor b = r.operand(st, node.input(1));
    DeviceTensor y = r.alloc(node.outputs.at(0));
    const auto meta = gk::broadcast_meta(y.shape, a.shape, b.shape);
    const cl_mem m = r.int_array(st, fmt::format("{}|{}|{}", shape_text(y.shape), shape_text(a.shape),
                                                 shape_text(b.shape)),
                                 meta);
    EventList ev = gk::add_broadcast(r.ctx, y.type, a.mem(), b.mem(), y.mem(), y.count(),
                                     int(std::max<std::size_t>(y.shape.size(), 1)), m);
    r.values[node.outputs[0]] = y;
    return ev;
  }
  if (op == "MaxPool" || op == "AveragePool") {
    const DeviceTensor x = r.operand(st, node.input(0));
    const ConvGeometry g = conv_geometry(node, x.shape, 0, 0);
    const bool one_d = x.shape.size() == 3;
    const std::int64_t planes = x.shape[0] * x.shape[1], h = one_d ? 1 : x.shape[2], w = x.shape.back();
    DeviceTensor y = r.alloc(node.outputs.at(0));
    EventList ev = op == "MaxPool"
                       ? gk::max_pool(r.ctx, x.type, x.mem(), y.mem(), planes, h, w, g)
                       : gk::average_pool(r.ctx, x.mem(), y.mem(), planes, h, w, g,
                                          node.get_int("count_include_pad", 0) != 0);
    r.values[node.outputs[0]] = y;
    return ev;
  }
  if (op == "GlobalAveragePool") {
    const DeviceTensor x = r.operand(st, node.input(0));
    DeviceTensor y = r.alloc(node.outputs.at(0));
    EventList ev = gk::global_average_pool(r.ctx, x.mem(), y.mem(), x.shape[0] * x.shape[1],
                                           product(x.shape, 2, x.shape.size()));
    r.values[node.outputs[0]] = y;
    return ev;
  }
  if (op == "Softmax") {
    const DeviceTensor x = r.operand(st, node.input(0));
    const std::int64_t rank = std::int64_t(x.shape.size());
    const std::int64_t axis = normalize_axis(node, node.get_int("axis", r.g.opset >= 13 ? -1 : 1), rank);
    std::int64_t outer = product(x.shape, 0, std::size_t(axis)), len, inner;
    if (r.g.opset >= 13) {
      len = x.shape[std::size_t(axis)];
      inner = product(x.shape, std::size_t(axis) + 1, x.shape.size());
    } else {
      // Before opset 13, Softmax works on the input flattened to 2-D at axis.
      len = product(x.shape, std::size_t(axis), x.shape.size());
      inner = 1;
    }
    DeviceTensor y = r.alloc(node.outputs.at(0));
    EventList ev = gk::softmax(r.ctx, x.mem(), y.mem(), outer, len, inner);
    r.values[node.outputs[0]] = y;
    return ev;
  }
  if (op == "BatchNormalization") {
    const DeviceTensor x = r.operand(st, node.input(0));
    const std::int64_t channels = x.shape[1];
    if (!st.floats.count("scale")) {
      const auto gamma = r.g.constant(node.input(1)).to_doubles();
      const auto beta = r.g.constant(node.input(2)).to_doubles();
      const auto mean = r.g.constant(node.input(3)).to_doubles();
      const auto var = r.g.constant(node.input(4)).to_doubles();
      const double eps = node.get_float("epsilon", 1e-5f);
      std::vector<float> scale(static_cast<std::size_t>(channels)), shift(static_cast<std::size_t>(channels));
      for (std::size_t c = 0; c < std::size_t(channels); ++c) {
        const double s = gamma[c] / std::sqrt(var[c] + eps);
        scale[c] = float(s);
        shift[c] = float(beta[c] - mean[c] * s);
      }
      r.float_array(st, "scale", scale);
      r.float_array(st, "shift", shift);
    }
    DeviceTensor y = r.alloc(node.outputs.at(0));
    EventList ev = gk::channel_affine(r.ctx, x.mem(), y.mem(), st.floats.at("scale")->handle(),
                                      st.floats.at("shift")->handle(), x.count(), channels,
                                      product(x.shape, 2, x.shape.size()));
    r.values[node.outputs[0]] = y;
    return ev;
  }
  if (op == "QuantizeLinear" || op == "DequantizeLinear") {
    const DeviceTensor x = r.operand(st, node.input(0));
    DeviceTensor y = r.alloc(node.outputs.at(0));
    const HostTensor& scale = r.g.constant(node.input(1));
    const HostTensor* zp = node.input(2).empty() ? nullptr : &r.g.constant(node.input(2));
    const std::int64_t rank = std::int64_t(x.shape.size());
    EventList ev;
    if (op == "QuantizeLinear") {
      const QuantType t = zp != nullptr ? quant_type_of(node, zp->type, "the zero point") : QuantType::u8;
      const QuantParams p = quant_params(node, scale, zp, t, node.get_int("axis", 1), rank);
      ev = quantize_linear(r.ctx, *x.buf, x.shape, p, y.buf->raw());
    } else {
      if (x.type == ElemType::i32) {
        throw NotSupported(fmt::format("node {}: DequantizeLinear of a computed int32 tensor is not supported",
                                       node.label()));
      }
      const QuantParams p = quant_params(node, scale, zp, quant_type_of(node, x.type, "x"), node.get_int("axis", 1),
                                         rank);
      ev = dequantize_linear(r.ctx, x.buf->raw(), x.shape, p, *y.buf);
    }
    r.values[node.outputs[0]] = y;
    return ev;
  }
  if (op == "Gemm") {
    const DeviceTensor a = r.operand(st, node.input(0));
    const DeviceTensor b = r.operand(st, node.input(1));
    DeviceTensor y = r.alloc(node.outputs.at(0));
    GemmProblem p;
    p.trans_a = node.get_int("transA", 0) != 0;
    p.trans_b = node.get_int("transB", 0) != 0;
    p.m = y.shape[0];
    p.n = y.shape[1];
    p.k = p.trans_a ? a.shape[0] : a.shape[1];
    GemmOptions o;
    o.alpha = node.get_float("alpha", 1.0f);
    EventList ev;
    if (!node.input(2).empty()) {
      const DeviceTensor c = r.operand(st, node.input(2));
      const auto meta = gk::broadcast_meta(y.shape, c.shape, c.shape);
      const cl_mem m = r.int_array(st, "C|" + shape_text(c.shape) + shape_text(y.shape), meta);
      ev = gk::broadcast_scaled(r.ctx, c.mem(), y.mem(), y.count(), 2, m, node.get_float("beta", 1.0f));
      o.beta = 1.0f;
    }
    if (p.k == 0) {
      if (node.input(2).empty()) y.buf->fill(0.0f);
    } else {
      append(ev, gemm_f32(r.ctx, p, *a.buf, *b.buf, *y.buf, o));
    }
    r.values[node.outputs[0]] = y;
    return ev;
  }
  if (op == "MatMul") {
    const DeviceTensor a = r.operand(st, node.input(0));
    const DeviceTensor b = r.operand(st, node.input(1));
    DeviceTensor y = r.alloc(node.outputs.at(0));
    Shape as = a.shape, bs = b.shape;
    if (as.size() == 1) as.insert(as.begin(), 1);
    if (bs.size() == 1) bs.push_back(1);
    const std::int64_t m = as[as.size() - 2], k = as.back(), n = bs.back();
    const Shape batch = broadcast_shapes(node, Shape(as.begin(), as.end() - 2), Shape(bs.begin(), bs.end() - 2));
    const std::int64_t nb = element_count(batch);
    // Element offsets of each batch's A and B under broadcasting.
    std::vector<std::int32_t> a_off(static_cast<std::size_t>(nb)), b_off(static_cast<std::size_t>(nb));
    const auto meta = gk::broadcast_meta(batch, Shape(as.begin(), as.end() - 2), Shape(bs.begin(), bs.end() - 2));
    const std::size_t rank = std::max<std::size_t>(batch.size(), 1);
    for (std::int64_t i = 0; i < nb; ++i) {
      std::int64_t rest = i, ia = 0, ib = 0;
      for (std::size_t d = rank; d-- > 0;) {
        const std::int64_t dim = meta[d], idx = rest % dim;
        rest /= dim;
        ia += idx * meta[rank + d];
        ib += idx * meta[2 * rank + d];
      }
      a_off[std::size_t(i)] = std::int32_t(ia * m * k);
      b_off[std::size_t(i)] = std::int32_t(ib * k * n);
    }
    const std::string key = shape_text(as) + "x" + shape_text(bs);
    EventList ev = gk::matmul_batched(r.ctx, a.mem(), b.mem(), y.mem(), nb, m, n, k,
                                      r.int_array(st, "a" + key, a_off), r.int_array(st, "b" + key, b_off));
    r.values[node.outputs[0]] = y;
    return ev;
  }
  if (op == "MatMulInteger" || op == "QLinearMatMul") return run_integer_matmul(r, node, st);
  if (op == "ConvInteger" || op == "QLinearConv") return run_integer_conv(r, node, st);
  if (op == "Conv") {
    // A convolution whose weight is computed (or given as an input): fp32 storage kernels on device buffers.
    const DeviceTensor x = r.operand(st, node.input(0));
    const DeviceTensor w = r.operand(st, node.input(1));
    ConvProblem base;
    base.k = w.shape[0];
    base.groups = node.get_int("group", 1);
    base.r = w.shape.size() == 3 ? 1 : w.shape[2];
    base.s = w.shape.back();
    const ConvProblem p = conv_problem_for(base, node, x.shape);
    DeviceTensor y = r.alloc(node.outputs.at(0));
    auto [impl, params] = ops::choose_conv(p, r.ctx.device(), "");
    ops::ConvArgs args;
    args.f32_storage = true;
    args.x = x.mem();
    args.w = w.mem();
    args.y = y.mem();
    if (!node.input(2).empty()) args.bias = r.operand(st, node.input(2)).mem();
    EventList ev = impl->launch(r.ctx.impl(), p, params, args);
    r.values[node.outputs[0]] = y;
    return ev;
  }
  throw NotSupported(fmt::format("node {}: op {} is not implemented by the executor", node.label(), op));
}

}  // namespace

std::map<std::string, HostTensor> Executor::run(const std::map<std::string, HostTensor>& inputs) {
  std::map<std::string, Shape> input_shapes;
  for (const ValueSpec& spec : graph_.inputs) {
    const auto it = inputs.find(spec.name);
    if (it == inputs.end()) {
      throw InvalidArgument(fmt::format("{}: no data given for input '{}' ({} {})", graph_.origin, spec.name,
                                        elem_type_name(spec.type), shape_text(spec.dims)));
    }
    const std::string bad = check_against_spec(spec, it->second.type, it->second.shape);
    if (!bad.empty()) throw InvalidArgument(fmt::format("{}: wrong input: {}", graph_.origin, bad));
    input_shapes[spec.name] = it->second.shape;
  }
  for (const auto& [name, t] : inputs) {
    if (!std::any_of(graph_.inputs.begin(), graph_.inputs.end(), [&n = name](const ValueSpec& s) { return s.name == n; })) {
      throw InvalidArgument(fmt::format("{}: '{}' is not an input of the model (inputs: {})", graph_.origin, name,
                                        fmt::join([&] {
                                          std::vector<std::string> n;
                                          for (const auto& s : graph_.inputs) n.push_back(s.name);
                                          return n;
                                        }(),
                                                  ", ")));
    }
  }
  shapes_ = infer_shapes(graph_, input_shapes);

  std::map<std::string, DeviceTensor> values;
  Run r{ctx_, graph_, shapes_, [this](std::size_t bytes) { return pool_->get(bytes); }, values};
  for (const ValueSpec& spec : graph_.inputs) {
    const HostTensor& h = inputs.at(spec.name);
    DeviceTensor t = r.alloc(spec.name);
    if (!h.data.empty()) t.buf->raw().upload(h.data.data(), h.data.size());
    values[spec.name] = t;
  }
  // The last step reading each value: its buffer returns to the pool after that step is enqueued.
  std::map<std::string, std::size_t> last_use;
  for (std::size_t s = 0; s < steps_.size(); ++s) {
    for (const auto& in : steps_[s].inputs) last_use[in] = s;
  }
  kept_.clear();
  std::vector<std::vector<EventList>> events(steps_.size());
  for (std::size_t s = 0; s < steps_.size(); ++s) {
    const Step& step = steps_[s];
    State& st = *states_[s];
    try {
      for (int rep = 0; rep < repeats_; ++rep) {
        if (step.kind == Step::Kind::dense) {
          events[s].push_back(run_dense(r, step, choices_[s], st));
        } else if (step.kind == Step::Kind::conv) {
          events[s].push_back(run_conv(r, step, choices_[s], st));
        } else {
          events[s].push_back(run_node(r, step, st));
        }
      }
    } catch (const InvalidArgument& e) {
      throw InvalidArgument(fmt::format("layer '{}' ({}): {}", step.name, step.op_text(), e.what()));
    } catch (const NotSupported& e) {
      throw NotSupported(fmt::format("layer '{}' ({}): {}", step.name, step.op_text(), e.what()));
    }
    if (keep_values_) {
      for (const auto& out : step.outputs) {
        const auto it = values.find(out);
        if (it == values.end()) continue;
        HostTensor h = HostTensor::of(it->second.type, it->second.shape);
        if (!h.data.empty()) it->second.buf->raw().download(h.data.data(), h.data.size());
        kept_[out] = std::move(h);
      }
    }
    for (const auto& in : step.inputs) {
      if (last_use[in] == s && !graph_.is_output(in)) values.erase(in);
    }
  }
  ctx_.finish();
  for (std::size_t s = 0; s < steps_.size(); ++s) {
    std::vector<double> ms;
    for (const EventList& e : events[s]) ms.push_back(e.size() > 0 ? e.span_ns() * 1e-6 : 0.0);
    std::sort(ms.begin(), ms.end());
    timings_[s].kernels = events[s].empty() ? 0 : int(events[s].front().size());
    timings_[s].device_ms = ms.empty() ? 0.0 : ms[ms.size() / 2];
  }
  std::map<std::string, HostTensor> outputs;
  for (const ValueSpec& spec : graph_.outputs) {
    if (graph_.is_constant(spec.name)) {
      outputs[spec.name] = graph_.constant(spec.name);
      continue;
    }
    const DeviceTensor& t = values.at(spec.name);
    HostTensor h = HostTensor::of(t.type, t.shape);
    if (!h.data.empty()) t.buf->raw().download(h.data.data(), h.data.size());
    outputs[spec.name] = std::move(h);
  }
  return outputs;
}

}  // namespace ellesmere::pipeline
