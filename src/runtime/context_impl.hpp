// What a Context holds: device, OpenCL context, in-order profiling queue, program cache and kernel objects.
// Internal; ops and Impls reach it through Context::impl().
// Threads: the OpenCL context and the program cache may be shared by several ContextImpls (Context::share()); the
// queue, kernel objects and scratch buffers belong to this one and to one thread at a time.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "ellesmere/device.hpp"
#include "runtime/cl.hpp"
#include "runtime/program_cache.hpp"

namespace ellesmere::detail {

struct ContextImpl {
  ContextImpl(cl::Device device, DeviceInfo info);
  // A ContextImpl on shared's device and OpenCL context, sharing its program cache, with its own queue, kernel
  // objects and scratch buffers.
  struct Share {};
  ContextImpl(const ContextImpl& shared, Share);

  // A kernel object from kernel_file built with options, cached per (file, options, kernel name). Its arguments
  // persist between uses: set all of them before every launch.
  cl::Kernel& kernel(const std::string& kernel_file, const std::string& kernel_name, const std::string& options);
  // Same for source text not in the registry.
  cl::Kernel& kernel_from_source(const std::string& name, const std::string& source, const std::string& kernel_name,
                                 const std::string& options);

  // Enqueues kernel over global/local and returns its event; the error names what was launched.
  cl::Event launch(cl::Kernel& kernel, const cl::NDRange& global, const cl::NDRange& local,
                   const std::string& what);

  // A device buffer of at least `bytes` kept under `name` for reuse by later calls (an Impl's intermediate data,
  // e.g. Winograd's transformed tiles): launches on the in-order queue run one after another, so a call may reuse
  // what the previous one wrote. At least kMinScratchBytes, so that small layers share one allocation; grown (after
  // a finish(), so the old buffer is idle) when a call needs more. Same threading rules as kernel().
  // oclgrind 21.10 note: a buffer created after others were freed may take a freed one's id and keep its old size
  // in the uninitialised-value shadow, so kernel-written values beyond that size read as uninitialised in the next
  // kernel (reproduced with two plain kernels; results are right). Under oclgrind, scratch buffers are therefore created
  // from a host copy of zeros, which it records at the full size (the conv staging passes' first buffer was
  // reported otherwise); small-shape runs fit in kMinScratchBytes and never grow.
  static constexpr std::size_t kMinScratchBytes = std::size_t(1) << 20;
  cl::Buffer& scratch(const std::string& name, std::size_t bytes);

  // Enqueues a marker and returns its event (owned by the caller). On an in-order queue it starts when everything
  // before it has finished: put one before a call that hides some of its kernels' events (CLBlast returns only
  // its last kernel's), and EventList::span_ns() covers the whole call.
  cl_event marker();

  DeviceInfo info;
  cl::Device device;
  cl::Context context;
  cl::CommandQueue queue;
  std::shared_ptr<runtime::ProgramCache> shared_programs;   // shared by every Context made with share()
  runtime::ProgramCache& programs;                          // *shared_programs; thread-safe

 private:
  cl::Kernel& kernel_of(const cl::Program& program, const std::string& cache_key, const std::string& kernel_name);
  std::map<std::string, cl::Kernel> kernels_;
  std::map<std::string, std::pair<cl::Buffer, std::size_t>> scratch_;
};

// Sets every argument of kernel in order; cl_mem handles go through the size/pointer form (the bindings refuse
// raw pointers). what names the kernel in an error.
inline void set_arg(cl::Kernel& kernel, cl_uint index, const std::string& what, cl_mem mem) {
  runtime::check(kernel.setArg(index, sizeof(cl_mem), &mem), "clSetKernelArg",
                 what + " argument " + std::to_string(index));
}
template <class T>
void set_arg(cl::Kernel& kernel, cl_uint index, const std::string& what, const T& value) {
  runtime::check(kernel.setArg(index, value), "clSetKernelArg", what + " argument " + std::to_string(index));
}
template <class... Args>
void set_args(cl::Kernel& kernel, const std::string& what, const Args&... args) {
  cl_uint index = 0;
  (set_arg(kernel, index++, what, args), ...);
}

// Adds a reference to event to events (the cl::Event keeps its own).
inline void track(EventList& events, const cl::Event& event) {
  clRetainEvent(event());
  events.add(event());
}

}  // namespace ellesmere::detail
