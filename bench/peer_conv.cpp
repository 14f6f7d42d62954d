// Convolution peers: CLBlast Convgemm (OpenCL device), OpenCV DNN's Convolution layer (host CPU, and its OpenCL
// target), each checked once against a naive direct convolution.
#include "peer_conv.hpp"

#include <clblast.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <functional>
#include <iostream>
#include <map>
#include <span>
#include <vector>

#include <fmt/format.h>

#include "bench_common.hpp"
#include "ellesmere/error.hpp"
#include "reference/reference.hpp"
#include "runtime/context_impl.hpp"

#ifdef ELLESMERE_HAVE_OPENCV_DNN
#include <opencv2/core.hpp>
#include <opencv2/core/ocl.hpp>
#include <opencv2/dnn.hpp>

// OpenCV's OpenCL loader calls every OpenCL function through a pointer that libopencv_core exports (declared in
// opencv2/core/opencl/runtime/opencl_core.hpp, a replacement for CL/cl.h that cannot be included beside it). The
// OpenCL-target row swaps in a counting wrapper for one forward() to tell whether OpenCV really ran OpenCL kernels:
// its layers fall back to their CPU code silently when their OpenCL path fails.
using ClEnqueueNdRangeKernelFn = cl_int(CL_API_CALL*)(cl_command_queue, cl_kernel, cl_uint, const size_t*,
                                                      const size_t*, const size_t*, cl_uint, const cl_event*,
                                                      cl_event*);
extern ClEnqueueNdRangeKernelFn clEnqueueNDRangeKernel_pfn;
#endif

namespace ellesmere::bench {
namespace {

// Relative L2 error a peer's fp32 output may have against the double-accumulated reference. fp32 sums of C/G*R*S
// products (at most a few thousand) in any order, or Winograd's transforms, stay below 1e-5 on inputs in [-1, 1)
// (1e-7 to 5e-7 measured); one output element wrong by its own size moves the norm by about 1/sqrt(elements),
// 1e-3 at a million, and a wrong index or pad moves it by far more.
constexpr double kConvPeerTolerance = 1e-4;

// CLBlast runs a grouped convolution as one call per image and group; more than this many calls is no benchmark.
constexpr std::int64_t kMaxClblastCalls = 4096;

// A key of every field (ConvProblem::str() belongs to the library's problem parser, not needed here).
std::string key_of(const ConvProblem& p) {
  return fmt::format("n{}c{}h{}w{}k{}r{}s{}p{},{},{},{}u{},{}d{},{}g{}", p.n, p.c, p.h, p.w, p.k, p.r, p.s, p.pad_top,
                     p.pad_left, p.pad_bottom, p.pad_right, p.stride_h, p.stride_w, p.dilation_h, p.dilation_w,
                     p.groups);
}

// Y = conv(X, W) as ONNX's Conv defines it (cross-correlation, zero padding, no bias), accumulated in double.
std::vector<float> conv_direct_ref(const ConvProblem& p, std::span<const float> x, std::span<const float> w) {
  const std::int64_t oh = p.out_h(), ow = p.out_w(), cpg = p.c_per_group(), kpg = p.k_per_group();
  std::vector<float> y(std::size_t(p.output_elements()));
  const std::int64_t planes = p.n * p.k;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic)
#endif
  for (std::int64_t nk = 0; nk < planes; ++nk) {
    const std::int64_t b = nk / p.k, kk = nk % p.k, g = kk / kpg;
    std::vector<double> acc(std::size_t(oh * ow), 0.0);
    for (std::int64_t ci = 0; ci < cpg; ++ci) {
      const float* plane = x.data() + ((b * p.c + g * cpg + ci) * p.h) * p.w;
      for (std::int64_t rr = 0; rr < p.r; ++rr) {
        for (std::int64_t ss = 0; ss < p.s; ++ss) {
          const double wv = w[std::size_t(((kk * cpg + ci) * p.r + rr) * p.s + ss)];
          for (std::int64_t oy = 0; oy < oh; ++oy) {
            const std::int64_t iy = oy * p.stride_h - p.pad_top + rr * p.dilation_h;
            if (iy < 0 || iy >= p.h) continue;
            for (std::int64_t ox = 0; ox < ow; ++ox) {
              const std::int64_t ix = ox * p.stride_w - p.pad_left + ss * p.dilation_w;
              if (ix < 0 || ix >= p.w) continue;
              acc[std::size_t(oy * ow + ox)] += wv * double(plane[iy * p.w + ix]);
            }
          }
        }
      }
    }
    float* out = y.data() + nk * oh * ow;
    for (std::int64_t i = 0; i < oh * ow; ++i) out[i] = float(acc[std::size_t(i)]);
  }
  return y;
}

// The inputs every peer of a problem uses and their reference output, made once per problem.
struct ConvData {
  std::vector<float> x, w, y_ref;
};

const ConvData& conv_data(const ConvProblem& p) {
  static std::map<std::string, ConvData> cache;
  const std::string key = key_of(p);
  auto it = cache.find(key);
  if (it == cache.end()) {
    ConvData d;
    d.x = reference::random_floats(std::size_t(p.input_elements()), 1);
    d.w = reference::random_floats(std::size_t(p.weight_elements()), 2);
    d.y_ref = conv_direct_ref(p, d.x, d.w);
    it = cache.emplace(key, std::move(d)).first;
  }
  return it->second;
}

// A peer's output against the reference: error empty when within kConvPeerTolerance, else what is wrong.
struct Check {
  std::string error;
  double rel_err = 0;
  std::string text() const { return fmt::format("checked: rel. L2 error {:.1e}", rel_err); }
};

Check compare_to_reference(std::span<const float> out, const ConvData& d) {
  if (out.size() != d.y_ref.size()) {
    return {fmt::format("output has {} elements, the reference {}", out.size(), d.y_ref.size())};
  }
  Check c;
  c.rel_err = reference::relative_error(out, d.y_ref);
  if (!(c.rel_err <= kConvPeerTolerance)) {
    c.error = fmt::format("wrong result: relative L2 error {:.3g} against the direct convolution (bound {:.0e}), "
                          "max abs error {:.3g}",
                          c.rel_err, kConvPeerTolerance, reference::max_abs_error(out, d.y_ref));
  }
  return c;
}

// Runs check() the first time a row runs (Google Benchmark calls a row's function several times) and returns its
// verdict then and after; an exception becomes the error.
const Check& verdict(const std::string& row, const std::function<Check()>& check) {
  static std::map<std::string, Check> verdicts;
  auto it = verdicts.find(row);
  if (it == verdicts.end()) {
    Check v;
    try {
      v = check();
    } catch (const std::exception& e) {
      v.error = e.what();
    }
    it = verdicts.emplace(row, std::move(v)).first;
  }
  return it->second;
}

ops::Traffic conv_traffic(const ConvProblem& p) {
  return {p.flops(), 4.0 * double(p.input_elements() + p.weight_elements() + p.output_elements())};
}

void print_once(const std::string& line) {
  static std::map<std::string, bool> said;
  if (!said[line]) std::cerr << line << "\n";
  said[line] = true;
}

}  // namespace

// ---- CLBlast Convgemm -------------------------------------------------------------------------------------------

void register_peer_clblast_convgemm(const std::string& label, const ConvProblem& p) {
  const std::int64_t calls = p.groups == 1 ? 1 : p.n * p.groups;
  if (calls > kMaxClblastCalls) {
    print_once(fmt::format("peer_clblast_convgemm/{} skipped: CLBlast has no grouped convolution, and N x groups = {} "
                           "calls (one per image and group) exceed {}",
                           label, calls, kMaxClblastCalls));
    return;
  }
  const std::string row = "peer_clblast_convgemm/" + label;
  benchmark::RegisterBenchmark(
      row.c_str(),
      [p, row, calls](benchmark::State& state) {
        Context& ctx = env().context;
        const ConvData& d = conv_data(p);
        const bool symmetric = p.pad_top == p.pad_bottom && p.pad_left == p.pad_right;
        // Asymmetric pads: Convgemm without padding over a copy of X with zero borders.
        const std::int64_t hp = symmetric ? p.h : p.h + p.pad_top + p.pad_bottom;
        const std::int64_t wp = symmetric ? p.w : p.w + p.pad_left + p.pad_right;
        const std::size_t pad_h = symmetric ? std::size_t(p.pad_top) : 0;
        const std::size_t pad_w = symmetric ? std::size_t(p.pad_left) : 0;
        const std::int64_t cpg = p.c_per_group(), kpg = p.k_per_group(), oh = p.out_h(), ow = p.out_w();
        Buffer<float> x(ctx, std::span<const float>(d.x), "X"), w(ctx, std::span<const float>(d.w), "W");
        Buffer<float> y(ctx, std::size_t(p.output_elements()), "Y");
        Buffer<float> x_padded;
        if (!symmetric) {
          x_padded = Buffer<float>(ctx, std::size_t(p.n * p.c * hp * wp), "zero-bordered X");
          x_padded.fill(0.0f);
        }
        cl_command_queue queue = ctx.cl_queue_handle();
        auto run = [&]() -> EventList {
          EventList events;
          // CLBlast waits on the host between its im2col and GEMM kernels and returns only the last event: the
          // marker before it makes span_ns() cover the whole call.
          events.add(ctx.impl().marker());
          cl_mem im = x.handle();
          if (!symmetric) {
            const std::size_t src_origin[3] = {0, 0, 0};
            const std::size_t dst_origin[3] = {std::size_t(p.pad_left) * 4, std::size_t(p.pad_top), 0};
            const std::size_t region[3] = {std::size_t(p.w) * 4, std::size_t(p.h), std::size_t(p.n * p.c)};
            const cl_int status = clEnqueueCopyBufferRect(
                queue, x.handle(), x_padded.handle(), src_origin, dst_origin, region, std::size_t(p.w) * 4,
                std::size_t(p.h * p.w) * 4, std::size_t(wp) * 4, std::size_t(hp * wp) * 4, 0, nullptr, nullptr);
            if (status != CL_SUCCESS) throw ClError(status, "clEnqueueCopyBufferRect", "zero-bordering X for " + row);
            im = x_padded.handle();
          }
          cl_event last = nullptr;
          const std::int64_t images = p.groups == 1 ? 1 : p.n;   // calls over images (groups == 1: one batched call)
          for (std::int64_t b = 0; b < images; ++b) {
            for (std::int64_t g = 0; g < p.groups; ++g) {
              cl_event event = nullptr;
              const auto status = clblast::Convgemm<float>(
                  clblast::KernelMode::kCrossCorrelation, std::size_t(cpg), std::size_t(hp), std::size_t(wp),
                  std::size_t(p.r), std::size_t(p.s), pad_h, pad_w, std::size_t(p.stride_h), std::size_t(p.stride_w),
                  std::size_t(p.dilation_h), std::size_t(p.dilation_w), std::size_t(kpg),
                  std::size_t(p.groups == 1 ? p.n : 1), im, std::size_t((b * p.c + g * cpg) * hp * wp), w.handle(),
                  std::size_t(g * kpg * cpg * p.r * p.s), y.handle(), std::size_t((b * p.k + g * kpg) * oh * ow),
                  &queue, &event);
              if (status != clblast::StatusCode::kSuccess) {
                if (event) clReleaseEvent(event);
                if (last) clReleaseEvent(last);
                throw ClError(int(status), "clblast::Convgemm", row);
              }
              if (last) clReleaseEvent(last);
              last = event;
            }
          }
          events.add(last);
          return events;
        };
        const Check& check = verdict(row, [&] {
          run().wait();
          return compare_to_reference(y.to_vector(), d);
        });
        if (!check.error.empty()) {
          state.SkipWithError(check.error.c_str());
          return;
        }
        state.SetLabel(fmt::format(
            "CLBlast Convgemm (im2col + GEMM) on {}, fp32, {}{}, {}", ctx.device().name,
            p.groups == 1 ? "one call batched over N" : fmt::format("{} calls (one per image and group)", calls),
            symmetric ? "" : ", asymmetric pads: zero-bordered copy of X timed", check.text()));
        time_device(state, conv_traffic(p), env().profile.fp32_gflops * 1e9, run);
      })
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
}

// ---- OpenCV DNN -------------------------------------------------------------------------------------------------

#ifdef ELLESMERE_HAVE_OPENCV_DNN
namespace {

// Counts OpenCV's clEnqueueNDRangeKernel calls while alive (one thread; OpenCV enqueues from the calling thread).
std::atomic<long> g_launches{0};
ClEnqueueNdRangeKernelFn g_enqueue = nullptr;
cl_int CL_API_CALL counting_enqueue(cl_command_queue q, cl_kernel k, cl_uint dims, const size_t* offset,
                                    const size_t* global, const size_t* local, cl_uint waits, const cl_event* wait,
                                    cl_event* event) {
  ++g_launches;
  return g_enqueue(q, k, dims, offset, global, local, waits, wait, event);
}
class CountLaunches {
 public:
  CountLaunches() {
    g_launches = 0;
    g_enqueue = clEnqueueNDRangeKernel_pfn;
    clEnqueueNDRangeKernel_pfn = &counting_enqueue;
  }
  // Before its first call the pointer is OpenCV's lazy loader, which replaces it with the driver's function: then
  // the wrapper sees only that first call, which is enough to tell "some" from "none".
  ~CountLaunches() {
    if (clEnqueueNDRangeKernel_pfn == &counting_enqueue) clEnqueueNDRangeKernel_pfn = g_enqueue;
  }
  CountLaunches(const CountLaunches&) = delete;
  CountLaunches& operator=(const CountLaunches&) = delete;
  long count() const { return g_launches; }
};

bool asymmetric_pads(const ConvProblem& p) { return p.pad_top != p.pad_bottom || p.pad_left != p.pad_right; }

std::string padding_note(const ConvProblem& p) {
  return asymmetric_pads(p) ? ", asymmetric pads: Padding layer before the convolution" : "";
}

// A one-layer net: OpenCV's Convolution layer with p's geometry and weights w (K x C/G x R x S), no bias. OpenCV
// 4.6's Convolution rejects asymmetric pads ("Unsupported asymmetric padding"): those get a Padding layer (zeros)
// before an unpadded Convolution, as OpenCV's importers build it.
cv::dnn::Net make_net(const ConvProblem& p, std::span<const float> w, int target) {
  cv::dnn::Net net;
  const bool pad_layer = asymmetric_pads(p);
  if (pad_layer) {
    cv::dnn::LayerParams pad;
    pad.name = "pad";
    pad.type = "Padding";
    const int paddings[8] = {0, 0, 0, 0, int(p.pad_top), int(p.pad_bottom), int(p.pad_left), int(p.pad_right)};
    pad.set("paddings", cv::dnn::DictValue::arrayInt(paddings, 8));
    net.addLayerToPrev(pad.name, pad.type, pad);
  }
  cv::dnn::LayerParams lp;
  lp.name = "conv";
  lp.type = "Convolution";
  lp.set("kernel_h", int(p.r));
  lp.set("kernel_w", int(p.s));
  lp.set("stride_h", int(p.stride_h));
  lp.set("stride_w", int(p.stride_w));
  lp.set("dilation_h", int(p.dilation_h));
  lp.set("dilation_w", int(p.dilation_w));
  lp.set("pad_t", pad_layer ? 0 : int(p.pad_top));
  lp.set("pad_l", pad_layer ? 0 : int(p.pad_left));
  lp.set("pad_b", pad_layer ? 0 : int(p.pad_bottom));
  lp.set("pad_r", pad_layer ? 0 : int(p.pad_right));
  lp.set("group", int(p.groups));
  lp.set("num_output", int(p.k));
  lp.set("bias_term", false);
  const int shape[] = {int(p.k), int(p.c_per_group()), int(p.r), int(p.s)};
  cv::Mat weights(4, shape, CV_32F);
  std::copy(w.begin(), w.end(), weights.ptr<float>());
  lp.blobs.push_back(weights);
  net.addLayerToPrev(lp.name, lp.type, lp);
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net.setPreferableTarget(target);
  return net;
}

cv::Mat input_blob(const ConvProblem& p, std::span<const float> x) {
  const int shape[] = {int(p.n), int(p.c), int(p.h), int(p.w)};
  cv::Mat blob(4, shape, CV_32F);
  std::copy(x.begin(), x.end(), blob.ptr<float>());
  return blob;
}

std::span<const float> floats_of(const cv::Mat& m) {
  return {m.ptr<float>(), m.total()};
}

// One OpenCL-target forward() into outputs, finished; returns the OpenCL kernels it launched and sets *fell_back
// when the net runs on the CPU target instead (OpenCV's setUpNet switched it: the layer is dumped as OCV/CPU).
long forward_ocl_counted(cv::dnn::Net& net, std::vector<cv::UMat>& outputs, bool* fell_back) {
  long launches = 0;
  {
    CountLaunches counter;
    net.forward(outputs);
    cv::ocl::finish();
    launches = counter.count();
  }
  *fell_back = net.dump().find("OCV/OCL") == std::string::npos;
  return launches;
}

std::string ocl_device_text() {
  const cv::ocl::Device& dev = cv::ocl::Device::getDefault();
  return fmt::format("{} ({}, {})", dev.name(), dev.vendorName(), dev.version());
}

// Whether OpenCV's OpenCL target runs a convolution here: "" if so, else why not. Probed once, on a small net.
const std::string& opencv_ocl_unusable() {
  static const std::string why = []() -> std::string {
    // OpenCV reads these when it first creates its OpenCL context, which is not yet.
    const bool cpu = env().context.device().type == DeviceType::cpu;
    setenv("OPENCV_OPENCL_DEVICE", cpu ? ":CPU:" : ":GPU:", 0);
    setenv("OPENCV_DNN_OPENCL_ALLOW_ALL_DEVICES", "1", 0);
    const std::string selector = std::getenv("OPENCV_OPENCL_DEVICE");
    if (!cv::ocl::haveOpenCL()) return "cv::ocl::haveOpenCL() is false: OpenCV found no OpenCL runtime or platform";
    cv::ocl::setUseOpenCL(true);
    if (!cv::ocl::useOpenCL()) {
      return fmt::format("cv::ocl::useOpenCL() is false: no OpenCL device matches OPENCV_OPENCL_DEVICE={}", selector);
    }
    try {
      ConvProblem q;
      q.c = 8;
      q.h = 8;
      q.w = 8;
      q.k = 8;
      q.r = 3;
      q.s = 3;
      q.pad_top = q.pad_left = q.pad_bottom = q.pad_right = 1;
      const auto w = reference::random_floats(std::size_t(q.weight_elements()), 2);
      cv::dnn::Net net = make_net(q, w, cv::dnn::DNN_TARGET_OPENCL);
      net.setInput(input_blob(q, reference::random_floats(std::size_t(q.input_elements()), 1)));
      std::vector<cv::UMat> outputs;
      net.forward(outputs);   // builds OpenCV's programs, resolves its OpenCL entry points
      cv::ocl::finish();
      bool fell_back = false;
      const long launches = forward_ocl_counted(net, outputs, &fell_back);
      if (fell_back) {
        return fmt::format("the net fell back to the CPU target on {} (OPENCV_DNN_OPENCL_ALLOW_ALL_DEVICES={}: "
                           "OpenCV's DNN takes only GPUs unless it is 1)",
                           ocl_device_text(), std::getenv("OPENCV_DNN_OPENCL_ALLOW_ALL_DEVICES"));
      }
      if (launches == 0) {
        return fmt::format("a 3x3 convolution launched no OpenCL kernel on {}: OpenCV's OpenCL path failed and its "
                           "CPU code ran instead",
                           ocl_device_text());
      }
    } catch (const std::exception& e) {
      return fmt::format("OpenCV's OpenCL target failed on {}: {}", ocl_device_text(), e.what());
    }
    return {};
  }();
  return why;
}

}  // namespace
#endif

void register_peer_opencv_conv(const std::string& label, const ConvProblem& p) {
#ifdef ELLESMERE_HAVE_OPENCV_DNN
  const std::string row = "peer_opencv_conv/" + label;
  benchmark::RegisterBenchmark(
      row.c_str(),
      [p, row](benchmark::State& state) {
        const ConvData& d = conv_data(p);
        cv::dnn::Net net = make_net(p, d.w, cv::dnn::DNN_TARGET_CPU);
        net.setInput(input_blob(p, d.x));
        cv::Mat y;
        const Check& check = verdict(row, [&] {
          y = net.forward();
          return compare_to_reference(floats_of(y), d);
        });
        if (!check.error.empty()) {
          state.SkipWithError(check.error.c_str());
          return;
        }
        state.SetLabel(fmt::format("host CPU, OpenCV {} DNN (OpenCV backend, CPU target), {} threads, fp32{}, {}",
                                   CV_VERSION, cv::getNumThreads(), padding_note(p), check.text()));
        time_host(state, conv_traffic(p), env().profile.fp32_gflops * 1e9, [&] {
          y = net.forward();
          benchmark::DoNotOptimize(y.data);
        });
      })
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
#else
  print_once("peer_opencv_conv skipped: OpenCV DNN not found at build time");
  (void)label;
  (void)p;
#endif
}

void register_peer_opencv_conv_ocl(const std::string& label, const ConvProblem& p) {
#ifdef ELLESMERE_HAVE_OPENCV_DNN
  if (const std::string& why = opencv_ocl_unusable(); !why.empty()) {
    print_once("peer_opencv_conv_ocl skipped: " + why);
    return;
  }
  const std::string row = "peer_opencv_conv_ocl/" + label;
  benchmark::RegisterBenchmark(
      row.c_str(),
      [p, row](benchmark::State& state) {
        const ConvData& d = conv_data(p);
        cv::dnn::Net net = make_net(p, d.w, cv::dnn::DNN_TARGET_OPENCL);
        net.setInput(input_blob(p, d.x));
        std::vector<cv::UMat> outputs;
        long launches = 0;
        bool fell_back = false;
        try {
          net.forward(outputs);   // builds (or loads) OpenCV's programs for this shape
          cv::ocl::finish();
          launches = forward_ocl_counted(net, outputs, &fell_back);
        } catch (const std::exception& e) {
          state.SkipWithError(e.what());
          return;
        }
        if (fell_back || launches == 0) {
          state.SkipWithError(fell_back ? "OpenCV ran the net on its CPU target instead of OpenCL"
                                        : "OpenCV launched no OpenCL kernel: its OpenCL convolution failed and its CPU "
                                          "code ran instead");
          return;
        }
        const Check& check = verdict(row, [&] {
          cv::Mat y;
          outputs.at(0).copyTo(y);
          return compare_to_reference(floats_of(y), d);
        });
        if (!check.error.empty()) {
          state.SkipWithError(check.error.c_str());
          return;
        }
        state.SetLabel(fmt::format("OpenCV {} DNN, OpenCL target on {}, {} OpenCL kernel launch(es) per forward, "
                                   "fp32{}, {}",
                                   CV_VERSION, ocl_device_text(), launches, padding_note(p), check.text()));
        time_host(state, conv_traffic(p), env().profile.fp32_gflops * 1e9, [&] {
          net.forward(outputs);
          cv::ocl::finish();
        });
      })
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
#else
  print_once("peer_opencv_conv_ocl skipped: OpenCV DNN not found at build time");
  (void)label;
  (void)p;
#endif
}

}  // namespace ellesmere::bench
