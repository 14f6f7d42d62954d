// Test-only fault injection (see fault_injection.hpp): per-site reach counters and the reach numbers that fail.
#include "runtime/fault_injection.hpp"

#include <charconv>
#include <mutex>
#include <vector>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "runtime/env.hpp"

namespace ellesmere::runtime::fault {

namespace detail {
std::atomic<int> g_active{0};
}

namespace {

struct SiteState {
  std::atomic<long> reached{0};
  std::atomic<long> injected{0};
  std::atomic<long> fail_from{0};   // 0: never fails
  std::atomic<long> times{1};       // < 0: every reach from fail_from on
  std::atomic<cl_int> code{CL_SUCCESS};
};

SiteState g_sites[kSites];

SiteState& state(Site site) { return g_sites[int(site)]; }

}  // namespace

namespace detail {
cl_int hit_slow(Site site) noexcept {
  SiteState& s = state(site);
  const long n = s.reached.fetch_add(1, std::memory_order_relaxed) + 1;
  const long from = s.fail_from.load(std::memory_order_acquire);
  if (from <= 0 || n < from) return CL_SUCCESS;
  const long times = s.times.load(std::memory_order_relaxed);
  if (times >= 0 && n >= from + times) return CL_SUCCESS;
  s.injected.fetch_add(1, std::memory_order_relaxed);
  return s.code.load(std::memory_order_relaxed);
}
}  // namespace detail

const char* site_name(Site site) noexcept {
  switch (site) {
    case Site::alloc: return "alloc";
    case Site::build: return "build";
    default: return "enqueue";
  }
}

cl_int default_code(Site site) noexcept {
  switch (site) {
    case Site::alloc: return CL_MEM_OBJECT_ALLOCATION_FAILURE;
    case Site::build: return CL_BUILD_PROGRAM_FAILURE;
    default: return CL_OUT_OF_RESOURCES;
  }
}

void arm(Site site, long nth, cl_int code, long times) {
  if (nth < 1) throw InvalidArgument(fmt::format("fault injection: {} reach {} must be 1 or more", site_name(site), nth));
  if (code == CL_SUCCESS) throw InvalidArgument("fault injection: the injected error cannot be CL_SUCCESS");
  SiteState& s = state(site);
  s.reached.store(0, std::memory_order_relaxed);
  s.injected.store(0, std::memory_order_relaxed);
  s.code.store(code, std::memory_order_relaxed);
  s.times.store(times == 0 ? 1 : times, std::memory_order_relaxed);
  s.fail_from.store(nth, std::memory_order_release);
  detail::g_active.store(1, std::memory_order_release);
}

void clear() noexcept {
  detail::g_active.store(0, std::memory_order_release);
  for (auto& s : g_sites) s.fail_from.store(0, std::memory_order_release);
}

void reset_counts() noexcept {
  for (auto& s : g_sites) {
    s.reached.store(0, std::memory_order_relaxed);
    s.injected.store(0, std::memory_order_relaxed);
  }
}

void count() noexcept {
  reset_counts();
  detail::g_active.store(1, std::memory_order_release);
}

long reached(Site site) noexcept { return state(site).reached.load(std::memory_order_relaxed); }
long injected(Site site) noexcept { return state(site).injected.load(std::memory_order_relaxed); }

namespace {

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  for (;;) {
    const auto at = text.find(sep);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

bool parse_long(std::string_view text, long& out) {
  const auto r = std::from_chars(text.data(), text.data() + text.size(), out);
  return r.ec == std::errc() && r.ptr == text.data() + text.size();
}

cl_int parse_code(std::string_view text, std::string_view item) {
  long number = 0;
  if (parse_long(text, number) && number < 0) return cl_int(number);
  for (int c = 0; c >= -1200; --c) {
    if (text == cl_error_name(c) && text != "CL_UNKNOWN_ERROR") return c;
  }
  throw InvalidArgument(fmt::format("ELLESMERE_FAULT item '{}': '{}' is not an OpenCL error name or negative code",
                                    item, text));
}

}  // namespace

void arm_from_spec(std::string_view spec) {
  for (std::string_view item : split(spec, ',')) {
    if (item.empty()) continue;
    const auto fields = split(item, ':');
    const auto bad = [&](const std::string& why) {
      return InvalidArgument(fmt::format("ELLESMERE_FAULT item '{}': {} (expected site:nth[:CODE][:xTIMES], site "
                                         "alloc, build or enqueue; a test-only hook)",
                                         item, why));
    };
    Site site{};
    if (fields[0] == "alloc") {
      site = Site::alloc;
    } else if (fields[0] == "build") {
      site = Site::build;
    } else if (fields[0] == "enqueue") {
      site = Site::enqueue;
    } else {
      throw bad(fmt::format("unknown site '{}'", fields[0]));
    }
    long nth = 0;
    if (fields.size() < 2 || !parse_long(fields[1], nth) || nth < 1) throw bad("nth must be a number from 1 on");
    cl_int code = default_code(site);
    long times = 1;
    for (std::size_t i = 2; i < fields.size(); ++i) {
      if (!fields[i].empty() && fields[i][0] == 'x') {
        if (!parse_long(fields[i].substr(1), times) || times == 0) throw bad("xTIMES must be a non-zero number");
      } else {
        code = parse_code(fields[i], item);
      }
    }
    arm(site, nth, code, times);
  }
}

void arm_from_environment() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (auto spec = env("ELLESMERE_FAULT")) {
      arm_from_spec(*spec);
      log("fault", "fault injection armed from ELLESMERE_FAULT=" + *spec + " (test-only)");
    }
  });
}

}  // namespace ellesmere::runtime::fault
