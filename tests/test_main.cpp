// GoogleTest main of every ellesmere test binary. Tests must not depend on the user's environment, however they are
// started (ctest or directly): the program cache, configuration directory and tuning database point at the build
// tree (a tuning entry to try under test goes into <build>/tests/config/tuning.txt); ELLESMERE_VERBOSE and
// ELLESMERE_KERNEL_DIR are cleared; the device comes from ELLESMERE_TEST_DEVICE (same syntax as
// ELLESMERE_DEVICE), else the default rule. ELLESMERE_CACHE is left alone: the oclgrind harness sets it.
#include <gtest/gtest.h>

#include <cstdlib>

int main(int argc, char** argv) {
  ::setenv("ELLESMERE_CACHE_DIR", ELLESMERE_TEST_HOME "/cache", 1);
  ::setenv("ELLESMERE_CONFIG_DIR", ELLESMERE_TEST_HOME "/config", 1);
  ::setenv("ELLESMERE_TUNING_DB", ELLESMERE_TEST_HOME "/config/tuning.txt", 1);
  ::unsetenv("ELLESMERE_VERBOSE");
  ::unsetenv("ELLESMERE_KERNEL_DIR");
  if (const char* device = std::getenv("ELLESMERE_TEST_DEVICE")) {
    ::setenv("ELLESMERE_DEVICE", device, 1);
  } else {
    ::unsetenv("ELLESMERE_DEVICE");
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
