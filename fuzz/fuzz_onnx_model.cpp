// Fuzz target: ONNX model bytes through what `ellesmere run` does before touching a device: import (protobuf
// parse, graph checks, constant folding, supported-op and finite-weight checks), shape inference at batch 1 and 2,
// and lowering to compute steps.
#include "fuzz_common.hpp"
#include "pipeline/graph.hpp"
#include "pipeline/lower.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ellesmere;
  const std::string bytes(fuzz::as_text(data, size));
  fuzz::expect_value_or_error([&] {
    const pipeline::Graph graph = pipeline::import_onnx_bytes(bytes, "fuzz.onnx");
    for (const std::int64_t batch : {1, 2}) {
      fuzz::expect_value_or_error([&] {
        const auto shapes = pipeline::infer_shapes(graph, pipeline::default_input_shapes(graph, batch));
        for (const auto& out : graph.outputs) {
          fuzz::fuzz_require(shapes.count(out.name) == 1, "shape inference left a graph output without a shape",
                             out.name);
        }
      });
    }
    fuzz::expect_value_or_error([&] { (void)pipeline::lower(graph); });
  });
  return 0;
}
