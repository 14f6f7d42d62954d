// Runs the kernels of planted_bugs.cl once each, for the oclgrind harness to catch. Exits 0 whatever they do:
// the verdict is oclgrind's log (see run_oclgrind.sh).
#include <fstream>
#include <iostream>
#include <sstream>

#include "ellesmere/device.hpp"
#include "runtime/context_impl.hpp"

int main() {
  using namespace ellesmere;
  std::ifstream in(PLANTED_BUGS_CL);
  std::stringstream source;
  source << in.rdbuf();
  Context context;
  auto& ctx = context.impl();
  std::cout << "running planted bugs on " << ctx.info.name << '\n';
  constexpr std::size_t kItems = 64;
  Buffer<float> input(context, kItems, "planted input"), output(context, kItems, "planted output");
  input.fill(1.0f);
  output.fill(0.0f);
  for (const char* name : {"planted_race", "planted_oob_write", "planted_oob_read", "planted_uninitialized"}) {
    cl::Kernel& k = ctx.kernel_from_source("tests/oclgrind/planted_bugs.cl", source.str(), name, "");
    if (std::string(name) == "planted_oob_read") {
      detail::set_args(k, name, input.handle(), output.handle());
    } else {
      detail::set_args(k, name, output.handle());
    }
    ctx.launch(k, cl::NDRange(kItems), cl::NDRange(16), name).wait();
    std::cout << "  ran " << name << '\n';
  }
  return 0;
}
