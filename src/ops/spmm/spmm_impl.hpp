// The sparse CSR product Impl interface and its ordered list (spmm_list.cpp). Each Impl file implements one
// variant; spmm.cpp holds the public entry points, problem text and the upload of a CsrMatrix.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ellesmere/formats/csr.h"
#include "ellesmere/ops.hpp"
#include "ops/impl.hpp"
#include "runtime/context_impl.hpp"

namespace ellesmere::detail {

// DeviceCsr's scratch for spmm_csr_f32_balanced's partial sums. The mutex is held from the scratch's check through
// both kernels' enqueue: launches on one in-order queue then run whole, one after the other, and never overwrite
// partials another launch has yet to read.
struct CsrScratch {
  std::mutex mutex;
  cl::Buffer buffer;
  std::size_t bytes = 0;
  // The last launch that used buffer, and its queue: a launch from another queue (a Context made by share(), on
  // another thread) waits for it, as queues are not ordered with one another.
  cl::Event last_use;
  cl::CommandQueue last_queue;
};

}  // namespace ellesmere::detail

namespace ellesmere::ops {

// What a launch needs beyond the problem.
struct SpmmArgs {
  const DeviceCsr* a = nullptr;
  cl_mem x = nullptr;      // K x N
  cl_mem y = nullptr;      // M x N
  cl_mem bias = nullptr;   // optional, M floats
  bool relu = false;
};

class SpmmImpl : public ImplBase {
 public:
  std::string op() const override { return "spmm_csr"; }
  // "" when this Impl can run the problem on the device at all, else why not.
  virtual std::string applicable(const SpmmProblem& problem, const DeviceInfo& device) const;
  // "" when the row statistics make this Impl the right choice, else why another suits better. Dispatch asks it
  // only when the caller named no Impl; the last Impl of the list suits everything.
  virtual std::string suited(const SpmmProblem& problem, const DeviceInfo& device) const = 0;
  // ops: 2 * nnz * N; bytes: values and indices once, row_ptr, X once (the ideal: every gathered row of X is
  // read from memory once and then hits in cache), Y once.
  Traffic traffic(const SpmmProblem& problem) const;
  virtual std::vector<LaunchShape> shapes(const SpmmProblem& problem, const Params& params) const = 0;
  // Enqueues the product with complete Params.
  virtual EventList launch(detail::ContextImpl& context, const SpmmProblem& problem, const Params& params,
                           const SpmmArgs& args) const = 0;

  std::vector<LaunchShape> launch_shapes(std::string_view problem, const Params& params) const override;
  // Params' defines (the problem adds none: N is a kernel argument).
  std::string build_options(std::string_view problem, const Params& params) const override;
  // HAS_BIAS and RELU, each 0 or 1.
  std::vector<std::string> variant_options() const override;

 protected:
  // The Params every Impl shares: VW (1..16) and WPT; "" when valid.
  static std::string check_vector_params(const Params& params);
  // " -DHAS_BIAS=.. -DRELU=.." for a launch.
  static std::string epilogue_options(const SpmmArgs& args);
  // An LC x LR work-group against the device's limits; "" when it fits.
  static std::string check_work_group(int lc, int lr, const DeviceInfo& device);
  // Enqueues the one kernel of shape with the arguments every single-kernel Impl takes:
  // (M, N, K, row_ptr, col_idx, values, X, bias, Y).
  EventList launch_row_kernel(detail::ContextImpl& ctx, const SpmmProblem& p, const Params& params,
                              const SpmmArgs& args, const LaunchShape& shape) const;
};

const std::vector<std::unique_ptr<SpmmImpl>>& spmm_list();
// The Impl spmm_csr runs (requested: "" to choose by applicable() then suited(), or an Impl's name) and its looked-up
// Params; throws as choose_impl does.
std::pair<const SpmmImpl*, Params> choose_spmm(const SpmmProblem& problem, const DeviceInfo& device,
                                               const std::string& requested);
std::unique_ptr<SpmmImpl> make_spmm_csr_f32_balanced();
std::unique_ptr<SpmmImpl> make_spmm_csr_f32_vector();
std::unique_ptr<SpmmImpl> make_spmm_csr_f32_row();

// Row lengths at or above this mean make a work-group per row worth its reduction on a GPU (a 64-wide wavefront
// then has at least one nonzero per lane).
inline constexpr double kSpmmLongRowMean = 64;

}  // namespace ellesmere::ops
