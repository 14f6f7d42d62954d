// GoogleTest main of every ellesmere test binary. Tests must not depend on the user's environment, however they are
// started (ctest or directly): the program cache, configuration directory and tuning database point at the build
// tree (a tuning entry to try under test goes into <build>/tests/config/tuning.txt); ELLESMERE_VERBOSE is cleared;
// the device comes from ELLESMERE_TEST_DEVICE and the kernel directory from ELLESMERE_TEST_KERNEL_DIR (same
// syntax as ELLESMERE_DEVICE / ELLESMERE_KERNEL_DIR: a user's own settings never leak in, but a deliberately
// broken copy of kernels/ can still be tested). ELLESMERE_CACHE is left alone: the oclgrind harness sets it.
#include <gtest/gtest.h>

#include <cstdlib>
#include <utility>

int main(int argc, char** argv) {
  ::setenv("ELLESMERE_CACHE_DIR", ELLESMERE_TEST_HOME "/cache", 1);
  ::setenv("ELLESMERE_CONFIG_DIR", ELLESMERE_TEST_HOME "/config", 1);
  ::setenv("ELLESMERE_TUNING_DB", ELLESMERE_TEST_HOME "/config/tuning.txt", 1);
  ::unsetenv("ELLESMERE_VERBOSE");
  for (auto [test_name, name] : {std::pair{"ELLESMERE_TEST_DEVICE", "ELLESMERE_DEVICE"},
                                 std::pair{"ELLESMERE_TEST_KERNEL_DIR", "ELLESMERE_KERNEL_DIR"}}) {
    if (const char* value = std::getenv(test_name)) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
