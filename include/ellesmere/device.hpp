// OpenCL devices, the context/queue ellesmere runs on, device buffers and kernel timings: the public runtime API.
// Discovery and selection follow ELLESMERE_DEVICE; every device gets a normalised, stable DeviceKey.
//
// Thread safety (the rules for the whole library):
// - list_devices(), select_device() and every free function that takes no Context may be called from any thread.
// - A Context belongs to one thread at a time: its in-order queue, its kernel objects (which hold their arguments
//   between clSetKernelArg and the launch) and its scratch buffers are not locked. Give each thread its own
//   Context: either an independent one (its own OpenCL context, nothing shared), or ctx.share() of one made
//   earlier, which shares the OpenCL context and the program cache (a program is compiled once for all of them)
//   but has its own queue, kernels and scratch. Making Contexts (share() included) is safe from any thread.
// - A Buffer, and any object holding device memory or per-call scratch (device CSR matrices, packed weights, the
//   SNN Simulator), is used by one thread at a time. Buffers of Contexts made by share() are valid on all of
//   them (one OpenCL context), but their queues are not ordered with one another: before another Context reads or
//   writes a buffer, wait for the events of the operation that wrote it (or call finish() on its Context).
//   upload()/download()/fill() always go through the queue of the Context the buffer was made on. Buffers that
//   no one writes any more (uploaded weights, inputs) may be read by kernels on several shared Contexts at once.
// - An EventList may be waited on (wait(), span_ns()) from any thread; changing one is for one thread at a time.
// - Process-wide state is locked: the tuning database (tuning::TuningDb::global(), reload() included: a lookup
//   sees the old or the new entries, never half of them), the program cache, the built-in Impl lists, the disk
//   caches (files are written to a temporary and renamed). Set ELLESMERE_* environment variables before starting
//   threads. The test-only fault-injection hook (ELLESMERE_FAULT) is process-wide.
#pragma once

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ellesmere {

enum class DeviceType { gpu, accelerator, cpu, other };
const char* device_type_name(DeviceType t) noexcept;   // "gpu", "accelerator", "cpu", "other"

// A normalised device identity: the same chip with the same number of compute units gets the same key whatever
// the driver calls it (AMD's "Ellesmere", ROCm's "gfx803", Mesa's "AMD Radeon RX 580 (polaris10 ...)" all give
// "amd-polaris-36cu"). family is the key without the CU count ("amd-polaris"). Polaris is never folded into Fiji,
// although both are gfx803.
struct DeviceKey {
  std::string key;
  std::string family;
};

// Builds the DeviceKey from what the driver reports. board_name is CL_DEVICE_BOARD_NAME_AMD where available.
DeviceKey make_device_key(std::string_view platform_name, std::string_view device_name, std::string_view board_name,
                          std::string_view vendor, int compute_units, DeviceType type);

struct DeviceInfo {
  int index = -1;                  // position in list_devices(); ELLESMERE_DEVICE=<index> selects it
  std::string platform_name;
  std::string platform_version;
  std::string name;                // CL_DEVICE_NAME, as the driver reports it
  std::string board_name;          // CL_DEVICE_BOARD_NAME_AMD, empty when the driver has none
  std::string vendor;
  std::string driver_version;      // CL_DRIVER_VERSION
  std::string device_version;      // CL_DEVICE_VERSION, "OpenCL 1.2 ..."
  std::string opencl_c_version;    // CL_DEVICE_OPENCL_C_VERSION, "OpenCL C 1.2 ..."
  DeviceType type = DeviceType::other;
  int compute_units = 0;
  int max_clock_mhz = 0;
  std::size_t max_work_group_size = 0;
  std::array<std::size_t, 3> max_work_item_sizes{};
  std::uint64_t local_mem_bytes = 0;
  std::uint64_t global_mem_bytes = 0;
  std::uint64_t max_alloc_bytes = 0;
  std::vector<std::string> extensions;
  bool has_fp16 = false;           // cl_khr_fp16
  bool has_fp64 = false;           // cl_khr_fp64
  bool has_fma = false;            // CL_FP_FMA in CL_DEVICE_SINGLE_FP_CONFIG: fused multiply-add in hardware
  bool has_correct_divide = false; // CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT: -cl-fp32-correctly-rounded-divide-sqrt works
  std::string key;                 // DeviceKey::key
  std::string family;              // DeviceKey::family

  bool has_extension(std::string_view name) const;
  // OpenCL C version as major*10+minor (11, 12, 20, 30), parsed from opencl_c_version.
  int opencl_c_version_number() const;
};

// Every device of every platform, in a stable order (platform, then device).
std::vector<DeviceInfo> list_devices();

// The device a Context uses. selector: "" means ELLESMERE_DEVICE, and if that is unset too, the first GPU, else
// the first accelerator, else the first CPU. Otherwise an index into list_devices() or a case-insensitive
// substring of "<platform name> <device name> <key>". Throws NotSupported (listing what exists) if nothing matches
// or there is no OpenCL device at all.
DeviceInfo select_device(std::string_view selector = "");

namespace detail {
struct ContextImpl;
[[noreturn]] void throw_size_overflow(std::size_t count, std::size_t element_size, std::string_view what);
}

// An OpenCL context and one in-order queue with profiling enabled on one device, plus the program and kernel
// caches that go with them. Move-only; one thread at a time (see the top of this file).
class Context {
 public:
  explicit Context(std::string_view selector = "");
  explicit Context(const DeviceInfo& device);
  // A new Context for another thread: the same device and OpenCL context (buffers of either are valid on both)
  // and the same program cache, but its own in-order queue, kernel objects and scratch buffers. Cheaper than a
  // new Context (no program is compiled again). Both stay valid whichever is destroyed first.
  Context share() const;
  ~Context();
  Context(Context&&) noexcept;
  Context& operator=(Context&&) noexcept;
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  const DeviceInfo& device() const;
  cl_context cl_context_handle() const;
  cl_device_id cl_device_handle() const;
  cl_command_queue cl_queue_handle() const;
  void finish();   // waits for everything enqueued on the queue

  detail::ContextImpl& impl() const { return *impl_; }

 private:
  explicit Context(std::unique_ptr<detail::ContextImpl> impl);
  std::unique_ptr<detail::ContextImpl> impl_;
};

// Completion handles of the kernels an operation enqueued (retained; released on destruction).
class EventList {
 public:
  EventList() = default;
  ~EventList();
  EventList(EventList&&) noexcept;
  EventList& operator=(EventList&&) noexcept;
  EventList(const EventList&);
  EventList& operator=(const EventList&);

  void add(cl_event event);   // takes ownership of one reference
  std::size_t size() const { return events_.size(); }
  const std::vector<cl_event>& handles() const { return events_; }
  void wait() const;
  // The operation's device time: from the first event's CL_PROFILING_COMMAND_START to the last one's
  // CL_PROFILING_COMMAND_END, gaps between its kernels included. Waits. This is what benchmarks report.
  double span_ns() const;
  // Each event's END - START, summed: the busy time of the kernels whose events are in the list (less than
  // span_ns() when kernels are spaced out, and an undercount for a peer that hides some of its events). Waits.
  double device_ns() const;

 private:
  std::vector<cl_event> events_;
};

// Untyped device memory on one Context (retains its context and queue, so it may outlive the Context object).
class RawBuffer {
 public:
  RawBuffer() = default;
  RawBuffer(Context& context, std::size_t bytes, std::string_view what = "buffer");
  ~RawBuffer();
  RawBuffer(RawBuffer&&) noexcept;
  RawBuffer& operator=(RawBuffer&&) noexcept;
  RawBuffer(const RawBuffer&) = delete;
  RawBuffer& operator=(const RawBuffer&) = delete;

  std::size_t bytes() const { return bytes_; }
  cl_mem handle() const { return mem_; }
  // Blocking copies; throw InvalidArgument when [offset, offset+bytes) is outside the buffer.
  void upload(const void* src, std::size_t bytes, std::size_t offset = 0);
  void download(void* dst, std::size_t bytes, std::size_t offset = 0) const;
  // Repeats pattern over the whole buffer (bytes() must be a multiple of pattern_size); blocking. Runs on the
  // device (clEnqueueFillBuffer) where OpenCL 1.2 allows, else copies a host-side repetition.
  void fill(const void* pattern, std::size_t pattern_size);

 private:
  cl_mem mem_ = nullptr;
  cl_command_queue queue_ = nullptr;
  std::size_t bytes_ = 0;
  bool device_fill_ = false;   // the device is OpenCL 1.2 or later
};

// Typed device memory: count elements of T. A moved-from Buffer is empty (size() 0, no cl_mem).
template <class T>
class Buffer {
 public:
  Buffer() = default;
  Buffer(Context& context, std::size_t count, std::string_view what = "buffer")
      : raw_(context, checked_bytes(count, what), what) {}
  Buffer(Context& context, std::span<const T> values, std::string_view what = "buffer")
      : Buffer(context, values.size(), what) {
    upload(values);
  }

  std::size_t size() const { return raw_.bytes() / sizeof(T); }
  cl_mem handle() const { return raw_.handle(); }
  RawBuffer& raw() { return raw_; }
  const RawBuffer& raw() const { return raw_; }

  void upload(std::span<const T> values, std::size_t offset = 0) {
    raw_.upload(values.data(), values.size_bytes(), checked_bytes(offset, "upload offset"));
  }
  void download(std::span<T> values, std::size_t offset = 0) const {
    raw_.download(values.data(), values.size_bytes(), checked_bytes(offset, "download offset"));
  }
  std::vector<T> to_vector() const {
    std::vector<T> v(size());
    download(v);
    return v;
  }
  void fill(const T& value) {
    if (size() > 0) raw_.fill(&value, sizeof(T));
  }

 private:
  static std::size_t checked_bytes(std::size_t count, std::string_view what) {
    if (count > SIZE_MAX / sizeof(T)) detail::throw_size_overflow(count, sizeof(T), what);
    return count * sizeof(T);
  }
  RawBuffer raw_;
};

}  // namespace ellesmere
