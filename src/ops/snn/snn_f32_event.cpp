// snn_f32_event Impl: kernels/snn/snn_f32_event.cl, an update launch over every neuron and an event-driven
// propagation launch over the synapses of the neurons that spiked, per step; and the list of SNN Impls.
#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "ops/dispatch.hpp"
#include "ops/problem_text.hpp"
#include "ops/snn/snn_impl.hpp"

namespace ellesmere::ops {

namespace {

class SnnF32Event final : public SnnImpl {
 public:
  std::string name() const override { return "snn_f32_event"; }
  std::string kernel_file() const override { return "snn/snn_f32_event.cl"; }

  // Defaults for GCN: a lane per neuron, 64-item groups (a wavefront), propagation in its own launch with 64
  // groups (a spike's synapses over a work-group, spikes spread over the 36 CUs).
  ParamSpace space() const override {
    return {{
        {"VN", {1, 2, 4, 8, 16}, 1, "neurons per work-item (vector width; 8-16 for a CPU's SIMD, 1 on GCN)"},
        {"FUSE", {0, 1}, 0, "1: a spiking neuron's work-item propagates its spike (one launch per step)"},
        {"LU", {16, 32, 64, 128, 256}, 64, "update work-group size (neurons per group)"},
        {"LP", {16, 32, 64, 128, 256}, 64, "propagation work-group size (synapses of one spike in parallel)"},
        {"PG", {1, 2, 4, 8, 16, 32, 64, 128}, 64, "propagation work-groups (each takes every PG-th spike)"},
        {"SPS", {1, 10, 50, 100, 200, 500, 1000}, 100, "steps enqueued per host round trip (reading the record)"},
    }};
  }

  std::string check_params(const Params& p, const DeviceInfo& device) const override {
    for (const char* n : {"LU", "LP"}) {
      const int v = p.get(n);
      if (v < 1 || (v & (v - 1)) != 0) return fmt::format("{}={} is not a power of two", n, v);
      if (std::size_t(v) > device.max_work_group_size || std::size_t(v) > device.max_work_item_sizes[0]) {
        return fmt::format("{}={} is above the device's work-group limit {}", n, v, device.max_work_group_size);
      }
    }
    const int vn = p.get("VN");
    if (vn != 1 && vn != 2 && vn != 4 && vn != 8 && vn != 16) return fmt::format("VN={} is not 1, 2, 4, 8 or 16", vn);
    if (p.get("FUSE") != 0 && p.get("FUSE") != 1) return fmt::format("FUSE={} is not 0 or 1", p.get("FUSE"));
    if (p.get("PG") < 1) return fmt::format("PG={} is not positive", p.get("PG"));
    if (p.get("SPS") < 1) return fmt::format("SPS={} is not positive", p.get("SPS"));
    return {};
  }
};

}  // namespace

std::vector<LaunchShape> SnnImpl::launch_shapes(std::string_view problem, const Params& params) const {
  const auto t = ProblemText::parse_op(problem, "snn");
  const std::size_t n = std::size_t(t.integer(problem, "n"));
  t.expect_only(problem, {"n", "y"});
  const std::size_t lu = std::size_t(params.get("LU")), lp = std::size_t(params.get("LP"));
  LaunchShape update;
  update.kernel = "snn_update";
  const std::size_t vn = std::size_t(params.get("VN"));
  update.global = {round_up((n + vn - 1) / vn, lu), 1, 1};
  update.local = {lu, 1, 1};
  LaunchShape propagate;
  propagate.kernel = "snn_propagate";
  propagate.global = {std::size_t(params.get("PG")) * lp, 1, 1};
  propagate.local = {lp, 1, 1};
  LaunchShape probe;
  probe.kernel = "snn_probe";
  probe.global = {lu, 1, 1};
  probe.local = {lu, 1, 1};
  if (params.get("FUSE") != 0) return {update, probe};
  return {update, propagate, probe};
}

std::string SnnImpl::build_options(std::string_view, const Params& params) const {
  return fmt::format("-DVN={} -DLU={} -DLP={}", params.get("VN"), params.get("LU"), params.get("LP"));
}

std::vector<std::string> SnnImpl::variant_options() const { return {" -DFUSE=0", " -DFUSE=1"}; }

std::string SnnImpl::launch_options(const Params& params) {
  return fmt::format(" -DFUSE={}", params.get("FUSE"));
}

const std::vector<std::unique_ptr<SnnImpl>>& snn_list() {
  static const std::vector<std::unique_ptr<SnnImpl>> list = [] {
    std::vector<std::unique_ptr<SnnImpl>> l;
    l.push_back(std::make_unique<SnnF32Event>());
    return l;
  }();
  return list;
}

std::pair<const SnnImpl*, Params> choose_snn(const std::string& problem, const DeviceInfo& device,
                                             const std::string& requested) {
  return choose_impl(snn_list(), problem, device, requested, [](const SnnImpl&) { return std::string(); });
}

}  // namespace ellesmere::ops
