// Tests for src/io (tensor_io.hpp): Tensor views, .npy round trips and numpy-written fixtures (tests/data),
// ONNX TensorProtos from Debian's libonnx-testdata and built here, and the FileError for each malformed input.
#include <bit>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include "ellesmere/error.hpp"
#include "ellesmere/tensor_io.hpp"

#ifndef ELLESMERE_TEST_DATA_DIR
#error "define ELLESMERE_TEST_DATA_DIR as the path of tests/data"
#endif

namespace ellesmere {
namespace {

namespace fs = std::filesystem;
using Shape = std::vector<std::int64_t>;

const fs::path kDataDir = ELLESMERE_TEST_DATA_DIR;
const fs::path kOnnxNodeDir = "/usr/share/libonnx-testdata/data/node";

// ---- helpers ------------------------------------------------------------------------------------------------------

class TensorIo : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / fmt::format("ellesmere_tensor_io_{}_{}", ::getpid(), info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string file(std::string_view name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

void write_file(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

template <class T> std::string as_bytes(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

// A .npy file from its parts; the header text is used verbatim so tests control every byte of it.
std::string npy_bytes(std::string_view header, std::string_view data, int major = 1) {
  std::string s("\x93NUMPY", 6);
  s += static_cast<char>(major);
  s += '\0';
  const auto len = static_cast<std::uint32_t>(header.size());
  for (int i = 0; i < (major == 1 ? 2 : 4); ++i) s += static_cast<char>((len >> (8 * i)) & 0xff);
  s += header;
  s += data;
  return s;
}

// Passes when f throws a FileError for `path` whose what() contains the path and every one of `parts`.
template <class F>
::testing::AssertionResult throws_file_error(F&& f, const std::string& path,
                                             std::initializer_list<std::string_view> parts) {
  try {
    f();
  } catch (const FileError& e) {
    const std::string what = e.what();
    if (e.path() != path || what.find(path) == std::string::npos) {
      return ::testing::AssertionFailure() << "FileError does not name " << path << ": " << what;
    }
    for (const std::string_view part : parts) {
      if (what.find(part) == std::string::npos) {
        return ::testing::AssertionFailure() << "FileError lacks \"" << part << "\": " << what;
      }
    }
    return ::testing::AssertionSuccess() << what;
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw something other than FileError: " << e.what();
  }
  return ::testing::AssertionFailure() << "no exception for " << path;
}

template <class T> std::vector<T> to_vector(const Tensor& t) {
  const auto v = t.values<T>();
  return {v.begin(), v.end()};
}

// The formulas tests/data/make_npy_fixtures.py uses; all exact in their types.
float f32_formula(int i) { return static_cast<float>((i * 37) % 23 - 11) * 0.125f; }
std::vector<float> f32_formula_values(int n) {
  std::vector<float> v;
  for (int i = 0; i < n; ++i) v.push_back(f32_formula(i));
  return v;
}

// ---- Tensor -------------------------------------------------------------------------------------------------------

TEST(Tensor, DtypeNamesAndSizes) {
  EXPECT_STREQ(dtype_name(DType::f32), "f32");
  EXPECT_STREQ(dtype_name(DType::f16), "f16");
  EXPECT_STREQ(dtype_name(DType::i8), "i8");
  EXPECT_STREQ(dtype_name(DType::u8), "u8");
  EXPECT_STREQ(dtype_name(DType::i32), "i32");
  EXPECT_EQ(dtype_size(DType::f32), 4u);
  EXPECT_EQ(dtype_size(DType::f16), 2u);
  EXPECT_EQ(dtype_size(DType::i8), 1u);
  EXPECT_EQ(dtype_size(DType::u8), 1u);
  EXPECT_EQ(dtype_size(DType::i32), 4u);
}

TEST(Tensor, ElementCount) {
  Tensor t;
  EXPECT_EQ(t.element_count(), 1);  // scalar
  t.shape = {0};
  EXPECT_EQ(t.element_count(), 0);
  t.shape = {2, 3, 4};
  EXPECT_EQ(t.element_count(), 24);
  t.shape = {std::int64_t{1} << 40, std::int64_t{1} << 40, 0};  // zero wins over an overflowing prefix
  EXPECT_EQ(t.element_count(), 0);
  t.shape = {std::int64_t{1} << 48};
  EXPECT_EQ(t.element_count(), std::int64_t{1} << 48);
  t.shape = {(std::int64_t{1} << 48) + 1};
  EXPECT_THROW(t.element_count(), InvalidArgument);
  t.shape = {std::numeric_limits<std::int64_t>::max(), 2};
  EXPECT_THROW(t.element_count(), InvalidArgument);
  t.shape = {1 << 30, 1 << 30, 1 << 30};  // 2^90 in total: must not wrap around to something plausible
  EXPECT_THROW(t.element_count(), InvalidArgument);
  t.shape = {3, -1};
  try {
    t.element_count();
    ADD_FAILURE() << "no exception";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("negative dimension (-1)"), std::string::npos) << e.what();
  }
}

TEST(Tensor, FromAndValues) {
  const std::vector<std::int32_t> v = {1, -2, 3, -4, 5, std::numeric_limits<std::int32_t>::min()};
  Tensor t = Tensor::from<std::int32_t>({2, 3}, v);
  EXPECT_EQ(t.dtype, DType::i32);
  EXPECT_EQ(t.shape, (Shape{2, 3}));
  EXPECT_EQ(t.data.size(), 24u);
  EXPECT_EQ(to_vector<std::int32_t>(t), v);

  t.values<std::int32_t>()[4] = 42;  // the mutable view writes through
  EXPECT_EQ(std::as_const(t).values<std::int32_t>()[4], 42);

  EXPECT_THROW(t.values<float>(), InvalidArgument);
  EXPECT_THROW(std::as_const(t).values<std::int8_t>(), InvalidArgument);
  EXPECT_THROW(std::as_const(t).values<std::uint16_t>(), InvalidArgument);
  t.data.pop_back();  // data no longer matches the shape
  EXPECT_THROW(t.values<std::int32_t>(), InvalidArgument);

  EXPECT_THROW(Tensor::from<float>({2, 3}, f32_formula_values(5)), InvalidArgument);
  EXPECT_THROW(Tensor::from<float>({-1}, {}), InvalidArgument);
  EXPECT_THROW(Tensor::from<float>({-2, -3}, f32_formula_values(6)), InvalidArgument);

  const Tensor scalar = Tensor::from<std::uint8_t>({}, std::vector<std::uint8_t>{7});
  EXPECT_EQ(scalar.dtype, DType::u8);
  EXPECT_EQ(scalar.values<std::uint8_t>()[0], 7);
  const Tensor empty = Tensor::from<std::uint16_t>({4, 0}, {});
  EXPECT_EQ(empty.dtype, DType::f16);
  EXPECT_TRUE(empty.data.empty());
  EXPECT_EQ(Tensor::from<std::int8_t>({1}, std::vector<std::int8_t>{-5}).dtype, DType::i8);
  EXPECT_EQ(Tensor::from<float>({1}, std::vector<float>{1.f}).dtype, DType::f32);
}

// ---- .npy round trips ---------------------------------------------------------------------------------------------

template <class T> std::vector<T> random_values(std::mt19937& rng, std::size_t n) {
  std::vector<T> v(n);
  if constexpr (std::is_floating_point_v<T>) {
    std::uniform_real_distribution<T> dist(-1000, 1000);
    for (auto& x : v) x = dist(rng);
  } else {
    std::uniform_int_distribution<std::int64_t> dist(std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
    for (auto& x : v) x = static_cast<T>(dist(rng));
  }
  return v;
}

template <class T> void check_round_trip(const std::string& path, std::mt19937& rng) {
  for (const Shape& shape : {Shape{}, Shape{0}, Shape{1}, Shape{7}, Shape{3, 5}, Shape{2, 3, 4}}) {
    SCOPED_TRACE(fmt::format("shape ({})", fmt::join(shape, ", ")));
    std::size_t n = 1;
    for (auto d : shape) n *= static_cast<std::size_t>(d);
    const std::vector<T> values = random_values<T>(rng, n);
    const Tensor written = Tensor::from<T>(shape, values);
    write_npy(path, written);

    const Tensor read = read_npy(path);
    EXPECT_EQ(read.dtype, written.dtype);
    EXPECT_EQ(read.shape, shape);
    EXPECT_EQ(to_vector<T>(read), values);

    // numpy's layout: version 1.0, data on a 64-byte boundary, header ending in '\n'.
    const std::string bytes = read_file(path);
    const std::size_t data_offset = bytes.size() - n * sizeof(T);
    EXPECT_EQ(data_offset % 64, 0u);
    EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
    EXPECT_EQ(bytes[data_offset - 1], '\n');
  }
}

TEST_F(TensorIo, NpyRoundTripEveryDtype) {
  std::mt19937 rng(20240611);
  const std::string path = file("round_trip.npy");
  {
    SCOPED_TRACE("f32");
    check_round_trip<float>(path, rng);
  }
  {
    SCOPED_TRACE("f16");
    check_round_trip<std::uint16_t>(path, rng);
  }
  {
    SCOPED_TRACE("i8");
    check_round_trip<std::int8_t>(path, rng);
  }
  {
    SCOPED_TRACE("u8");
    check_round_trip<std::uint8_t>(path, rng);
  }
  {
    SCOPED_TRACE("i32");
    check_round_trip<std::int32_t>(path, rng);
  }
}

TEST_F(TensorIo, NpyWriteHeaderText) {
  const std::string path = file("header.npy");
  write_npy(path, Tensor::from<std::int8_t>({5}, std::vector<std::int8_t>{1, 2, 3, 4, 5}));
  const std::string bytes = read_file(path);
  ASSERT_EQ(bytes.size(), 128u + 5u);  // 10-byte preamble + 57-byte dict + '\n' spills into a second 64-byte block
  EXPECT_EQ(bytes.substr(10, 57), "{'descr': '|i1', 'fortran_order': False, 'shape': (5,), }");
  EXPECT_EQ(bytes.substr(67, 61), std::string(60, ' ') + "\n");
  write_npy(path, Tensor::from<float>({}, std::vector<float>{2.5f}));
  EXPECT_NE(read_file(path).find("'descr': '<f4', 'fortran_order': False, 'shape': (), }"), std::string::npos);
}

TEST_F(TensorIo, NpyWriteFailures) {
  const std::string path = file("no/such/dir/x.npy");
  EXPECT_TRUE(throws_file_error([&] { write_npy(path, Tensor::from<float>({1}, std::vector<float>{1.f})); }, path,
                                {"cannot open for writing"}));
  Tensor bad = Tensor::from<float>({2}, std::vector<float>{1.f, 2.f});
  bad.data.pop_back();
  EXPECT_THROW(write_npy(file("bad.npy"), bad), InvalidArgument);
  bad.shape = {-2};
  EXPECT_THROW(write_npy(file("bad.npy"), bad), InvalidArgument);
}

// ---- .npy fixtures written by numpy -------------------------------------------------------------------------------

std::string fixture(std::string_view name) { return (kDataDir / name).string(); }

TEST(NpyFixtures, F32) {
  const Tensor t = read_npy(fixture("f32_3x5.npy"));
  EXPECT_EQ(t.dtype, DType::f32);
  EXPECT_EQ(t.shape, (Shape{3, 5}));
  EXPECT_EQ(to_vector<float>(t), f32_formula_values(15));
}

TEST(NpyFixtures, F16) {
  const Tensor t = read_npy(fixture("f16_7.npy"));
  EXPECT_EQ(t.dtype, DType::f16);
  EXPECT_EQ(t.shape, (Shape{7}));
  // numpy's binary16 rounding of ((i*5) % 13 - 6) / 2 + 1/1024, e.g. 0xc200 = -3.0 and 0x3802 = 0.50098 (i = 4).
  EXPECT_EQ(to_vector<std::uint16_t>(t), (std::vector<std::uint16_t>{0xc200, 0xb7fc, 0x4000, 0xbfff, 0x3802, 0x4200,
                                                                     0xbbfe}));
}

TEST(NpyFixtures, I8) {
  const Tensor t = read_npy(fixture("i8_2x3x4.npy"));
  EXPECT_EQ(t.dtype, DType::i8);
  EXPECT_EQ(t.shape, (Shape{2, 3, 4}));
  std::vector<std::int8_t> expected;
  for (int i = 0; i < 24; ++i) expected.push_back(static_cast<std::int8_t>((i * 29) % 256 - 128));
  EXPECT_EQ(to_vector<std::int8_t>(t), expected);
}

TEST(NpyFixtures, U8) {
  const Tensor t = read_npy(fixture("u8_4.npy"));
  EXPECT_EQ(t.dtype, DType::u8);
  EXPECT_EQ(t.shape, (Shape{4}));
  EXPECT_EQ(to_vector<std::uint8_t>(t), (std::vector<std::uint8_t>{3, 100, 197, 38}));
}

TEST(NpyFixtures, I32) {
  const Tensor t = read_npy(fixture("i32_3x2.npy"));
  EXPECT_EQ(t.dtype, DType::i32);
  EXPECT_EQ(t.shape, (Shape{3, 2}));
  std::vector<std::int32_t> expected;
  for (std::uint32_t i = 0; i < 6; ++i) expected.push_back(static_cast<std::int32_t>(i * 2654435761u));
  EXPECT_EQ(to_vector<std::int32_t>(t), expected);
  EXPECT_EQ(expected[1], -1640531535);  // the formula really does wrap
}

TEST(NpyFixtures, I32Scalar) {
  const Tensor t = read_npy(fixture("i32_scalar.npy"));
  EXPECT_EQ(t.dtype, DType::i32);
  EXPECT_TRUE(t.shape.empty());
  EXPECT_EQ(to_vector<std::int32_t>(t), (std::vector<std::int32_t>{-123456}));
}

TEST(NpyFixtures, FortranOrderIsConvertedToCOrder) {
  const std::string path = fixture("f32_fortran_3x4.npy");
  ASSERT_NE(read_file(path).find("'fortran_order': True"), std::string::npos);
  const Tensor t = read_npy(path);
  EXPECT_EQ(t.dtype, DType::f32);
  EXPECT_EQ(t.shape, (Shape{3, 4}));
  std::vector<float> expected;
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 4; ++c) expected.push_back(static_cast<float>(r * 10 + c) + 0.5f);
  }
  EXPECT_EQ(to_vector<float>(t), expected);
}

TEST(NpyFixtures, Version2And3) {
  const Tensor v2 = read_npy(fixture("f32_v2_2x2.npy"));
  EXPECT_EQ(read_file(fixture("f32_v2_2x2.npy"))[6], '\x02');
  EXPECT_EQ(v2.shape, (Shape{2, 2}));
  EXPECT_EQ(to_vector<float>(v2), f32_formula_values(4));
  const Tensor v3 = read_npy(fixture("f32_v3_2x3.npy"));
  EXPECT_EQ(read_file(fixture("f32_v3_2x3.npy"))[6], '\x03');
  EXPECT_EQ(v3.shape, (Shape{2, 3}));
  EXPECT_EQ(to_vector<float>(v3), f32_formula_values(6));
}

TEST(NpyFixtures, RejectsBigEndianAndFloat64) {
  const std::string be = fixture("f32_bigendian_3.npy");
  EXPECT_TRUE(throws_file_error([&] { read_npy(be); }, be, {"unsupported descr '>f4': big-endian"}));
  const std::string f64 = fixture("f64_3.npy");
  EXPECT_TRUE(throws_file_error([&] { read_npy(f64); }, f64,
                                {"unsupported descr '<f8'; supported: '<f4', '<f2', '|i1', '|u1', '<i4'"}));
}

// ---- .npy headers numpy would also accept -------------------------------------------------------------------------

TEST_F(TensorIo, NpyHeaderSpellings) {
  const std::string path = file("spelling.npy");
  const std::string f32x3 = as_bytes(std::vector<float>{1.5f, -2.f, 3.25f});
  struct Case {
    std::string header;
    std::string data;
    DType dtype;
    Shape shape;
  };
  const Case cases[] = {
      {R"({"shape": (3,), "fortran_order": False, "descr": "<f4"})", f32x3, DType::f32, {3}},
      {"{ 'descr' : '=f4' ,\t'fortran_order' : False , 'shape' : ( 3 , ) , }      \n", f32x3, DType::f32, {3}},
      {"{'descr': 'f4', 'fortran_order': False, 'shape': (3L,), }\n", f32x3, DType::f32, {3}},
      {"{'descr': '|f4', 'fortran_order': True, 'shape': (3), }\n", f32x3, DType::f32, {3}},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 1), }\n", f32x3, DType::f32, {1, 3, 1}},
      {"{'descr': 'i1', 'fortran_order': False, 'shape': (2,), }\n", "\x80\x7f", DType::i8, {2}},
      {"{'descr': '>i1', 'fortran_order': False, 'shape': (2,), }\n", "\x80\x7f", DType::i8, {2}},
      {"{'descr': 'u1', 'fortran_order': False, 'shape': (), }\n", "\xff", DType::u8, {}},
      {"{'descr': '=i4', 'fortran_order': False, 'shape': (0, 5), }\n", "", DType::i32, {0, 5}},
      {"{'descr': '<f2', 'fortran_order': False, 'shape': (1,), }\n", std::string("\x00\x3c", 2), DType::f16, {1}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.header);
    write_file(path, npy_bytes(c.header, c.data));
    const Tensor t = read_npy(path);
    EXPECT_EQ(t.dtype, c.dtype);
    EXPECT_EQ(t.shape, c.shape);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(t.data.data()), t.data.size()), c.data);
  }
  // Versions 2.0 and 3.0 differ only in the 4-byte header length.
  for (int major : {2, 3}) {
    write_file(path, npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }\n", f32x3, major));
    EXPECT_EQ(to_vector<float>(read_npy(path)), (std::vector<float>{1.5f, -2.f, 3.25f}));
  }
}

TEST_F(TensorIo, NpyFortranOrder3d) {
  // Fortran order puts element [i][j][k] of a (2, 3, 4) array at i + 2*j + 6*k.
  std::vector<std::int32_t> column_major(24);
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 3; ++j) {
      for (int k = 0; k < 4; ++k) column_major[i + 2 * j + 6 * k] = i * 100 + j * 10 + k;
    }
  }
  const std::string path = file("fortran.npy");
  write_file(path, npy_bytes("{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3, 4), }\n",
                             as_bytes(column_major)));
  const Tensor t = read_npy(path);
  EXPECT_EQ(t.shape, (Shape{2, 3, 4}));
  std::vector<std::int32_t> expected;
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 3; ++j) {
      for (int k = 0; k < 4; ++k) expected.push_back(i * 100 + j * 10 + k);
    }
  }
  EXPECT_EQ(to_vector<std::int32_t>(t), expected);

  write_file(path, npy_bytes("{'descr': '<i4', 'fortran_order': True, 'shape': (3, 0, 2), }\n", ""));
  EXPECT_EQ(read_npy(path).shape, (Shape{3, 0, 2}));
}

// ---- malformed .npy -----------------------------------------------------------------------------------------------

TEST_F(TensorIo, NpyMalformed) {
  const std::string path = file("bad.npy");
  const std::string f32x12 = as_bytes(f32_formula_values(12));
  const auto rejects = [&](std::string_view bytes, std::initializer_list<std::string_view> parts) {
    write_file(path, bytes);
    return throws_file_error([&] { read_npy(path); }, path, parts);
  };
  const std::string missing = file("missing.npy");
  EXPECT_TRUE(throws_file_error([&] { read_npy(missing); }, missing, {"cannot open for reading"}));
  EXPECT_TRUE(throws_file_error([&] { read_npy(dir_.string()); }, dir_.string(), {"is a directory"}));

  EXPECT_TRUE(rejects("", {"truncated", "only 0 bytes"}));
  EXPECT_TRUE(rejects("\x93NUM", {"truncated", "only 4 bytes"}));
  EXPECT_TRUE(rejects("PK\x03\x04 this is a zip file", {"not a .npy file", "magic"}));
  EXPECT_TRUE(rejects("\x93NUMPX\x01\x00\x10\x00", {"not a .npy file"}));
  EXPECT_TRUE(rejects(std::string("\x93NUMPY\x01\x00\x10", 9), {"truncated", "header length"}));
  EXPECT_TRUE(rejects(std::string("\x93NUMPY\x02\x00\x10\x00\x00", 11), {"truncated", "header length"}));
  EXPECT_TRUE(rejects(npy_bytes("{}", "", 4), {"unsupported .npy format version 4.0"}));
  EXPECT_TRUE(rejects(std::string("\x93NUMPY\x01\x00\xe8\x03{'descr'", 17),
                      {"header length 1000 at byte 8 runs past the end of the file"}));

  const auto header = [](std::string_view dict) { return npy_bytes(dict, ""); };
  EXPECT_TRUE(rejects(header("hello"), {"malformed header", "expected '{'", "\"hello\""}));
  EXPECT_TRUE(rejects(header("{'descr': '<f4', 'fortran_order': False}"), {"header has no 'shape' key"}));
  EXPECT_TRUE(rejects(header("{'shape': (0,), 'fortran_order': False}"), {"header has no 'descr' key"}));
  EXPECT_TRUE(rejects(header("{'descr': '<f4', 'shape': (0,)}"), {"header has no 'fortran_order' key"}));
  EXPECT_TRUE(rejects(header("{'descr': '<f4', 'fortran_order': False, 'shape': (0,), 'extra': 1}"),
                      {"unexpected key 'extra'"}));
  EXPECT_TRUE(rejects(header("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (0,)}"),
                      {"duplicate key 'descr'"}));
  EXPECT_TRUE(rejects(header("{'descr': '<f4', 'fortran_order': False, 'shape': (0,)"), {"expected ','"}));
  EXPECT_TRUE(rejects(header("{'descr': '<f4', 'fortran_order': false, 'shape': (0,)}"),
                      {"expected True or False"}));
  EXPECT_TRUE(rejects(header("{'descr': '<f4', 'fortran_order': False, 'shape': (3, x)}"),
                      {"expected an integer in 'shape'"}));
  EXPECT_TRUE(rejects(header("{'descr': '<f4, 'fortran_order': False, 'shape': (0,)}"), {"malformed header"}));
  EXPECT_TRUE(rejects(header("{'descr': '<f4', 'fortran_order': False, 'shape': (0,)} junk"),
                      {"unexpected text after the closing '}'"}));
  EXPECT_TRUE(rejects(header("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (0,)}"),
                      {"structured dtypes"}));
  EXPECT_TRUE(rejects(header("{'descr': '<U3', 'fortran_order': False, 'shape': (0,)}"),
                      {"unsupported descr '<U3'"}));
  EXPECT_TRUE(rejects(header("{'descr': '>i4', 'fortran_order': False, 'shape': (0,)}"),
                      {"unsupported descr '>i4': big-endian data is not supported"}));
  EXPECT_TRUE(rejects(header("{'descr': '<f4', 'fortran_order': False, 'shape': (3, -4)}"),
                      {"invalid shape", "negative dimension (-4)"}));
  EXPECT_TRUE(rejects(header("{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 1099511627776)}"),
                      {"invalid shape", "more than 2^48 elements"}));
  EXPECT_TRUE(rejects(header("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}"),
                      {"dimension too large"}));

  const std::string dict34 = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }\n";
  EXPECT_TRUE(rejects(npy_bytes(dict34, f32x12.substr(0, 40)),
                      {"header declares shape (3, 4) = 12 elements of <f4 (48 bytes) but only 40 bytes of data "
                       "follow"}));
  EXPECT_TRUE(rejects(npy_bytes(dict34, f32x12 + "abcd"), {"4 bytes of trailing data"}));
  EXPECT_TRUE(rejects(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", ""),
                      {"shape () = 1 elements", "only 0 bytes"}));
}

TEST_F(TensorIo, NpyEveryTruncationIsRejected) {
  const std::string whole = read_file(fixture("f32_3x5.npy"));
  const std::string path = file("cut.npy");
  for (std::size_t n = 0; n < whole.size(); ++n) {
    SCOPED_TRACE(fmt::format("first {} of {} bytes", n, whole.size()));
    write_file(path, whole.substr(0, n));
    EXPECT_TRUE(throws_file_error([&] { read_npy(path); }, path, {}));
  }
}

// ---- ONNX TensorProto from libonnx-testdata -----------------------------------------------------------------------

class OnnxTestData : public TensorIo {
 protected:
  void SetUp() override {
    TensorIo::SetUp();
    ASSERT_TRUE(fs::is_directory(kOnnxNodeDir)) << kOnnxNodeDir << " missing: install Debian package libonnx-testdata (tools/install-deps.sh does)";
  }
  static std::string node(std::string_view test, std::string_view file) {
    return (kOnnxNodeDir / test / "test_data_set_0" / file).string();
  }
};

// Expected values below were read independently with /usr/bin/python3 and onnx.numpy_helper.to_array.

TEST_F(OnnxTestData, Float) {
  const Tensor t = read_onnx_tensor(node("test_gemm_default_no_bias", "input_0.pb"));
  EXPECT_EQ(t.dtype, DType::f32);
  EXPECT_EQ(t.shape, (Shape{2, 10}));
  const auto v = t.values<float>();
  ASSERT_EQ(v.size(), 20u);
  EXPECT_EQ(std::bit_cast<std::uint32_t>(v[0]), 0x3f0c7f0bu);  // 0.54881352
  EXPECT_EQ(std::bit_cast<std::uint32_t>(v[1]), 0x3f3716a6u);  // 0.71518934
  EXPECT_EQ(std::bit_cast<std::uint32_t>(v[2]), 0x3f1a4eb3u);
  EXPECT_FLOAT_EQ(v[7], 0.891772985458374f);
  EXPECT_EQ(std::bit_cast<std::uint32_t>(v[19]), 0x3f5eb91eu);  // 0.87001216
}

TEST_F(OnnxTestData, Float16) {
  const Tensor t = read_onnx_tensor(node("test_cast_FLOAT_to_FLOAT16", "output_0.pb"));
  EXPECT_EQ(t.dtype, DType::f16);
  EXPECT_EQ(t.shape, (Shape{3, 4}));
  const auto v = t.values<std::uint16_t>();
  ASSERT_EQ(v.size(), 12u);
  EXPECT_EQ(v[0], 14436);   // 0.548828125
  EXPECT_EQ(v[5], 14635);   // 0.64599609375
  EXPECT_EQ(v[11], 14395);  // 0.52880859375
}

TEST_F(OnnxTestData, Uint8) {
  const Tensor t = read_onnx_tensor(node("test_quantizelinear", "output_0.pb"));
  EXPECT_EQ(t.dtype, DType::u8);
  EXPECT_EQ(t.shape, (Shape{6}));
  EXPECT_EQ(to_vector<std::uint8_t>(t), (std::vector<std::uint8_t>{128, 129, 130, 255, 1, 0}));
}

TEST_F(OnnxTestData, Int8) {
  const Tensor t = read_onnx_tensor(node("test_clip_default_int8_min", "input_0.pb"));
  EXPECT_EQ(t.dtype, DType::i8);
  EXPECT_EQ(t.shape, (Shape{3, 4, 5}));
  const std::vector<std::int8_t> expected = {1,  0, 0, 2, 1, 0,  0, 0, 0,  0,  0,  1, 0, 0,  0,  0, 1,  0, 0, 0,
                                             -2, 0, 0, 0, 2, -1, 0, 0, 1,  1,  0,  0, 0, -1, 0,  0, 1,  1, 0, 0,
                                             -1, -1, -1, 1, 0, 0, -1, 0, -1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(to_vector<std::int8_t>(t), expected);
}

TEST_F(OnnxTestData, Int32) {
  const Tensor t = read_onnx_tensor(node("test_equal", "input_0.pb"));
  EXPECT_EQ(t.dtype, DType::i32);
  EXPECT_EQ(t.shape, (Shape{3, 4, 5}));
  const auto v = t.values<std::int32_t>();
  ASSERT_EQ(v.size(), 60u);
  EXPECT_EQ(v[0], 17);
  EXPECT_EQ(v[5], -9);
  EXPECT_EQ(v[59], -3);

  const Tensor scalar = read_onnx_tensor(node("test_cumsum_2d_negative_axis", "input_1.pb"));
  EXPECT_EQ(scalar.dtype, DType::i32);
  EXPECT_TRUE(scalar.shape.empty());
  EXPECT_EQ(to_vector<std::int32_t>(scalar), (std::vector<std::int32_t>{-1}));

  const Tensor empty = read_onnx_tensor(node("test_constantofshape_int_shape_zero", "output_0.pb"));
  EXPECT_EQ(empty.dtype, DType::i32);
  EXPECT_EQ(empty.shape, (Shape{0}));
  EXPECT_TRUE(empty.data.empty());
}

TEST_F(OnnxTestData, RejectsOtherTypesAndOtherMessages) {
  const std::string f64 = node("test_cast_FLOAT16_to_DOUBLE", "output_0.pb");
  EXPECT_TRUE(throws_file_error([&] { read_onnx_tensor(f64); }, f64,
                                {"TensorProto data_type 11 (DOUBLE) is not supported; supported: FLOAT, FLOAT16, "
                                 "INT8, UINT8, INT32"}));
  const std::string str = node("test_cast_FLOAT_to_STRING", "output_0.pb");
  EXPECT_TRUE(throws_file_error([&] { read_onnx_tensor(str); }, str, {"data_type 8 (STRING)"}));
  // A SequenceProto, which protobuf happily parses as a TensorProto: data_type 1, dims (120,) and its element
  // tensors (field 3) landing in TensorProto's field 3, segment.
  const std::string seq = node("test_identity_sequence", "input_0.pb");
  EXPECT_TRUE(throws_file_error([&] { read_onnx_tensor(seq); }, seq, {"segmented TensorProto"}));
}

TEST_F(OnnxTestData, EveryTruncationIsRejected) {
  const std::string whole = read_file(node("test_gemm_default_no_bias", "input_0.pb"));
  ASSERT_EQ(whole.size(), 91u);
  // The file is dims, data_type, name, then raw_data (tag 0x4a, length 80) in its last 82 bytes.
  ASSERT_EQ(whole[9], '\x4a');
  ASSERT_EQ(whole[10], '\x50');
  const std::string path = file("cut.pb");
  for (std::size_t n = 0; n < whole.size(); ++n) {
    SCOPED_TRACE(fmt::format("first {} of {} bytes", n, whole.size()));
    write_file(path, whole.substr(0, n));
    EXPECT_TRUE(throws_file_error([&] { read_onnx_tensor(path); }, path, {}));
  }
  // Cut just before raw_data, the prefix is a well-formed message: only the count check catches it.
  write_file(path, whole.substr(0, 9));
  EXPECT_TRUE(throws_file_error([&] { read_onnx_tensor(path); }, path,
                                {"dims (2, 10) imply 20 elements of data_type 1 (FLOAT) but float_data holds 0"}));
  // Cut inside raw_data, protobuf itself refuses.
  write_file(path, whole.substr(0, 50));
  EXPECT_TRUE(throws_file_error([&] { read_onnx_tensor(path); }, path, {"protobuf parsing failed"}));
}

// ---- ONNX TensorProto built here ----------------------------------------------------------------------------------

void write_proto(const std::string& path, const onnx::TensorProto& proto) {
  std::string bytes;
  ASSERT_TRUE(proto.SerializeToString(&bytes));
  write_file(path, bytes);
}

onnx::TensorProto make_proto(int data_type, const Shape& dims) {
  onnx::TensorProto p;
  p.set_name("t");
  p.set_data_type(data_type);
  for (auto d : dims) p.add_dims(d);
  return p;
}

TEST_F(TensorIo, OnnxRawData) {
  const std::string path = file("raw.pb");
  {
    const std::vector<float> v = f32_formula_values(6);
    auto p = make_proto(onnx::TensorProto::FLOAT, {2, 3});
    p.set_raw_data(as_bytes(v));
    write_proto(path, p);
    const Tensor t = read_onnx_tensor(path);
    EXPECT_EQ(t.dtype, DType::f32);
    EXPECT_EQ(t.shape, (Shape{2, 3}));
    EXPECT_EQ(to_vector<float>(t), v);
  }
  {
    const std::vector<std::uint16_t> v = {0x3c00, 0xfc00, 0x7e00};
    auto p = make_proto(onnx::TensorProto::FLOAT16, {3});
    p.set_raw_data(as_bytes(v));
    write_proto(path, p);
    const Tensor t = read_onnx_tensor(path);
    EXPECT_EQ(t.dtype, DType::f16);
    EXPECT_EQ(to_vector<std::uint16_t>(t), v);
  }
  {
    const std::vector<std::int8_t> v = {-128, 127, 0, -1};
    auto p = make_proto(onnx::TensorProto::INT8, {2, 1, 2});
    p.set_raw_data(as_bytes(v));
    write_proto(path, p);
    const Tensor t = read_onnx_tensor(path);
    EXPECT_EQ(t.dtype, DType::i8);
    EXPECT_EQ(t.shape, (Shape{2, 1, 2}));
    EXPECT_EQ(to_vector<std::int8_t>(t), v);
  }
  {
    const std::vector<std::uint8_t> v = {255};
    auto p = make_proto(onnx::TensorProto::UINT8, {});
    p.set_raw_data(as_bytes(v));
    write_proto(path, p);
    const Tensor t = read_onnx_tensor(path);
    EXPECT_EQ(t.dtype, DType::u8);
    EXPECT_TRUE(t.shape.empty());
    EXPECT_EQ(to_vector<std::uint8_t>(t), v);
  }
  {
    const std::vector<std::int32_t> v = {std::numeric_limits<std::int32_t>::min(), -7, 123456789};
    auto p = make_proto(onnx::TensorProto::INT32, {3, 1});
    p.set_raw_data(as_bytes(v));
    write_proto(path, p);
    const Tensor t = read_onnx_tensor(path);
    EXPECT_EQ(t.dtype, DType::i32);
    EXPECT_EQ(to_vector<std::int32_t>(t), v);
  }
}

TEST_F(TensorIo, OnnxTypedFields) {
  const std::string path = file("typed.pb");
  {
    const std::vector<float> v = f32_formula_values(4);
    auto p = make_proto(onnx::TensorProto::FLOAT, {4});
    for (float x : v) p.add_float_data(x);
    write_proto(path, p);
    const Tensor t = read_onnx_tensor(path);
    EXPECT_EQ(t.dtype, DType::f32);
    EXPECT_EQ(to_vector<float>(t), v);
  }
  {
    // FLOAT16 goes in int32_data as uint16 bit patterns; 0xfc00 (-inf) checks they are not read as int16.
    auto p = make_proto(onnx::TensorProto::FLOAT16, {2, 2});
    for (int x : {0x3c00, 0xfc00, 0x0001, 0xffff}) p.add_int32_data(x);
    write_proto(path, p);
    const Tensor t = read_onnx_tensor(path);
    EXPECT_EQ(t.dtype, DType::f16);
    EXPECT_EQ(to_vector<std::uint16_t>(t), (std::vector<std::uint16_t>{0x3c00, 0xfc00, 0x0001, 0xffff}));
  }
  {
    auto p = make_proto(onnx::TensorProto::INT8, {3});
    for (int x : {-128, 5, 127}) p.add_int32_data(x);
    write_proto(path, p);
    const Tensor t = read_onnx_tensor(path);
    EXPECT_EQ(t.dtype, DType::i8);
    EXPECT_EQ(to_vector<std::int8_t>(t), (std::vector<std::int8_t>{-128, 5, 127}));
  }
  {
    auto p = make_proto(onnx::TensorProto::UINT8, {3});
    for (int x : {0, 200, 255}) p.add_int32_data(x);
    write_proto(path, p);
    const Tensor t = read_onnx_tensor(path);
    EXPECT_EQ(t.dtype, DType::u8);
    EXPECT_EQ(to_vector<std::uint8_t>(t), (std::vector<std::uint8_t>{0, 200, 255}));
  }
  {
    const std::vector<std::int32_t> v = {std::numeric_limits<std::int32_t>::max(), -1};
    auto p = make_proto(onnx::TensorProto::INT32, {1, 2});
    for (auto x : v) p.add_int32_data(x);
    write_proto(path, p);
    const Tensor t = read_onnx_tensor(path);
    EXPECT_EQ(t.dtype, DType::i32);
    EXPECT_EQ(t.shape, (Shape{1, 2}));
    EXPECT_EQ(to_vector<std::int32_t>(t), v);
  }
  {
    auto p = make_proto(onnx::TensorProto::FLOAT, {});  // scalar
    p.add_float_data(-0.5f);
    write_proto(path, p);
    EXPECT_EQ(to_vector<float>(read_onnx_tensor(path)), (std::vector<float>{-0.5f}));
  }
  {
    write_proto(path, make_proto(onnx::TensorProto::FLOAT, {2, 0}));  // no data at all, and none needed
    const Tensor t = read_onnx_tensor(path);
    EXPECT_EQ(t.shape, (Shape{2, 0}));
    EXPECT_TRUE(t.data.empty());
  }
}

TEST_F(TensorIo, OnnxRejected) {
  const std::string path = file("bad.pb");
  const auto rejects = [&](const onnx::TensorProto& p, std::initializer_list<std::string_view> parts) {
    write_proto(path, p);
    return throws_file_error([&] { read_onnx_tensor(path); }, path, parts);
  };
  {
    auto p = make_proto(onnx::TensorProto::DOUBLE, {2});
    p.add_double_data(1.0);
    p.add_double_data(2.0);
    EXPECT_TRUE(rejects(p, {"TensorProto data_type 11 (DOUBLE) is not supported; supported: FLOAT, FLOAT16, INT8, "
                            "UINT8, INT32"}));
  }
  {
    auto p = make_proto(99, {1});
    p.set_raw_data("abcd");
    EXPECT_TRUE(rejects(p, {"data_type 99 (unknown) is not supported"}));
  }
  {
    auto p = make_proto(onnx::TensorProto::FLOAT, {2});
    p.set_data_location(onnx::TensorProto::EXTERNAL);
    auto* entry = p.add_external_data();
    entry->set_key("location");
    entry->set_value("weights.bin");
    EXPECT_TRUE(rejects(p, {"external data not supported", "weights.bin"}));
  }
  {
    auto p = make_proto(onnx::TensorProto::FLOAT, {2, 3});
    p.set_raw_data(as_bytes(f32_formula_values(5)));
    EXPECT_TRUE(rejects(p, {"dims (2, 3) imply 6 elements of data_type 1 (FLOAT) (24 bytes) but raw_data holds 20 "
                            "bytes"}));
  }
  {
    auto p = make_proto(onnx::TensorProto::FLOAT, {2, 3});
    for (float x : f32_formula_values(7)) p.add_float_data(x);
    EXPECT_TRUE(rejects(p, {"dims (2, 3) imply 6 elements", "float_data holds 7"}));
  }
  {
    auto p = make_proto(onnx::TensorProto::INT8, {4});
    for (int x : {1, 2, 3}) p.add_int32_data(x);
    EXPECT_TRUE(rejects(p, {"dims (4,) imply 4 elements", "int32_data holds 3"}));
  }
  {
    auto p = make_proto(onnx::TensorProto::FLOAT, {2, -3});
    p.set_raw_data(std::string(24, '\0'));
    EXPECT_TRUE(rejects(p, {"invalid dims", "negative dimension (-3)"}));
  }
  {
    auto p = make_proto(onnx::TensorProto::UINT8, {std::int64_t{1} << 40, std::int64_t{1} << 40});
    p.set_raw_data("x");
    EXPECT_TRUE(rejects(p, {"invalid dims", "more than 2^48 elements"}));
  }
  {
    auto p = make_proto(onnx::TensorProto::UINT8, {2});
    p.add_int32_data(3);
    p.add_int32_data(256);
    EXPECT_TRUE(rejects(p, {"int32_data[1] = 256 is out of range [0, 255]"}));
  }
  {
    auto p = make_proto(onnx::TensorProto::INT8, {1});
    p.add_int32_data(-129);
    EXPECT_TRUE(rejects(p, {"int32_data[0] = -129 is out of range [-128, 127]"}));
  }
  {
    auto p = make_proto(onnx::TensorProto::FLOAT16, {1});
    p.add_int32_data(-1);
    EXPECT_TRUE(rejects(p, {"int32_data[0] = -1 is out of range [0, 65535]"}));
  }
  {
    auto p = make_proto(onnx::TensorProto::FLOAT, {1});
    p.add_float_data(1.f);
    p.set_raw_data(as_bytes(std::vector<float>{1.f}));
    EXPECT_TRUE(rejects(p, {"both raw_data and 1 float_data values"}));
  }
  {
    auto p = make_proto(onnx::TensorProto::INT32, {1});
    p.add_float_data(1.f);
    EXPECT_TRUE(rejects(p, {"data_type 6 (INT32) keeps its values in int32_data or raw_data, but the TensorProto "
                            "has 1 float_data values"}));
  }
  {
    onnx::TensorProto p;  // everything but the data_type
    p.add_dims(1);
    p.set_raw_data("abcd");
    EXPECT_TRUE(rejects(p, {"no data_type"}));
  }
  {
    auto p = make_proto(onnx::TensorProto::FLOAT, {1});
    p.set_raw_data("abcd");
    p.mutable_segment()->set_begin(0);
    p.mutable_segment()->set_end(1);
    EXPECT_TRUE(rejects(p, {"segmented"}));
  }
}

TEST_F(TensorIo, OnnxEmptyMissingAndGarbageFiles) {
  const std::string path = file("garbage.pb");
  const std::string missing = file("missing.pb");
  EXPECT_TRUE(throws_file_error([&] { read_onnx_tensor(missing); }, missing, {"cannot open for reading"}));
  EXPECT_TRUE(throws_file_error([&] { read_onnx_tensor(dir_.string()); }, dir_.string(), {"is a directory"}));
  write_file(path, "");
  EXPECT_TRUE(throws_file_error([&] { read_onnx_tensor(path); }, path, {"no data_type", "0 bytes"}));

  // Random bytes either fail to parse or parse to a nonsense message; neither may yield a tensor (or crash).
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> length(1, 300), byte(0, 255);
  for (int trial = 0; trial < 1000; ++trial) {
    std::string bytes(static_cast<std::size_t>(length(rng)), '\0');
    for (char& c : bytes) c = static_cast<char>(byte(rng));
    write_file(path, bytes);
    EXPECT_TRUE(throws_file_error([&] { read_onnx_tensor(path); }, path, {})) << "trial " << trial;
  }
  // An .npy is not a TensorProto either.
  const std::string npy = fixture("f32_3x5.npy");
  EXPECT_TRUE(throws_file_error([&] { read_onnx_tensor(npy); }, npy, {}));
}

}  // namespace
}  // namespace ellesmere
