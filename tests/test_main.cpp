// GoogleTest main of every ellesmere test binary: points the program cache, the configuration directory and the
// tuning database at the build tree, so tests never read or write the user's ~/.cache/ellesmere or
// ~/.config/ellesmere, however they are started (ctest or directly). A tuning entry to try under test goes into
// <build>/tests/config/tuning.txt.
#include <gtest/gtest.h>

#include <cstdlib>

int main(int argc, char** argv) {
  ::setenv("ELLESMERE_CACHE_DIR", ELLESMERE_TEST_HOME "/cache", 1);
  ::setenv("ELLESMERE_CONFIG_DIR", ELLESMERE_TEST_HOME "/config", 1);
  ::setenv("ELLESMERE_TUNING_DB", ELLESMERE_TEST_HOME "/config/tuning.txt", 1);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
