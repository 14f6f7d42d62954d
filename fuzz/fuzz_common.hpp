// Shared by the fuzz targets (fuzz/fuzz_*.cpp): the one rule every loader is held to. Given any bytes, a loader
// returns a value or throws an ellesmere::Error with a message; any other exception, a crash, a sanitizer report,
// or a result that breaks the loader's own invariants (fuzz_require) is a bug, and libFuzzer keeps the input.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ellesmere/error.hpp"

namespace ellesmere::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A violated invariant: print what and abort, so libFuzzer records the input as a crash.
[[noreturn]] inline void fail(const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "fuzz invariant violated: %s%s%s\n", what, detail.empty() ? "" : ": ", detail.c_str());
  std::abort();
}
inline void fuzz_require(bool ok, const char* what, const std::string& detail = {}) {
  if (!ok) fail(what, detail);
}

// Runs body; an ellesmere::Error is the expected way to refuse bad input, and it must say something.
template <class F>
void expect_value_or_error(F&& body) {
  try {
    body();
  } catch (const Error& e) {
    fuzz_require(e.what() != nullptr && e.what()[0] != '\0', "an ellesmere::Error with an empty message");
  }
}

}  // namespace ellesmere::fuzz
