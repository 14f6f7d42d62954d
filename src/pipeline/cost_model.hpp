// The cost model: predicted time of every step on a device profile, before anything runs. A step's time is
// max(ops / rate, bytes / bandwidth) / efficiency (the roofline on the profile's peaks), with the efficiency of its
// class (layer kind x precision x the Impl dispatch picks, e.g.
// "dense/int4-g32/gemm_wq_gemv") calibrated on the device from synthetic problems around the sizes the model needs,
// never from the model's own layers. A tuning-database entry with a measured time for the step's main kernel
// replaces the prediction of that kernel. The built-in rx580 profile uses assumed efficiencies per kernel family
// (a model estimate, labelled so). Internal to the pipeline.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ellesmere/device.hpp"
#include "ellesmere/profile.hpp"
#include "pipeline/executor.hpp"
#include "pipeline/graph.hpp"
#include "pipeline/lower.hpp"

namespace ellesmere::pipeline {

// What a step computes and moves, and the class its efficiency is calibrated under.
struct StepWork {
  std::string cls;          // "dense/int8/gemm_i8_tile2d", "conv/fp16/conv_f16_winograd4", "node/MaxPool", "view"
  std::string family;       // gemm, gemv, conv, spmm, elementwise (the rx580 model's efficiency per family)
  std::string problem;      // the main kernel's canonical problem ("gemm_i8:m50n256k1568"), "" for node steps
  std::string impl;         // the Impl dispatch picks for it on the device ("" for node steps)
  double ops = 0;           // multiply-adds x 2 (flops, or int ops for int8)
  double bytes = 0;         // every kernel's reads and writes, conversions and transposes included
  bool int8 = false;        // ops at the int8 rate
  int kernels = 0;          // launches
  std::uint64_t weight_bytes = 0;   // the packed weights and bias (compute layers)
};
StepWork step_work(const Graph& graph, const Step& step, const LayerChoice& choice, const ShapeMap& shapes,
                   const DeviceInfo& device);

// A class's measured time as a power law of its roofline time w: t = scale * w^exponent, i.e. an efficiency
// w / t that grows with the size of the problem (launch and synchronisation costs weigh less on larger steps),
// fitted in log-log space to the (at most four) calibration points nearest to the step's roofline time. One point:
// exponent 1 (a constant efficiency).
struct ClassFit {
  double log_scale = 0;
  double exponent = 1;
  double min_w = 0, max_w = 0;   // the calibrated range of roofline times (us)
  int points = 0;                // calibration measurements behind it (0: not calibrated)
  double time_us(double w) const;
};

struct Prediction {
  double us = 0;
  double roofline_us = 0;
  std::string source;       // "calibrated (N points)", "rx580 model (assumed efficiency E)", "tuning db", ...
};

class CostModel {
 public:
  // The built-in RX 580 model: its profile's peaks, the assumed efficiency of each family, the profile's launch
  // overhead per kernel.
  static CostModel rx580();
  // The current device: its saved (or freshly measured) profile and the class fits cached for it (calibrate() adds
  // what is missing).
  static CostModel current(Context& context);

  const DeviceProfile& profile() const { return profile_; }
  bool model_estimate() const { return profile_.model_estimate; }
  double roofline_us(const StepWork& w) const;
  Prediction predict(const StepWork& w) const;
  bool calibrated(const std::string& cls) const;

  // A step to calibrate: its graph (for node attributes), step and choice, and its value shapes.
  struct Request {
    const Graph* graph = nullptr;
    const Step* step = nullptr;
    LayerChoice choice;
    const ShapeMap* shapes = nullptr;
  };
  // Measures synthetic problems (the step's kind, precision, attributes and reduction length with
  // 0.5x, 0.7x, 1.4x and 2x its output channels or features, never the step's own size) for every class among requests not yet calibrated, then saves the fits. Returns the classes done.
  std::vector<std::string> calibrate(Context& context, const std::vector<Request>& requests, bool verbose);
  const std::string& cache_path() const { return cache_path_; }

 private:
  void refit(const std::string& cls);
  void save() const;
  DeviceProfile profile_;
  std::map<std::string, ClassFit> fits_;
  std::map<std::string, std::vector<std::pair<double, double>>> points_;   // cls -> (roofline us, measured us)
  std::string cache_path_;
};

}  // namespace ellesmere::pipeline
