// Unit tests of ellesmere_reference (src/reference/reference.hpp): gemm_f32_ref against a naive double triple loop,
// the error norms, seeded inputs, poison values and the shared problem-file reader.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "ellesmere/error.hpp"
#include "ellesmere/ops.hpp"
#include "reference/reference.hpp"

namespace ellesmere::reference {
namespace {

namespace fs = std::filesystem;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// C = alpha * op(A) op(B) + beta * C by the definition, in double; beta == 0 does not read C.
std::vector<double> naive_gemm(const GemmProblem& p, const std::vector<float>& a, const std::vector<float>& b,
                               const std::vector<float>& c, float alpha, float beta) {
  std::vector<double> out(std::size_t(p.m * p.n));
  for (std::int64_t i = 0; i < p.m; ++i) {
    for (std::int64_t j = 0; j < p.n; ++j) {
      double sum = 0;
      for (std::int64_t l = 0; l < p.k; ++l) {
        const double av = p.trans_a ? a[std::size_t(l * p.m + i)] : a[std::size_t(i * p.k + l)];
        const double bv = p.trans_b ? b[std::size_t(j * p.k + l)] : b[std::size_t(l * p.n + j)];
        sum += av * bv;
      }
      double v = double(alpha) * sum;
      if (beta != 0.0f) v += double(beta) * c[std::size_t(i * p.n + j)];
      out[std::size_t(i * p.n + j)] = v;
    }
  }
  return out;
}

// Runs gemm_f32_ref and the naive loop on seeded data and compares element by element: both accumulate in double,
// so they agree to within the final rounding to float.
void check_gemm(const GemmProblem& p, float alpha, float beta, std::uint64_t seed) {
  SCOPED_TRACE(p.str() + " alpha=" + std::to_string(alpha) + " beta=" + std::to_string(beta));
  const auto a = random_floats(std::size_t(p.m * p.k), seed);
  const auto b = random_floats(std::size_t(p.k * p.n), seed + 1);
  auto c = random_floats(std::size_t(p.m * p.n), seed + 2);
  const auto expected = naive_gemm(p, a, b, c, alpha, beta);
  gemm_f32_ref(p, a, b, c, alpha, beta);
  for (std::size_t i = 0; i < c.size(); ++i) {
    const double tol = 1e-6 * std::max(1.0, std::abs(expected[i])) + 1e-12 * double(p.k);
    ASSERT_NEAR(c[i], expected[i], tol) << "element " << i;
  }
}

// ---- gemm_f32_ref ----

TEST(GemmF32Ref, OneByOneByOne) {
  const GemmProblem p{1, 1, 1};
  std::vector<float> a{0.75f}, b{-1.5f}, c{0.25f};
  gemm_f32_ref(p, a, b, c, 2.0f, 3.0f);
  EXPECT_FLOAT_EQ(c[0], 2.0f * 0.75f * -1.5f + 3.0f * 0.25f);
  check_gemm(p, 1.0f, 0.0f, 11);
}

TEST(GemmF32Ref, SmallKnownProduct) {
  // [1 2 3; 4 5 6] * [7 8; 9 10; 11 12] = [58 64; 139 154]
  const GemmProblem p{2, 2, 3};
  std::vector<float> a{1, 2, 3, 4, 5, 6}, b{7, 8, 9, 10, 11, 12}, c(4, kNaN);
  gemm_f32_ref(p, a, b, c);
  EXPECT_EQ(c, (std::vector<float>{58, 64, 139, 154}));
  // Same product with A stored transposed (3 x 2) and B stored transposed (2 x 3).
  const GemmProblem t{2, 2, 3, true, true};
  std::vector<float> at{1, 4, 2, 5, 3, 6}, bt{7, 9, 11, 8, 10, 12}, ct(4, kNaN);
  gemm_f32_ref(t, at, bt, ct);
  EXPECT_EQ(ct, (std::vector<float>{58, 64, 139, 154}));
}

TEST(GemmF32Ref, SeededShapesAndTransposes) {
  std::mt19937 gen(1234);
  std::uniform_int_distribution<int> dim(1, 37);
  std::uint64_t seed = 100;
  for (int trial = 0; trial < 24; ++trial) {
    const GemmProblem p{dim(gen), dim(gen), dim(gen), (trial & 1) != 0, (trial & 2) != 0};
    check_gemm(p, 1.0f, 0.0f, seed += 3);
  }
  // Odd sizes, rectangular both ways.
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      check_gemm(GemmProblem{17, 3, 29, ta, tb}, 1.0f, 0.0f, seed += 3);
      check_gemm(GemmProblem{1, 31, 7, ta, tb}, 1.0f, 0.0f, seed += 3);
      check_gemm(GemmProblem{33, 1, 65, ta, tb}, 1.0f, 0.0f, seed += 3);
    }
  }
}

TEST(GemmF32Ref, AlphaAndBeta) {
  std::uint64_t seed = 500;
  for (float alpha : {1.0f, -0.5f, 2.25f, 0.0f}) {
    for (float beta : {0.0f, 1.0f, -1.75f, 0.5f}) {
      check_gemm(GemmProblem{13, 9, 21, false, true}, alpha, beta, seed += 3);
      check_gemm(GemmProblem{5, 11, 3, true, false}, alpha, beta, seed += 3);
    }
  }
}

TEST(GemmF32Ref, KZeroScalesCByBeta) {
  const GemmProblem p{4, 5, 0};
  const std::vector<float> a, b;
  const auto c0 = random_floats(20, 77);
  auto c = c0;
  gemm_f32_ref(p, a, b, c, 1.5f, -2.0f);
  for (std::size_t i = 0; i < c.size(); ++i) EXPECT_FLOAT_EQ(c[i], -2.0f * c0[i]) << i;
  c = c0;
  gemm_f32_ref(p, a, b, c, 1.5f, 0.0f);
  for (float v : c) EXPECT_EQ(v, 0.0f);
  check_gemm(GemmProblem{3, 2, 0, true, true}, 1.0f, 0.5f, 78);
}

TEST(GemmF32Ref, BetaZeroIgnoresNaNInC) {
  const GemmProblem p{6, 7, 8, false, true};
  const auto a = random_floats(48, 9);
  const auto b = random_floats(56, 10);
  std::vector<float> c(42, kNaN);
  c[3] = kInf;
  c[5] = poison_f32();
  gemm_f32_ref(p, a, b, c, 1.0f, 0.0f);
  const auto expected = naive_gemm(p, a, b, std::vector<float>(42, 0.0f), 1.0f, 0.0f);
  for (std::size_t i = 0; i < c.size(); ++i) {
    ASSERT_TRUE(std::isfinite(c[i])) << i;
    EXPECT_NEAR(c[i], expected[i], 1e-5) << i;
  }
}

TEST(GemmF32Ref, TooSmallSpansThrow) {
  const GemmProblem p{4, 4, 4};
  std::vector<float> a(16), b(16), c(16), short_c(15);
  EXPECT_THROW(gemm_f32_ref(p, a, b, short_c), InvalidArgument);
  EXPECT_THROW(gemm_f32_ref(p, std::vector<float>(15), b, c), InvalidArgument);
  EXPECT_THROW(gemm_f32_ref(p, a, std::vector<float>(15), c), InvalidArgument);
}

// ---- error norms ----

TEST(ErrorNorms, RelativeAndMaxAbs) {
  const std::vector<float> ref{3.0f, -4.0f, 0.0f};
  const std::vector<float> out{3.0f, -4.0f, 0.5f};
  EXPECT_DOUBLE_EQ(relative_error(ref, ref), 0.0);
  EXPECT_DOUBLE_EQ(max_abs_error(ref, ref), 0.0);
  EXPECT_DOUBLE_EQ(relative_error(out, ref), 0.5 / 5.0);   // ||(0,0,.5)|| / ||(3,-4,0)||
  EXPECT_DOUBLE_EQ(max_abs_error(out, ref), 0.5);
  EXPECT_DOUBLE_EQ(max_abs_error(std::vector<float>{1, 2, 3}, std::vector<float>{1.5f, 0, 3}), 2.0);
  EXPECT_DOUBLE_EQ(relative_error(std::vector<float>{}, std::vector<float>{}), 0.0);
}

TEST(ErrorNorms, ZeroReferenceGivesAbsoluteNorm) {
  const std::vector<float> zero(4, 0.0f);
  EXPECT_DOUBLE_EQ(relative_error(zero, zero), 0.0);
  EXPECT_DOUBLE_EQ(relative_error(std::vector<float>{3, 0, 4, 0}, zero), 5.0);
  EXPECT_TRUE(std::isfinite(relative_error(std::vector<float>{1e-3f, 0, 0, 0}, zero)));
}

TEST(ErrorNorms, NaNOrInfInOutputIsInfinite) {
  const auto ref = random_floats(64, 3);
  for (float bad : {kNaN, kInf, -kInf, poison_f32()}) {
    for (std::size_t at : {std::size_t(0), std::size_t(31), std::size_t(63)}) {
      auto out = ref;
      out[at] = bad;
      EXPECT_EQ(relative_error(out, ref), std::numeric_limits<double>::infinity()) << at;
      EXPECT_EQ(max_abs_error(out, ref), std::numeric_limits<double>::infinity()) << at;
    }
  }
}

TEST(ErrorNorms, SizeMismatchThrows) {
  const std::vector<float> three(3, 1.0f), four(4, 1.0f);
  EXPECT_THROW(relative_error(three, four), InvalidArgument);
  EXPECT_THROW(max_abs_error(four, three), InvalidArgument);
  try {
    relative_error(three, four);
  } catch (const InvalidArgument& e) {
    EXPECT_TRUE(contains(e.what(), "3") && contains(e.what(), "4")) << e.what();
  }
}

TEST(ErrorNorms, OneWrongElementExceedsTheGemmTolerance) {
  const auto ref = random_floats(256 * 256, 21);
  auto out = ref;
  out[1000] += 0.5f;
  EXPECT_GT(relative_error(out, ref), kGemmF32Tolerance);
}

// ---- seeded inputs ----

TEST(RandomFloats, DeterministicPerSeed) {
  EXPECT_EQ(random_floats(1000, 42), random_floats(1000, 42));
  EXPECT_EQ(random_floats(1000, 42, -3.0f, 5.0f), random_floats(1000, 42, -3.0f, 5.0f));
  // A prefix of a longer draw: the sequence does not depend on count.
  const auto long_draw = random_floats(1000, 42);
  const auto short_draw = random_floats(10, 42);
  EXPECT_TRUE(std::equal(short_draw.begin(), short_draw.end(), long_draw.begin()));
}

TEST(RandomFloats, DiffersAcrossSeeds) {
  const auto a = random_floats(256, 1);
  const auto b = random_floats(256, 2);
  int same = 0;
  for (std::size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
  EXPECT_LT(same, 4);
}

TEST(RandomFloats, StaysInRangeAndSpreadsOverIt) {
  for (auto [lo, hi] : {std::pair{-1.0f, 1.0f}, std::pair{0.0f, 1.0f}, std::pair{-8.0f, -2.0f},
                        std::pair{100.0f, 300.0f}}) {
    const auto v = random_floats(1 << 16, 7, lo, hi);
    float min = hi, max = lo;
    double sum = 0;
    for (float x : v) {
      ASSERT_GE(x, lo);
      ASSERT_LT(x, hi);
      min = std::min(min, x);
      max = std::max(max, x);
      sum += x;
    }
    const float span = hi - lo;
    EXPECT_LT(min, lo + 0.01f * span);
    EXPECT_GT(max, hi - 0.01f * span);
    EXPECT_NEAR(sum / double(v.size()), 0.5 * (double(lo) + double(hi)), 0.01 * span);
  }
}

TEST(RandomFloats, NeverReachesHiWhereFloatsAreCoarse) {
  // In [1000, 1001) floats are 2^-14 apart: a value within half a step of hi must not round up to hi.
  const float lo = 1000.0f, hi = 1001.0f;
  const auto v = random_floats(1 << 18, 99, lo, hi);
  std::size_t at_hi = 0;
  for (float x : v) {
    EXPECT_GE(x, lo);
    at_hi += x >= hi;
  }
  EXPECT_EQ(at_hi, 0u) << "values equal to hi among " << v.size();
}

// ---- poison ----

TEST(Poison, IsARecognisableNaN) {
  const float p = poison_f32();
  EXPECT_TRUE(std::isnan(p));
  EXPECT_EQ(std::bit_cast<std::uint32_t>(p), std::bit_cast<std::uint32_t>(poison_f32()));
  EXPECT_NE(std::bit_cast<std::uint32_t>(p), std::bit_cast<std::uint32_t>(kNaN));
}

TEST(Poison, FirstPoisonedFindsTheFirstOne) {
  auto v = random_floats(100, 5);
  EXPECT_EQ(first_poisoned(v), -1);
  EXPECT_EQ(first_poisoned(std::vector<float>{}), -1);
  v[70] = poison_f32();
  v[40] = poison_f32();
  EXPECT_EQ(first_poisoned(v), 40);
  v[0] = poison_f32();
  EXPECT_EQ(first_poisoned(v), 0);
  std::vector<float> all(16, poison_f32());
  EXPECT_EQ(first_poisoned(all), 0);
}

TEST(Poison, OrdinaryNaNIsNotPoison) {
  auto v = random_floats(32, 6);
  v[3] = kNaN;
  v[4] = -kNaN;
  v[5] = std::nanf("1");
  v[6] = kInf;
  v[7] = 0.0f * kInf;   // a NaN computed at run time
  EXPECT_EQ(first_poisoned(v), -1);
  v[20] = poison_f32();
  EXPECT_EQ(first_poisoned(v), 20);
}

// ---- problem files ----

class ProblemFile : public ::testing::Test {
 protected:
  void SetUp() override {
    static int counter = 0;
    path_ = (fs::temp_directory_path() /
             ("ellesmere_problems_" + std::to_string(::getpid()) + "_" + std::to_string(++counter) + ".txt"))
                .string();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove(path_, ec);
  }
  void write(const std::string& text) {
    std::ofstream out(path_, std::ios::binary);
    out << text;
  }
  std::string path_;
};

TEST_F(ProblemFile, TagsAndComments) {
  write(
      "# gemm_f32 problems shared by tests, benchmarks and the tuner\n"
      "\n"
      "gemm_f32:m64n64k64 test oclgrind\n"
      "gemm_f32:m1024n1024k1024 bench tune   # the usual square\n"
      "   gemm_f32:m1n4096k4096_tb\ttest  bench\n"
      "gemm_f32:m7n5k3\n"
      "   # indented comment\n"
      "gemm_f32:m2n2k2 # test  (the tag is commented out)\n");
  const auto lines = read_problem_file(path_);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0].problem, "gemm_f32:m64n64k64");
  EXPECT_EQ(lines[0].tags, (std::vector<std::string>{"test", "oclgrind"}));
  EXPECT_EQ(lines[1].problem, "gemm_f32:m1024n1024k1024");
  EXPECT_EQ(lines[1].tags, (std::vector<std::string>{"bench", "tune"}));
  EXPECT_EQ(lines[2].problem, "gemm_f32:m1n4096k4096_tb");
  EXPECT_EQ(lines[2].tags, (std::vector<std::string>{"test", "bench"}));
  EXPECT_TRUE(lines[3].tags.empty());
  EXPECT_TRUE(lines[4].tags.empty());
  EXPECT_TRUE(lines[0].has("oclgrind"));
  EXPECT_FALSE(lines[0].has("bench"));
  EXPECT_FALSE(lines[0].has("tes"));

  EXPECT_EQ(problems_tagged(path_, "test"),
            (std::vector<std::string>{"gemm_f32:m64n64k64", "gemm_f32:m1n4096k4096_tb"}));
  EXPECT_EQ(problems_tagged(path_, "bench"),
            (std::vector<std::string>{"gemm_f32:m1024n1024k1024", "gemm_f32:m1n4096k4096_tb"}));
  EXPECT_TRUE(problems_tagged(path_, "nothing").empty());
}

TEST_F(ProblemFile, MalformedLineThrowsNamingTheLine) {
  write("gemm_f32:m4n4k4 test\n# comment\n\ngemm_f32m4n4k4 test\ngemm_f32:m8n8k8 test\n");
  try {
    read_problem_file(path_);
    ADD_FAILURE() << "no FileError";
  } catch (const FileError& e) {
    EXPECT_TRUE(contains(e.what(), "line 4")) << e.what();
    EXPECT_TRUE(contains(e.what(), path_)) << e.what();
    EXPECT_TRUE(contains(e.what(), "gemm_f32m4n4k4")) << e.what();
  }
  write("gemm_f32:m4n4k4\ngemm_f32:m4m4k4 test\n");
  try {
    problems_tagged(path_, "test");
    ADD_FAILURE() << "no FileError";
  } catch (const FileError& e) {
    EXPECT_TRUE(contains(e.what(), "line 2")) << e.what();
  }
}

TEST_F(ProblemFile, MissingFileThrows) {
  EXPECT_THROW(read_problem_file(path_ + ".absent"), FileError);
}

}  // namespace
}  // namespace ellesmere::reference
