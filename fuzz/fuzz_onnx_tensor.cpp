// Fuzz target: a serialized onnx.TensorProto (.pb) through both readers: parse_onnx_tensor (the public
// read_onnx_tensor) and the pipeline's parse_tensor_bytes (`ellesmere run --input x.pb`, every element type).
#include "ellesmere/tensor_io.hpp"
#include "fuzz_common.hpp"
#include "pipeline/graph.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ellesmere;
  const std::string bytes(fuzz::as_text(data, size));
  fuzz::expect_value_or_error([&] {
    const Tensor t = parse_onnx_tensor(bytes, "fuzz.pb");
    const auto count = static_cast<std::size_t>(t.element_count());
    fuzz::fuzz_require(t.data.size() == count * dtype_size(t.dtype), "tensor bytes != shape x dtype size");
  });
  fuzz::expect_value_or_error([&] {
    const pipeline::HostTensor t = pipeline::parse_tensor_bytes(bytes, "fuzz.pb", pipeline::TensorFileKind::onnx_tensor);
    (void)t;
  });
  return 0;
}
