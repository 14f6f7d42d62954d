// Unit tests of the text forms shared by Impls, the tuning database and the CLI: ops::Params / ops::ParamSpace,
// ops::ProblemText with problem_distance, and GemmProblem::parse/str.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "ellesmere/error.hpp"
#include "ellesmere/ops.hpp"
#include "ops/params.hpp"
#include "ops/problem_text.hpp"

namespace ellesmere {
namespace {

using ops::Params;
using ops::ParamSpace;
using ops::ProblemText;

// Runs f, which must throw InvalidArgument whose what() contains every one of needles.
template <class F>
void expect_invalid(F&& f, std::initializer_list<std::string> needles) {
  try {
    f();
    ADD_FAILURE() << "no InvalidArgument thrown (expected one naming \"" << *needles.begin() << "\")";
  } catch (const InvalidArgument& e) {
    const std::string what = e.what();
    for (const auto& n : needles) EXPECT_NE(what.find(n), std::string::npos) << "\"" << n << "\" not in: " << what;
  }
}

// ---- Params ----

TEST(Params, SetKeepsInsertionOrderAndReplacesInPlace) {
  Params p;
  EXPECT_TRUE(p.empty());
  p.set("TM", 64);
  p.set("TN", 32);
  p.set("TK", 16);
  p.set("TN", 8);   // replaces, does not move
  ASSERT_EQ(p.items().size(), 3u);
  EXPECT_EQ(p.items()[0], (std::pair<std::string, int>{"TM", 64}));
  EXPECT_EQ(p.items()[1], (std::pair<std::string, int>{"TN", 8}));
  EXPECT_EQ(p.items()[2], (std::pair<std::string, int>{"TK", 16}));
  EXPECT_EQ(p.str(), "TM=64 TN=8 TK=16");
  EXPECT_EQ(p.defines(), "-DTM=64 -DTN=8 -DTK=16");
}

TEST(Params, FindAndGet) {
  const Params p{{"WPT", 4}, {"VW", 2}};
  EXPECT_EQ(p.find("WPT"), 4);
  EXPECT_EQ(p.find("VW"), 2);
  EXPECT_FALSE(p.find("TM").has_value());
  EXPECT_FALSE(p.find("wpt").has_value());   // names are case-sensitive, like -D defines
  EXPECT_EQ(p.get("VW"), 2);
  expect_invalid([&] { (void)p.get("TM"); }, {"TM", "WPT=4 VW=2"});
}

TEST(Params, EmptyTextForms) {
  const Params p;
  EXPECT_EQ(p.str(), "");
  EXPECT_EQ(p.defines(), "");
  EXPECT_TRUE(Params::parse("").empty());
  EXPECT_TRUE(Params::parse("  , \t ,").empty());
}

TEST(Params, ParseSpacesOrCommasPreservesOrder) {
  const Params expected{{"TM", 64}, {"TN", 32}, {"TK", 16}, {"WPT", 4}, {"VW", 1}};
  EXPECT_EQ(Params::parse("TM=64 TN=32 TK=16 WPT=4 VW=1"), expected);
  EXPECT_EQ(Params::parse("TM=64,TN=32,TK=16,WPT=4,VW=1"), expected);
  EXPECT_EQ(Params::parse("  TM=64 ,TN=32\tTK=16, WPT=4   VW=1 "), expected);
  // Order is part of the value: the same items in another order are another Params.
  EXPECT_NE(Params::parse("TN=32 TM=64 TK=16 WPT=4 VW=1"), expected);
  EXPECT_EQ(Params::parse("_X1=3 a_b=0").str(), "_X1=3 a_b=0");
}

TEST(Params, RoundTripSeededRandom) {
  std::mt19937 gen(20240611);
  std::uniform_int_distribution<int> value(-100000, 100000);
  std::uniform_int_distribution<int> count(1, 8);
  const char* names[] = {"TM", "TN", "TK", "WPT", "VW", "WG", "KWID", "UNROLL"};
  for (int trial = 0; trial < 200; ++trial) {
    Params p;
    const int n = count(gen);
    for (int i = 0; i < n; ++i) p.set(names[(trial + i) % 8], value(gen));
    const Params back = Params::parse(p.str());
    EXPECT_EQ(back, p) << p.str();
    EXPECT_EQ(back.str(), p.str());
  }
}

TEST(Params, DefinesText) {
  const Params p = Params::parse("TM=128 VW=4 NEG=-2");
  EXPECT_EQ(p.defines(), "-DTM=128 -DVW=4 -DNEG=-2");
}

TEST(Params, ParseRejectsMalformedItems) {
  expect_invalid([] { Params::parse("TM="); }, {"TM="});
  expect_invalid([] { Params::parse("TM=64 =4"); }, {"=4"});
  expect_invalid([] { Params::parse("TM=4x"); }, {"TM=4x"});
  expect_invalid([] { Params::parse("TM=4.5"); }, {"TM=4.5"});
  expect_invalid([] { Params::parse("TM"); }, {"TM"});
  expect_invalid([] { Params::parse("TM=64 TN"); }, {"TN"});
  expect_invalid([] { Params::parse("4TM=4"); }, {"4TM=4"});
  expect_invalid([] { Params::parse("T-M=4"); }, {"T-M=4"});
  expect_invalid([] { Params::parse("TM==4"); }, {"TM==4"});
  expect_invalid([] { Params::parse("TM=99999999999"); }, {"TM=99999999999"});   // out of int range
}

TEST(Params, ParseRejectsDuplicateNames) {
  expect_invalid([] { Params::parse("TM=64 TN=32 TM=64"); }, {"TM", "twice"});
  expect_invalid([] { Params::parse("VW=1,VW=2"); }, {"VW"});
}

// ---- ParamSpace ----

ParamSpace test_space() {
  ParamSpace s;
  s.params.push_back({"TM", {16, 32, 64}, 32, "rows per work-group"});
  s.params.push_back({"TN", {16, 32, 64}, 64, "columns per work-group"});
  s.params.push_back({"VW", {1, 2, 4}, 4, "vector width"});
  return s;
}

TEST(ParamSpace, DefaultsInSpaceOrder) {
  EXPECT_EQ(test_space().defaults().str(), "TM=32 TN=64 VW=4");
  EXPECT_TRUE(ParamSpace{}.defaults().empty());
}

TEST(ParamSpace, CompleteFillsDefaultsInSpaceOrder) {
  const ParamSpace s = test_space();
  EXPECT_EQ(s.complete(Params{}).str(), "TM=32 TN=64 VW=4");
  EXPECT_EQ(s.complete(Params{{"VW", 1}}).str(), "TM=32 TN=64 VW=1");
  // The partial set's order does not matter; the space's does.
  EXPECT_EQ(s.complete(Params{{"VW", 2}, {"TM", 16}}).str(), "TM=16 TN=64 VW=2");
  EXPECT_EQ(s.complete(Params{{"TN", 16}, {"TM", 64}, {"VW", 1}}).str(), "TM=64 TN=16 VW=1");
}

TEST(ParamSpace, CompleteRejectsUnknownNames) {
  const ParamSpace s = test_space();
  expect_invalid([&] { s.complete(Params{{"TM", 16}, {"TK", 8}}); }, {"TK", "TM TN VW"});
  expect_invalid([] { ParamSpace{}.complete(Params{{"TM", 16}}); }, {"TM", "no parameters"});
}

TEST(ParamSpace, Find) {
  const ParamSpace s = test_space();
  ASSERT_NE(s.find("TN"), nullptr);
  EXPECT_EQ(s.find("TN")->default_value, 64);
  EXPECT_EQ(s.find("TN")->values, (std::vector<int>{16, 32, 64}));
  EXPECT_EQ(s.find("TK"), nullptr);
}

// ---- ProblemText ----

TEST(ProblemText, ParsesFieldsAndFlags) {
  const ProblemText p = ProblemText::parse("gemm_f32:m64n32k16_ta_tb");
  EXPECT_EQ(p.op, "gemm_f32");
  EXPECT_EQ(p.fields.size(), 3u);
  EXPECT_EQ(p.fields.at("m"), 64);
  EXPECT_EQ(p.fields.at("n"), 32);
  EXPECT_EQ(p.fields.at("k"), 16);
  EXPECT_EQ(p.flags, (std::set<std::string>{"ta", "tb"}));

  const ProblemText s = ProblemText::parse("spmm_csr:m4096k4096n64d0.02");
  EXPECT_EQ(s.op, "spmm_csr");
  EXPECT_DOUBLE_EQ(s.fields.at("d"), 0.02);
  EXPECT_TRUE(s.flags.empty());

  const ProblemText c = ProblemText::parse("conv_f16:n1c64h56w56k64r3s3p1u1");
  EXPECT_EQ(c.fields.size(), 9u);
  EXPECT_EQ(c.fields.at("p"), 1);
}

TEST(ProblemText, RejectsMalformedText) {
  expect_invalid([] { ProblemText::parse("gemm_f32m64n64k64"); }, {"gemm_f32m64n64k64"});   // no ':'
  expect_invalid([] { ProblemText::parse(":m64n64k64"); }, {":m64n64k64"});                 // empty op
  expect_invalid([] { ProblemText::parse("gemm_f32:m64m32k16"); }, {"gemm_f32:m64m32k16", "m", "twice"});
  expect_invalid([] { ProblemText::parse("gemm_f32:m64n32k16_ta_ta"); }, {"ta", "twice"});
  expect_invalid([] { ProblemText::parse("gemm_f32:m64n-32k16"); }, {"gemm_f32:m64n-32k16"});
  expect_invalid([] { ProblemText::parse("gemm_f32:m64n32k1.2.3"); }, {"gemm_f32:m64n32k1.2.3", "k"});
  expect_invalid([] { ProblemText::parse("gemm_f32:64"); }, {"gemm_f32:64"});
}

// ---- GemmProblem ----

TEST(GemmProblem, CanonicalText) {
  EXPECT_EQ((GemmProblem{64, 32, 16, false, false}).str(), "gemm_f32:m64n32k16");
  EXPECT_EQ((GemmProblem{64, 32, 16, true, false}).str(), "gemm_f32:m64n32k16_ta");
  EXPECT_EQ((GemmProblem{64, 32, 16, false, true}).str(), "gemm_f32:m64n32k16_tb");
  EXPECT_EQ((GemmProblem{64, 32, 16, true, true}).str(), "gemm_f32:m64n32k16_ta_tb");
}

TEST(GemmProblem, ParseGivesTheFields) {
  const GemmProblem g = GemmProblem::parse("gemm_f32:m64n32k16_ta_tb");
  EXPECT_EQ(g.m, 64);
  EXPECT_EQ(g.n, 32);
  EXPECT_EQ(g.k, 16);
  EXPECT_TRUE(g.trans_a);
  EXPECT_TRUE(g.trans_b);
  // Field and flag order in the text do not matter; str() is canonical.
  EXPECT_EQ(GemmProblem::parse("gemm_f32:k16n32m64_tb_ta"), g);
  EXPECT_EQ(GemmProblem::parse("gemm_f32:k16n32m64_tb_ta").str(), "gemm_f32:m64n32k16_ta_tb");
  EXPECT_EQ(GemmProblem::parse("gemm_f32:m0n0k0").str(), "gemm_f32:m0n0k0");
  EXPECT_EQ(GemmProblem::parse("gemm_f32:m2147483647n1k1").m, 2147483647);
}

TEST(GemmProblem, RoundTripSeededRandom) {
  std::mt19937_64 gen(77);
  std::uniform_int_distribution<std::int64_t> dim(0, 100000);
  for (int i = 0; i < 300; ++i) {
    GemmProblem g{dim(gen), dim(gen), dim(gen), (i & 1) != 0, (i & 2) != 0};
    const std::string text = g.str();
    EXPECT_EQ(GemmProblem::parse(text), g) << text;
    EXPECT_EQ(GemmProblem::parse(text).str(), text);
  }
}

TEST(GemmProblem, ParseRejectsMalformedText) {
  expect_invalid([] { GemmProblem::parse("gemm_f32:m4n4"); }, {"gemm_f32:m4n4", "missing k"});
  expect_invalid([] { GemmProblem::parse("gemm_f32:n4k4"); }, {"missing m"});
  expect_invalid([] { GemmProblem::parse("gemm_f32:m4n4k4x2"); }, {"gemm_f32:m4n4k4x2", "unknown field x"});
  expect_invalid([] { GemmProblem::parse("gemm_f32:m4n4k4_tc"); }, {"gemm_f32:m4n4k4_tc", "unknown flag tc"});
  expect_invalid([] { GemmProblem::parse("gemm_f32:m4n4k4m4"); }, {"m", "twice"});
  expect_invalid([] { GemmProblem::parse("gemm_f32:m4.5n4k4"); }, {"gemm_f32:m4.5n4k4", "m"});
  expect_invalid([] { GemmProblem::parse("gemm_f32:m-4n4k4"); }, {"gemm_f32:m-4n4k4"});
  expect_invalid([] { GemmProblem::parse("gemm_f32:m2147483648n1k1"); }, {"m"});
  expect_invalid([] { GemmProblem::parse("gemm_f32m4n4k4"); }, {"gemm_f32m4n4k4"});
  expect_invalid([] { GemmProblem::parse(":m4n4k4"); }, {":m4n4k4"});
  expect_invalid([] { GemmProblem::parse("gemm_i8:m4n4k4"); }, {"gemm_i8", "not gemm_f32"});
  expect_invalid([] { GemmProblem::parse(""); }, {"<op>:<fields>"});
}

TEST(GemmProblem, Flops) { EXPECT_DOUBLE_EQ((GemmProblem{3, 5, 7}).flops(), 2.0 * 3 * 5 * 7); }

// ---- problem_distance ----

double distance(const std::string& a, const std::string& b) {
  return ops::problem_distance(ProblemText::parse(a), ProblemText::parse(b));
}

TEST(ProblemDistance, ZeroForEqualProblems) {
  EXPECT_EQ(distance("gemm_f32:m64n32k16", "gemm_f32:m64n32k16"), 0.0);
  EXPECT_EQ(distance("gemm_f32:m64n32k16_ta_tb", "gemm_f32:k16n32m64_tb_ta"), 0.0);
}

TEST(ProblemDistance, InfiniteWhenNotComparable) {
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(distance("gemm_f32:m64n32k16", "gemm_i8:m64n32k16"), inf);          // op
  EXPECT_EQ(distance("gemm_f32:m64n32k16", "gemm_f32:m64n32k16_ta"), inf);      // flags
  EXPECT_EQ(distance("gemm_f32:m64n32k16_ta", "gemm_f32:m64n32k16_tb"), inf);   // flags
  EXPECT_EQ(distance("gemm_f32:m64n32k16", "gemm_f32:m64n32"), inf);            // field count
  EXPECT_EQ(distance("gemm_f32:m64n32k16", "gemm_f32:m64n32d16"), inf);         // field names
}

TEST(ProblemDistance, MatchesTheLog2Formula) {
  const double d = distance("gemm_f32:m63n32k16", "gemm_f32:m255n32k8");
  EXPECT_NEAR(d, std::abs(std::log2(64.0) - std::log2(256.0)) + std::abs(std::log2(17.0) - std::log2(9.0)), 1e-12);
}

TEST(ProblemDistance, SymmetricAndMonotoneSeeded) {
  std::mt19937 gen(4242);
  std::uniform_int_distribution<int> dim(1, 8192);
  for (int i = 0; i < 200; ++i) {
    const int m = dim(gen), n = dim(gen), k = dim(gen);
    const std::string base = GemmProblem{m, n, k}.str();
    const std::string other = GemmProblem{dim(gen), dim(gen), dim(gen)}.str();
    EXPECT_DOUBLE_EQ(distance(base, other), distance(other, base)) << base << " " << other;
    EXPECT_GE(distance(base, other), 0.0);
    // Growing the difference in one dimension never brings a problem closer.
    double previous = 0;
    for (int step = 1; step <= 6; ++step) {
      const std::string farther = GemmProblem{m + step * 1000, n, k}.str();
      const double d = distance(base, farther);
      EXPECT_GT(d, previous) << base << " -> " << farther;
      previous = d;
    }
  }
}

}  // namespace
}  // namespace ellesmere
