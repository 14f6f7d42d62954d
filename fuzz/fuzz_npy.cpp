// Fuzz target: NumPy .npy bytes (parse_npy, what read_npy and `ellesmere run --input x.npy` use).
#include "ellesmere/tensor_io.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ellesmere;
  fuzz::expect_value_or_error([&] {
    const Tensor t = parse_npy(fuzz::as_text(data, size), "fuzz.npy");
    const auto count = static_cast<std::size_t>(t.element_count());
    fuzz::fuzz_require(t.data.size() == count * dtype_size(t.dtype), "tensor bytes != shape x dtype size");
    fuzz::fuzz_require(t.data.size() <= size, "a tensor larger than its file");
  });
  return 0;
}
