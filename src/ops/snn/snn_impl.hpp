// The spiking-network step Impl interface and its list (snn_f32_event.cpp). A problem is "snn:n<neurons>y<synapses>";
// the simulator (src/snn/simulator.cpp) chooses the Impl and drives its kernels step by step.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ops/impl.hpp"

namespace ellesmere::ops {

class SnnImpl : public ImplBase {
 public:
  std::string op() const override { return "snn"; }
  // Launches of one step of problem (snn_update, snn_propagate) and a probe of 1 neuron.
  std::vector<LaunchShape> launch_shapes(std::string_view problem, const Params& params) const override;
  // The kernel-side tunables' defines (VN, LU, LP); FUSE is a program variant (launch_options), PG and SPS are
  // launch-side.
  std::string build_options(std::string_view problem, const Params& params) const override;
  std::vector<std::string> variant_options() const override;   // FUSE = 0 and 1
  static std::string launch_options(const Params& params);       // the variant a launch with params builds
};

const std::vector<std::unique_ptr<SnnImpl>>& snn_list();
// The Impl and Params for a problem (requested: "" or an Impl's name); throws as choose_impl does.
std::pair<const SnnImpl*, Params> choose_snn(const std::string& problem, const DeviceInfo& device,
                                             const std::string& requested);

}  // namespace ellesmere::ops
