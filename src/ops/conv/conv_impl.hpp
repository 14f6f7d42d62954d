// The FP16 convolution Impl interface and its ordered list (conv_list.cpp). Each Impl file implements one variant;
// conv.cpp holds the public entry point, the problem text and the argument checks.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ellesmere/ops.hpp"
#include "ops/impl.hpp"
#include "runtime/context_impl.hpp"

namespace ellesmere::ops {

// What a launch needs beyond the problem.
struct ConvArgs {
  cl_mem x = nullptr;          // N x C x H x W halves (floats with f32_storage below, as W, Y and the residual)
  cl_mem w = nullptr;          // K x C/G x R x S halves
  cl_mem y = nullptr;          // N x K x OH x OW halves
  cl_mem bias = nullptr;       // optional, K floats
  cl_mem residual = nullptr;   // optional, halves shaped as Y
  ConvEpilogue::Activation activation = ConvEpilogue::Activation::none;
  float clip_min = 0.0f;
  float clip_max = 0.0f;
  // X, W, Y and the residual in fp32 instead of half (kernels built with -DCONV_STORE_F32): not offered by the public
  // API; the benchmarks run it beside the half storage to measure what half storage saves.
  bool f32_storage = false;

  // The defines f32_storage adds to the build options ("" or " -DCONV_STORE_F32").
  std::string storage_defines() const { return f32_storage ? " -DCONV_STORE_F32" : ""; }
  // The kernels' epilogue switches (kernels/conv/conv_common.h: EPI_BIAS 1, EPI_RESIDUAL 2, EPI_RELU 4, EPI_CLIP 8).
  cl_int epilogue_flags() const;
};

class ConvImpl : public ImplBase {
 public:
  std::string op() const override { return "conv_f16"; }
  // "" when this Impl can run the problem on the device at all, else why not.
  virtual std::string applicable(const ConvProblem& problem, const DeviceInfo& device) const = 0;
  // "" when this Impl is the right choice among those that can run the problem, else why another suits better.
  // Dispatch asks it only when the caller named no Impl; the list's last Impl suits everything.
  virtual std::string suited(const ConvProblem&, const DeviceInfo&) const { return {}; }
  // ops: 2 x outputs x Cg R S. bytes: X, W and Y once each in half (2 bytes), plus whatever the Impl writes and
  // reads back in between (Winograd's transformed tiles, the staging passes' copies).
  virtual Traffic traffic(const ConvProblem& problem, const Params& params) const;
  // Every kernel a launch enqueues, in order (staging passes first).
  virtual std::vector<LaunchShape> shapes(const ConvProblem& problem, const Params& params) const = 0;
  // Enqueues the convolution with complete Params.
  virtual EventList launch(detail::ContextImpl& context, const ConvProblem& problem, const Params& params,
                           const ConvArgs& args) const = 0;

  std::vector<LaunchShape> launch_shapes(std::string_view problem, const Params& params) const override;
  // params with WPACK / XPAD turned off where the staged copy would have 2^31 or more elements (the kernels index
  // with 32-bit ints; the Impl's own limits are X, W and Y's), LTILE (conv_f16_depthwise) where its local tile
  // would pass 32 KiB, and XSUB (conv_f16_gemm1x1) at stride 1, where it has nothing to do: what launch_single
  // builds and runs.
  static Params staged_params(const ConvProblem& problem, const Params& params);
  // The staging passes' shapes, for shapes(): the weight packing (WPACK=1), the subsampling of a strided 1x1
  // layer's inputs (XSUB=1, conv_f16_gemm1x1), then the input padding (XPAD=1).
  static std::vector<LaunchShape> staging_shapes(const ConvProblem& problem, const Params& params);
  // Their bytes beyond X, W and Y read once: the fp32 weight copy written and read instead of W (WPACK), the
  // subsampled (XSUB) or padded (XPAD) copy of X written and read instead of X; f32_storage: X in fp32.
  static double staging_bytes(const ConvProblem& problem, const Params& params, bool f32_storage = false);
  // Params' defines plus the problem's window, strides and dilations (R, S, SU, SV, DH, DW), which the kernels
  // take at compile time so that their loops unroll.
  std::string build_options(std::string_view problem, const Params& params) const override;
  static std::string window_defines(const ConvProblem& problem);

 protected:
  // VW (1, 2, 4, 8, 16) and, when the space has it, KPT (1..32); "" when valid.
  static std::string check_vector_params(const Params& params);
  // An LX x LY work-group against the device's limits; "" when it fits.
  static std::string check_work_group(int lx, int ly, const DeviceInfo& device);
  // Enqueues the staging passes Params ask for (WPACK=1, XSUB=1, XPAD=1: kernels/conv/conv_staging.h; as
  // staged_params allows them), then the one kernel of shape with the arguments every single-kernel Impl takes:
  // (N, C, H, W, K, OH, OW, PT, PL, G, X, W, bias, residual, epilogue flags, clip_min, clip_max, Y), X and W being
  // the staged copies where there are some (and H, W, PT, PL the subsampled or padded copy's).
  EventList launch_single(detail::ContextImpl& context, const ConvProblem& problem, const Params& params,
                          const ConvArgs& args, const LaunchShape& shape) const;
  // WPACK and XPAD, each {0, 1}, off by default (GCN's choice), for the spaces of the Impls that stage.
  static std::vector<ParamDef> staging_params(bool with_input_padding);
};

const std::vector<std::unique_ptr<ConvImpl>>& conv_list();
// The Impl conv2d_f16 runs (requested: "" to choose by applicable() then suited(), or an Impl's name) and its
// looked-up Params; throws as choose_impl does.
std::pair<const ConvImpl*, Params> choose_conv(const ConvProblem& problem, const DeviceInfo& device,
                                               const std::string& requested);
std::unique_ptr<ConvImpl> make_conv_f16_winograd();
std::unique_ptr<ConvImpl> make_conv_f16_winograd4();
std::unique_ptr<ConvImpl> make_conv_f16_depthwise();
std::unique_ptr<ConvImpl> make_conv_f16_gemm1x1();
std::unique_ptr<ConvImpl> make_conv_f16_direct();
std::unique_ptr<ConvImpl> make_conv_f16_igemm();

}  // namespace ellesmere::ops
