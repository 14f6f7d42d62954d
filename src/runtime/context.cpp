// Context (OpenCL context + profiling in-order queue), EventList and RawBuffer: the public runtime objects.
#include <algorithm>
#include <cstring>

#include <vector>

#include <fmt/format.h>

#include "ellesmere/device.hpp"
#include "ellesmere/error.hpp"
#include "runtime/cl.hpp"
#include "runtime/context_impl.hpp"
#include "runtime/device_handles.hpp"
#include "runtime/fault_injection.hpp"
#include "tuning/tuning_db.hpp"

namespace ellesmere {

using runtime::check;

namespace detail {

namespace {
cl::Context make_context(const cl::Device& device) {
  cl_int err = CL_SUCCESS;
  cl::Context context(device, nullptr, nullptr, nullptr, &err);
  check(err, "clCreateContext");
  return context;
}
cl::CommandQueue make_queue(const cl::Context& context, const cl::Device& device) {
  cl_int err = CL_SUCCESS;
  cl::CommandQueue queue(context, device, CL_QUEUE_PROFILING_ENABLE, &err);
  check(err, "clCreateCommandQueue", "in-order queue with profiling");
  return queue;
}
}  // namespace

ContextImpl::ContextImpl(cl::Device dev, DeviceInfo device_info)
    : info(std::move(device_info)),
      device(std::move(dev)),
      context(make_context(device)),
      queue(make_queue(context, device)),
      shared_programs(std::make_shared<runtime::ProgramCache>(context, device, info)),
      programs(*shared_programs) {}

ContextImpl::ContextImpl(const ContextImpl& shared, Share)
    : info(shared.info),
      device(shared.device),
      context(shared.context),
      queue(make_queue(context, device)),
      shared_programs(shared.shared_programs),
      programs(*shared_programs) {}

cl::Kernel& ContextImpl::kernel_of(const cl::Program& program, const std::string& cache_key,
                                   const std::string& kernel_name) {
  if (auto it = kernels_.find(cache_key); it != kernels_.end()) return it->second;
  cl_int err = CL_SUCCESS;
  cl::Kernel k(program, kernel_name.c_str(), &err);
  check(err, "clCreateKernel", kernel_name);
  return kernels_.emplace(cache_key, std::move(k)).first->second;
}

cl::Kernel& ContextImpl::kernel(const std::string& kernel_file, const std::string& kernel_name,
                                const std::string& options) {
  const std::string key = kernel_file + '\n' + options + '\n' + kernel_name;
  if (auto it = kernels_.find(key); it != kernels_.end()) return it->second;
  return kernel_of(programs.get(kernel_file, options), key, kernel_name);
}

cl::Kernel& ContextImpl::kernel_from_source(const std::string& name, const std::string& source,
                                            const std::string& kernel_name, const std::string& options) {
  const std::string key = "source:" + name + '\n' + options + '\n' + kernel_name + '\n' + source;
  if (auto it = kernels_.find(key); it != kernels_.end()) return it->second;
  return kernel_of(programs.get_source(name, source, options), key, kernel_name);
}

cl::Buffer& ContextImpl::scratch(const std::string& name, std::size_t bytes) {
  auto& [buffer, size] = scratch_[name];
  if (size < bytes || buffer() == nullptr) {
    if (buffer() != nullptr) check(queue.finish(), "clFinish", "before growing scratch buffer " + name);
    cl_int err = runtime::fault::hit(runtime::fault::Site::alloc);
    const std::size_t allocate = std::max(bytes, kMinScratchBytes);
    cl::Buffer grown;
    if (err == CL_SUCCESS) {
      if (info.family == "oclgrind") {
        // Created from a host copy of zeros: oclgrind's uninitialised-value check then knows the whole buffer,
        // whatever freed buffer's id it takes (see kMinScratchBytes). Other devices need no copy.
        const std::vector<std::uint8_t> zeros(allocate, 0);
        grown = cl::Buffer(context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, allocate,
                           const_cast<std::uint8_t*>(zeros.data()), &err);
      } else {
        grown = cl::Buffer(context, CL_MEM_READ_WRITE, allocate, nullptr, &err);
      }
    }
    check(err, "clCreateBuffer", fmt::format("scratch buffer {} ({} bytes) on {}", name, allocate, info.name));
    buffer = std::move(grown);
    size = allocate;
  }
  return buffer;
}

cl::Event ContextImpl::launch(cl::Kernel& kernel, const cl::NDRange& global, const cl::NDRange& local,
                              const std::string& what) {
  cl::Event event;
  cl_int err = runtime::fault::hit(runtime::fault::Site::enqueue);
  if (err == CL_SUCCESS) err = queue.enqueueNDRangeKernel(kernel, cl::NullRange, global, local, nullptr, &event);
  if (err != CL_SUCCESS) {
    auto dims = [](const cl::NDRange& r) {
      if (r.dimensions() == 0) return std::string("(driver's choice)");
      std::string s;
      for (cl_uint i = 0; i < r.dimensions(); ++i) {
        if (i > 0) s += 'x';
        s += std::to_string(r.get()[i]);
      }
      return s;
    };
    check(err, "clEnqueueNDRangeKernel",
          fmt::format("{} (global {}, local {}, device {})", what, dims(global), dims(local), info.name));
  }
  return event;
}

void throw_size_overflow(std::size_t count, std::size_t element_size, std::string_view what) {
  throw InvalidArgument(fmt::format("{}: {} elements of {} bytes overflow the address space", what, count,
                                    element_size));
}

cl_event ContextImpl::marker() {
  cl_event event = nullptr;
  cl_int err = CL_SUCCESS;
  if (info.device_version.rfind("OpenCL 1.0", 0) != 0 && info.device_version.rfind("OpenCL 1.1", 0) != 0) {
    err = clEnqueueMarkerWithWaitList(queue(), 0, nullptr, &event);
  } else {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"   // the only marker an OpenCL 1.1 driver has
    err = clEnqueueMarker(queue(), &event);
#pragma GCC diagnostic pop
  }
  check(err, "clEnqueueMarker", "timing marker");
  return event;
}

}  // namespace detail

Context::Context(std::string_view selector) {
  runtime::fault::arm_from_environment();   // test-only (ELLESMERE_FAULT); nothing when unset
  tuning::TuningDb::global();   // read (and report) the tuning database now, not in the middle of a first launch
  auto handle = runtime::find_device(selector);
  impl_ = std::make_unique<detail::ContextImpl>(std::move(handle.device), std::move(handle.info));
}

Context::Context(const DeviceInfo& device) {
  runtime::fault::arm_from_environment();
  tuning::TuningDb::global();
  auto devices = runtime::enumerate_devices();
  auto it = std::find_if(devices.begin(), devices.end(), [&](const runtime::DeviceHandle& d) {
    return d.info.index == device.index && d.info.name == device.name &&
           d.info.platform_name == device.platform_name;
  });
  if (it == devices.end()) {
    throw NotSupported(fmt::format("device {} ({} / {}) is no longer present", device.index, device.platform_name,
                                   device.name));
  }
  impl_ = std::make_unique<detail::ContextImpl>(std::move(it->device), std::move(it->info));
}

Context::Context(std::unique_ptr<detail::ContextImpl> impl) : impl_(std::move(impl)) {}

Context Context::share() const {
  if (!impl_) throw InvalidArgument("Context::share() on a moved-from Context");
  return Context(std::make_unique<detail::ContextImpl>(*impl_, detail::ContextImpl::Share{}));
}

Context::~Context() = default;
Context::Context(Context&&) noexcept = default;
Context& Context::operator=(Context&&) noexcept = default;

const DeviceInfo& Context::device() const { return impl_->info; }
cl_context Context::cl_context_handle() const { return impl_->context(); }
cl_device_id Context::cl_device_handle() const { return impl_->device(); }
cl_command_queue Context::cl_queue_handle() const { return impl_->queue(); }
void Context::finish() { check(impl_->queue.finish(), "clFinish"); }

// ---- EventList ----

EventList::~EventList() {
  for (cl_event e : events_) clReleaseEvent(e);
}
EventList::EventList(EventList&& other) noexcept : events_(std::move(other.events_)) { other.events_.clear(); }
EventList& EventList::operator=(EventList&& other) noexcept {
  if (this != &other) {
    for (cl_event e : events_) clReleaseEvent(e);
    events_ = std::move(other.events_);
    other.events_.clear();
  }
  return *this;
}
EventList::EventList(const EventList& other) : events_(other.events_) {
  for (cl_event e : events_) clRetainEvent(e);
}
EventList& EventList::operator=(const EventList& other) {
  if (this != &other) {
    EventList copy(other);
    *this = std::move(copy);
  }
  return *this;
}

void EventList::add(cl_event event) {
  if (event != nullptr) events_.push_back(event);
}
void EventList::wait() const {
  if (!events_.empty()) check(clWaitForEvents(cl_uint(events_.size()), events_.data()), "clWaitForEvents");
}

namespace {
cl_ulong profile_time(cl_event e, cl_profiling_info what) {
  cl_ulong t = 0;
  check(clGetEventProfilingInfo(e, what, sizeof t, &t, nullptr), "clGetEventProfilingInfo",
        "reading kernel timings (the queue must have profiling enabled)");
  return t;
}
}  // namespace

double EventList::device_ns() const {
  wait();
  double total = 0;
  for (cl_event e : events_) total += double(profile_time(e, CL_PROFILING_COMMAND_END) -
                                             profile_time(e, CL_PROFILING_COMMAND_START));
  return total;
}

double EventList::span_ns() const {
  wait();
  if (events_.empty()) return 0;
  cl_ulong first = profile_time(events_.front(), CL_PROFILING_COMMAND_START);
  cl_ulong last = profile_time(events_.back(), CL_PROFILING_COMMAND_END);
  return last > first ? double(last - first) : 0.0;
}

// ---- RawBuffer ----

RawBuffer::RawBuffer(Context& context, std::size_t bytes, std::string_view what) : bytes_(bytes) {
  const DeviceInfo& dev = context.device();
  if (bytes == 0) return;   // an empty buffer holds no cl_mem (OpenCL forbids zero-sized buffers)
  if (bytes > dev.max_alloc_bytes) {
    throw ClError(CL_INVALID_BUFFER_SIZE, "clCreateBuffer",
                  fmt::format("{}: {:.1f} MiB exceeds the largest single allocation on {} ({:.1f} MiB)", what,
                              double(bytes) / (1 << 20), dev.name, double(dev.max_alloc_bytes) / (1 << 20)));
  }
  cl_int err = runtime::fault::hit(runtime::fault::Site::alloc);
  if (err == CL_SUCCESS) mem_ = clCreateBuffer(context.cl_context_handle(), CL_MEM_READ_WRITE, bytes, nullptr, &err);
  check(err, "clCreateBuffer", fmt::format("{}: {:.1f} MiB on {}", what, double(bytes) / (1 << 20), dev.name));
  queue_ = context.cl_queue_handle();
  clRetainCommandQueue(queue_);
  device_fill_ = dev.device_version.rfind("OpenCL 1.0", 0) != 0 && dev.device_version.rfind("OpenCL 1.1", 0) != 0;
}

RawBuffer::~RawBuffer() {
  if (mem_) clReleaseMemObject(mem_);
  if (queue_) clReleaseCommandQueue(queue_);
}

RawBuffer::RawBuffer(RawBuffer&& o) noexcept
    : mem_(o.mem_), queue_(o.queue_), bytes_(o.bytes_), device_fill_(o.device_fill_) {
  o.mem_ = nullptr;
  o.queue_ = nullptr;
  o.bytes_ = 0;
}

RawBuffer& RawBuffer::operator=(RawBuffer&& o) noexcept {
  if (this != &o) {
    RawBuffer old(std::move(*this));
    mem_ = o.mem_;
    queue_ = o.queue_;
    bytes_ = o.bytes_;
    device_fill_ = o.device_fill_;
    o.mem_ = nullptr;
    o.queue_ = nullptr;
    o.bytes_ = 0;
  }
  return *this;
}

namespace {
void check_range(std::size_t offset, std::size_t bytes, std::size_t size, const char* what) {
  if (offset > size || bytes > size - offset) {
    throw InvalidArgument(fmt::format("{} of {} bytes at offset {} is outside a buffer of {} bytes", what, bytes,
                                      offset, size));
  }
}
}  // namespace

void RawBuffer::upload(const void* src, std::size_t bytes, std::size_t offset) {
  check_range(offset, bytes, bytes_, "upload");
  if (bytes == 0) return;
  check(clEnqueueWriteBuffer(queue_, mem_, CL_TRUE, offset, bytes, src, 0, nullptr, nullptr),
        "clEnqueueWriteBuffer", fmt::format("uploading {} bytes", bytes));
}

void RawBuffer::download(void* dst, std::size_t bytes, std::size_t offset) const {
  check_range(offset, bytes, bytes_, "download");
  if (bytes == 0) return;
  check(clEnqueueReadBuffer(queue_, mem_, CL_TRUE, offset, bytes, dst, 0, nullptr, nullptr), "clEnqueueReadBuffer",
        fmt::format("downloading {} bytes", bytes));
}

void RawBuffer::fill(const void* pattern, std::size_t pattern_size) {
  if (bytes_ == 0) return;
  if (pattern_size == 0 || bytes_ % pattern_size != 0) {
    throw InvalidArgument(fmt::format("fill pattern of {} bytes does not divide a buffer of {} bytes", pattern_size,
                                      bytes_));
  }
  // clEnqueueFillBuffer is OpenCL 1.2 and takes patterns of 1, 2, 4, ..., 128 bytes; otherwise (Clover is 1.1)
  // the pattern is repeated on the host and uploaded.
  const bool power_of_two = (pattern_size & (pattern_size - 1)) == 0 && pattern_size <= 128;
  if (device_fill_ && power_of_two) {
    check(clEnqueueFillBuffer(queue_, mem_, pattern, pattern_size, 0, bytes_, 0, nullptr, nullptr),
          "clEnqueueFillBuffer", fmt::format("filling {} bytes", bytes_));
    check(clFinish(queue_), "clFinish", "after filling a buffer");
    return;
  }
  std::vector<unsigned char> data(bytes_);
  for (std::size_t i = 0; i < bytes_; i += pattern_size) std::memcpy(data.data() + i, pattern, pattern_size);
  upload(data.data(), bytes_, 0);
}

}  // namespace ellesmere
