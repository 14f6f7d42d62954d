// Test-only fault injection: makes the Nth buffer allocation, program build or kernel enqueue from now fail with a
// chosen OpenCL error, as a driver out of memory or resources would. Internal; used by the runtime's allocation,
// build and launch sites and by tests/ops/fault_injection_test.cpp. ELLESMERE_FAULT (read once, by the first
// Context) arms it in a child process such as the `ellesmere` CLI. Never set it outside tests.
#pragma once

#include <atomic>
#include <string>
#include <string_view>

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>

namespace ellesmere::runtime::fault {

// Where a fault can be injected. alloc: every device buffer the library creates (RawBuffer, scratch buffers,
// calibration and SpMM partial-sum buffers). build: every program built from source (a program loaded from the disk
// cache is not built from source). enqueue: every kernel launch (ContextImpl::launch, the SNN simulator, calibration,
// the CLBlast call).
enum class Site { alloc = 0, build = 1, enqueue = 2 };
inline constexpr int kSites = 3;
const char* site_name(Site site) noexcept;   // "alloc", "build", "enqueue"
// The error a site fails with unless told otherwise: CL_MEM_OBJECT_ALLOCATION_FAILURE, CL_BUILD_PROGRAM_FAILURE,
// CL_OUT_OF_RESOURCES.
cl_int default_code(Site site) noexcept;

namespace detail {
// Non-zero while any site is armed or counting is on; the only thing a disarmed site reads.
extern std::atomic<int> g_active;
cl_int hit_slow(Site site) noexcept;
}  // namespace detail

// Called at each site: CL_SUCCESS normally, the injected error code when this reach is one that must fail.
// Disarmed, it is one relaxed atomic load.
inline cl_int hit(Site site) noexcept {
  if (detail::g_active.load(std::memory_order_relaxed) == 0) [[likely]] return CL_SUCCESS;
  return detail::hit_slow(site);
}

// The nth reach of site from now (1 = the next one) fails with code, and so do the following times - 1 reaches
// (times < 0: every reach from the nth on). Resets site's reach count; turns counting on.
void arm(Site site, long nth, cl_int code, long times = 1);
inline void arm(Site site, long nth) { arm(site, nth, default_code(site)); }
// Disarms every site and turns counting off (counts are kept until the next arm() or count()).
void clear() noexcept;
// Turns counting on without arming anything and zeroes the counts.
void count() noexcept;
// Zeroes every site's counts (reached and injected).
void reset_counts() noexcept;
// Reaches of site since it was last armed or counted (only counted while active).
long reached(Site site) noexcept;
// Faults injected at site since it was last armed or counted.
long injected(Site site) noexcept;

// Parses a fault specification: comma-separated "site:nth[:CODE][:xTIMES]", e.g. "enqueue:5",
// "alloc:3:CL_OUT_OF_RESOURCES", "build:1:x-1" (every build fails). Throws InvalidArgument naming what is wrong.
void arm_from_spec(std::string_view spec);
// Reads ELLESMERE_FAULT once per process (later calls do nothing); Context's constructor calls it.
void arm_from_environment();

// Clears everything (and zeroes the counts) on construction, clears on destruction: a test's faults never leak into
// the next test.
class Scope {
 public:
  Scope() noexcept {
    clear();
    reset_counts();
  }
  ~Scope() { clear(); }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;
};

}  // namespace ellesmere::runtime::fault
