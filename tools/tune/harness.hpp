// Tuner harnesses: one problem's seeded inputs on a Context, a launch of any Impl of that problem's op with given
// Params, and a check of the output against the Eigen reference. ellesmere-tune verifies and times every candidate
// through them; the tuner tests plant wrong variants through them. Adding an op adds one harness in harness.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ellesmere/device.hpp"
#include "ops/impl.hpp"

namespace ellesmere::tune {

class Harness {
 public:
  virtual ~Harness() = default;
  virtual const std::string& problem() const = 0;
  // "" when impl can run this problem on the harness's device, else why not (wrong op, the Impl's own reason).
  virtual std::string applicable(const ops::ImplBase& impl) const = 0;
  // Fills the output with a value no correct kernel writes, so an element a variant skips is caught by check().
  virtual void poison() = 0;
  // Enqueues impl with complete Params on the harness's inputs and returns the launch's events (does not wait).
  virtual EventList run(const ops::ImplBase& impl, const ops::Params& params) = 0;
  // Compares the output with the reference (computed on first use): "" when within the op's tolerance, else what is
  // wrong ("element 17 never written", "relative error 0.31 > 1e-05", "element 3: 1204 != 1180").
  virtual std::string check() = 0;
};

// Ops with a harness ("gemm_f32", "gemm_i8", "gemm_wq", "spmm_csr", "conv_f16", "quantize_linear", ...).
std::vector<std::string> harness_ops();
// A harness for problem (canonical text) on context, with inputs from seed. Throws NotSupported for an op without a
// harness, InvalidArgument for a malformed problem.
std::unique_ptr<Harness> make_harness(Context& context, const std::string& problem, std::uint64_t seed);
// The Impl the op's dispatch runs for problem on context's device when the caller names none (what `--op` tunes);
// "" when none applies. Throws NotSupported for an op without a harness.
std::string dispatch_choice(Context& context, const std::string& problem);
// The small problem candidates are verified on: the same op, flags and (for GEMV-sized M) rows, with each other
// dimension cut to an odd size a few tiles wide, so edge handling runs; the problem itself when already small.
std::string verification_problem(const std::string& problem);

}  // namespace ellesmere::tune
