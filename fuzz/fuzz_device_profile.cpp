// Fuzz target: device-profile text (parse_profile, as for saved profiles under <config>/profiles). A parsed profile
// formats and parses back to the same figures.
#include "ellesmere/profile.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ellesmere;
  fuzz::expect_value_or_error([&] {
    const DeviceProfile p = parse_profile(fuzz::as_text(data, size), "fuzz-profile.txt");
    const std::string text = format_profile(p);
    const DeviceProfile q = parse_profile(text, "fuzz-profile.txt (written back)");
    fuzz::fuzz_require(format_profile(q) == text, "format then parse changes the profile", text);
  });
  return 0;
}
