// The INT8 GEMM Impl interface and its ordered list (gemm_i8_list.cpp). Each Impl file implements one variant;
// gemm_i8.cpp holds the public entry points and the weight packer.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ellesmere/formats/int8_gemm.h"
#include "ellesmere/ops.hpp"
#include "ops/impl.hpp"
#include "runtime/context_impl.hpp"

namespace ellesmere::ops {

// What a launch needs beyond the problem: buffers and the epilogue, which also chooses kernel defines.
struct GemmI8Args {
  cl_mem a = nullptr;
  std::int32_t a_zero_point = 0;
  const PackedWeightsI8* b = nullptr;
  cl_mem c = nullptr;
  GemmI8Epilogue::Kind epilogue = GemmI8Epilogue::Kind::int32;
  QuantType out_type = QuantType::u8;   // requantize
  float a_scale = 1.0f;                 // dequantize: the kernel multiplies by a_scale * epi_scale[n]
  cl_mem epi_scale = nullptr;           // requantize: mult[n] = a_scale * b_scale[n] / y_scale; dequantize: b_scale[n]
  cl_mem bias = nullptr;                // dequantize, optional
  bool relu = false;
  std::int32_t y_zero_point = 0;
};

class GemmI8Impl : public ImplBase {
 public:
  std::string op() const override { return "gemm_i8"; }
  // "" when this Impl can run the problem on the device, else why not.
  virtual std::string applicable(const GemmI8Problem& problem, const DeviceInfo& device) const = 0;
  virtual Traffic traffic(const GemmI8Problem& problem) const;
  virtual std::vector<LaunchShape> shapes(const GemmI8Problem& problem, const Params& params) const = 0;
  // Enqueues the problem (m, n, k >= 1) with complete Params.
  EventList launch(detail::ContextImpl& context, const GemmI8Problem& problem, const Params& params,
                   const GemmI8Args& args) const;

  std::vector<LaunchShape> launch_shapes(std::string_view problem, const Params& params) const override;
  // Params' defines plus the problem's (A_TYPE, B_TYPE, and MROWS where the Impl has it).
  std::string build_options(std::string_view problem, const Params& params) const override;
  virtual std::string build_options(const GemmI8Problem& problem, const Params& params) const;
  // The epilogue's and the weights' defines (EPILOGUE, OUT_TYPE, HAS_BIAS, RELU, HAS_B_ZP).
  static std::string epilogue_options(const GemmI8Args& args);
  // Every combination epilogue_options() can produce.
  std::vector<std::string> variant_options() const override;

 protected:
  // The limits every INT8 Impl shares: K small enough for exact int32 sums, 32-bit indices.
  static std::string common_limits(const GemmI8Problem& problem);
};

const std::vector<std::unique_ptr<GemmI8Impl>>& gemm_i8_list();
std::unique_ptr<GemmI8Impl> make_gemm_i8_gemv();
std::unique_ptr<GemmI8Impl> make_gemm_i8_tile2d();

}  // namespace ellesmere::ops
