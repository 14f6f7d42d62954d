// Fuzz target: the spiking-network JSON (parse_network_json). The fuzzer never opens files: a "matrix" projection
// gets a fixed 8 x 16 matrix for any name ending in ".mtx" and an error otherwise. A network that parses must pass
// its own validation.
#include "ellesmere/snn.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ellesmere;
  const snn::MatrixFileReader no_files = [](const std::string& path) -> CsrMatrix {
    if (path.size() < 4 || path.compare(path.size() - 4, 4, ".mtx") != 0) {
      throw FileError(path, "file access is disabled in the fuzz target");
    }
    static const CsrMatrix fixed = parse_matrix_market(
        "%%MatrixMarket matrix coordinate real general\n8 16 4\n1 1 0.5\n2 16 1.25\n8 3 -0.75\n8 9 2\n", "fixed.mtx");
    return fixed;
  };
  fuzz::expect_value_or_error([&] {
    const snn::Network net = snn::parse_network_json(fuzz::as_text(data, size), "fuzz.json", "", no_files);
    fuzz::fuzz_require(net.check().empty(), "parse_network_json returned a network that fails check()", net.check());
  });
  return 0;
}
