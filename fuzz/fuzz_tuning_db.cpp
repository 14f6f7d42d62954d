// Fuzz target: tuning-database text (TuningDb::load_text, as for the user's tuning.txt). Corrupt lines become
// warnings, never exceptions; every accepted entry formats and parses back to itself; lookups on the result work.
#include "fuzz_common.hpp"
#include "ops/impl_registry.hpp"
#include "tuning/tuning_db.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ellesmere;
  tuning::TuningDb db;
  db.load_text(fuzz::as_text(data, size), "fuzz.txt", tuning::Layer::user);   // must not throw
  DeviceInfo device;   // a plausible GPU for the Params checks
  device.name = "fuzz";
  device.key = "amd-polaris-36cu";
  device.family = "amd-polaris";
  device.type = DeviceType::gpu;
  device.compute_units = 36;
  device.max_work_group_size = 256;
  device.max_work_item_sizes = {256, 256, 256};
  device.local_mem_bytes = 65536;
  device.global_mem_bytes = device.max_alloc_bytes = std::uint64_t(1) << 32;
  int lookups = 0;   // a lookup scans every entry: a few per input keep the target fast enough to fuzz
  for (const tuning::TuningEntry& e : db.entries()) {
    const std::string line = tuning::format_entry(e);
    fuzz::expect_value_or_error([&] {
      const tuning::TuningEntry back = tuning::parse_entry(line);
      fuzz::fuzz_require(back.device == e.device && back.impl == e.impl && back.problem == e.problem &&
                             back.params == e.params,
                         "format_entry then parse_entry changes the entry", line);
    });
    if (const ops::ImplBase* impl = ops::find_impl(e.impl); impl != nullptr && lookups++ < 3) {
      fuzz::expect_value_or_error([&] { (void)db.lookup(device, *impl, e.problem); });
    }
  }
  return 0;
}
