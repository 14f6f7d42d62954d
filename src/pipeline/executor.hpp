// The executor: runs a lowered model on one Context with one kernel choice per compute layer. Weights are packed
// once per (layer, choice) and kept; activation buffers come from a pool and are reused as soon as their last
// reader has been enqueued (the queue is in order); every step's kernels are timed with their OpenCL events.
// Internal to the pipeline.
#pragma once

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ellesmere/device.hpp"
#include "ellesmere/quant.hpp"
#include "pipeline/graph.hpp"
#include "pipeline/lower.hpp"

namespace ellesmere::pipeline {

// How a compute layer runs. Every precision keeps the layer's ONNX semantics; they differ in bytes moved and error.
enum class Precision {
  fp32,   // our fp32 GEMM (or CLBlast, as gemm_f32's dispatch chooses) / the conv kernels with fp32 storage
  fp16,   // conv only: half storage, fp32 accumulation (activations converted on the device, counted in the time)
  int8,   // dense only: u8 activations quantized with calibrated parameters, i8 per-channel weights, gemm_i8
  int4,   // dense only: 4-bit grouped weights (symmetric, fp16 scales), fp32 activations, gemm_wq
  csr,    // dense only: magnitude-pruned weights in CSR, spmm_csr
};
const char* precision_name(Precision p) noexcept;   // "fp32", "fp16", "int8", "int4", "csr"

// The int8 precision's symmetric weight scale for one output channel: max|w| / 127, 1 for an all-zero channel, and
// at least FLT_MIN (a subnormal scale may be flushed to zero on the device; QuantParams rejects it). Weights are
// finite here (load() and lower() reject the others).
float int8_weight_scale(std::span<const float> channel);

struct LayerChoice {
  Precision precision = Precision::fp32;
  int group = 32;                        // int4: 32, 64 or 128
  double sparsity = 0.0;                 // csr: fraction of weights pruned (global magnitude threshold)
  std::optional<QuantParams> act;        // int8: the activations' u8 parameters (required)
  std::string label() const;             // "fp32", "fp16", "int8", "int4-g32", "csr-90%"
  bool operator==(const LayerChoice& o) const;
};

struct StepTiming {
  double device_ms = 0;     // first kernel start to last kernel end (OpenCL events)
  int kernels = 0;
};

class Executor {
 public:
  // choices: one per step (ignored for non-compute steps); empty = fp32 everywhere.
  Executor(Context& context, const Graph& graph, std::vector<Step> steps, std::vector<LayerChoice> choices = {});
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Runs the model on one batch. inputs: every graph input by name (its declared type; symbolic dims free).
  // Returns every graph output. Throws InvalidArgument naming the input for a wrong type or shape.
  std::map<std::string, HostTensor> run(const std::map<std::string, HostTensor>& inputs);
  // Per step of the last run.
  const std::vector<StepTiming>& timings() const { return timings_; }
  const std::vector<Step>& steps() const { return steps_; }
  const std::vector<LayerChoice>& choices() const { return choices_; }
  // Changes one compute layer's choice (its weights are packed again on the next run).
  void set_choice(std::size_t step, const LayerChoice& choice);
  // Device bytes of the packed weights of step (0 before the first run); the weights' bytes in the model's fp32.
  std::uint64_t weight_bytes(std::size_t step) const;
  // Values computed for every step's output in the last run, kept when keep_values is set (for calibration).
  void keep_values(bool keep) { keep_values_ = keep; }
  const std::map<std::string, HostTensor>& kept_values() const { return kept_; }
  // Runs every step this many times back to back (same inputs, same output) and reports the median repetition:
  // the cost model's calibration times steps in the steady state a model's run keeps them in (1 by default).
  void set_repeats(int repeats) { repeats_ = std::max(1, repeats); }
  // Tests: fill every activation buffer with NaN bit patterns (0xff bytes) when a step takes it, so that an element
  // a kernel fails to write shows in the output.
  void poison_buffers(bool poison);
  // Shapes of every value in the last run.
  const ShapeMap& shapes() const { return shapes_; }

  struct State;   // per-step prepared data (packed weights, constant buffers)

 private:
  Context& ctx_;
  const Graph& graph_;
  std::vector<Step> steps_;
  std::vector<LayerChoice> choices_;
  std::vector<std::unique_ptr<State>> states_;
  std::vector<StepTiming> timings_;
  ShapeMap shapes_;
  bool keep_values_ = false;
  int repeats_ = 1;
  std::map<std::string, HostTensor> kept_;
  struct Pool;
  std::unique_ptr<Pool> pool_;
};

}  // namespace ellesmere::pipeline
