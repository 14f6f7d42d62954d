// Fuzz target: a program-binary cache file (parse_cache_entry, what ProgramCache reads from disk before trusting
// a binary). Any bytes give a binary or a reason, never both, never an exception; an accepted binary is exactly
// the file's tail after the key it was asked for.
#include "fuzz_common.hpp"
#include "runtime/program_cache.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ellesmere;
  constexpr std::string_view kKey = "kernel: fuzz\noptions: -cl-std=CL1.2\n";
  const std::string_view file = fuzz::as_text(data, size);
  const runtime::CacheEntry e = runtime::parse_cache_entry(file, kKey);   // must not throw
  fuzz::fuzz_require(e.binary.empty() != e.rejected.empty(), "an entry must be either accepted or rejected");
  if (!e.binary.empty()) {
    fuzz::fuzz_require(file.find(kKey) != std::string_view::npos, "accepted a file without its key");
    fuzz::fuzz_require(e.binary.size() < size &&
                           file.substr(size - e.binary.size()) ==
                               std::string_view(reinterpret_cast<const char*>(e.binary.data()), e.binary.size()),
                       "the binary is not the file's tail");
  }
  return 0;
}
