// Peer libraries' 2-D convolutions benchmarked beside ours, under the names peer_<library>_<routine>/<label>, label
// being the problem text of ours they stand beside. All compute Y = conv(X, W) in fp32 with ONNX semantics (NCHW
// input, OIHW weights, cross-correlation, no bias) on seeded inputs in [-1, 1): X from seed 1, W from seed 2.
// Before timing, each row checks its output once against a naive direct convolution accumulated in double
// (relative L2 error <= 1e-4) and fails the row (SkipWithError) otherwise.
// Counters as every row: GFLOPS = p.flops() / time, GBps = 4 bytes x (X + W + Y elements) / time, pct_peak.
#pragma once

#include <string>

#include "ellesmere/ops.hpp"

namespace ellesmere::bench {

// peer_clblast_convgemm/<label>: CLBlast's Convgemm<float> (im2col into a temporary buffer, then its direct GEMM
// kernel; KernelMode::kCrossCorrelation) on the OpenCL device and queue ours run on, timed with OpenCL events
// from a marker before the call to CLBlast's last event. One call batched over N when groups == 1. CLBlast has
// no grouped convolution: groups > 1 runs one call per image and group (N x G calls, the per-call cost included;
// registered only up to 4096 calls, else a printed reason). CLBlast pads symmetrically only: asymmetric pads run on
// a zero-bordered copy of X made on the device in the same timed span (one clEnqueueCopyBufferRect).
void register_peer_clblast_convgemm(const std::string& label, const ConvProblem& p);

// peer_opencv_conv/<label>: OpenCV DNN's Convolution layer as a one-layer cv::dnn::Net (DNN_BACKEND_OPENCV,
// DNN_TARGET_CPU), batch p.n, all of OpenCV's threads (cv::getNumThreads()), wall clock per forward(). OpenCV
// chooses its own algorithm (Winograd for some 3x3 stride-1 layers). Without OpenCV DNN at build time, prints once
// "peer_opencv_conv skipped: OpenCV DNN not found at build time" and registers nothing.
void register_peer_opencv_conv(const std::string& label, const ConvProblem& p);

// peer_opencv_conv_ocl/<label>: the same net with DNN_TARGET_OPENCL (OpenCV's ocl4dnn kernels), wall clock per
// forward() into a cv::UMat then cv::ocl::finish() (OpenCV's upload of the input included, no download). OpenCV
// runs OpenCL on its own context: with OPENCV_OPENCL_DEVICE unset, this sets it to the type of ellesmere's device
// (":CPU:" for PoCL, ":GPU:" otherwise), and OPENCV_DNN_OPENCL_ALLOW_ALL_DEVICES=1 when unset (OpenCV otherwise
// refuses non-GPU devices). The first call probes a small net: when OpenCV has no usable OpenCL
// (cv::ocl::haveOpenCL() / useOpenCL() false), the net falls back to the CPU target, or the layer ran no OpenCL
// kernel (ocl4dnn failed and OpenCV silently used its CPU code), prints once which and why and registers nothing.
// Each row also counts the OpenCL kernels one forward() launches and fails if there are none.
void register_peer_opencv_conv_ocl(const std::string& label, const ConvProblem& p);

}  // namespace ellesmere::bench
