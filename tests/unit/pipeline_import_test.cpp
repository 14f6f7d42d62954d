// ONNX import, constant folding, shape inference and lowering of the pipeline (no device): the catalogue of bad
// models (each a clear error naming what is wrong), folding of PyTorch-style QDQ constants, the shape helpers, and
// the fusions the demo models rely on.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <typeinfo>

#include <onnx/onnx_pb.h>

#include "ellesmere/error.hpp"
#include "pipeline/graph.hpp"
#include "pipeline/host_ops.hpp"
#include "pipeline/lower.hpp"
#include "onnx_model_builder.hpp"
#include "test_support.hpp"

namespace ellesmere::pipeline {
namespace {

namespace fs = std::filesystem;

const std::string kModels = std::string(ELLESMERE_SOURCE_DIR) + "/examples/models";

using testing::ModelBuilder;   // a small ModelProto under construction (onnx_model_builder.hpp)

// A Gemm layer: x (batch, 3) -> y (batch, 2).
ModelBuilder gemm_model(std::vector<float> w = {0.5f, -1, 2, 0.25f, 1, -0.5f}) {
  ModelBuilder b;
  b.input("x", {-1, 3});
  b.output("y");
  b.floats("w", {2, 3}, w);
  b.floats("b", {2}, {0.1f, -0.2f});
  ModelBuilder::attr(b.node("Gemm", {"x", "w", "b"}, {"y"}, "fc"), "transB", 1);
  return b;
}

using testing::error_of;

// ---- the bad-model catalogue -----------------------------------------------------------------------------------

TEST(PipelineBadModels, UnsupportedOpsAreAllListedInOneError) {
  ModelBuilder b;
  b.input("x", {1, 4});
  b.output("z");
  b.node("Relu", {"x"}, {"a"}, "ok_relu");
  b.node("LSTM", {"a"}, {"c"}, "rnn_layer");
  b.node("Gather", {"c", "c"}, {"z"}, "lookup");
  const std::string e = error_of<NotSupported>([&] { import_onnx_bytes(b.bytes(), "m.onnx"); });
  EXPECT_NE(e.find("2 nodes cannot be run"), std::string::npos) << e;
  EXPECT_NE(e.find("'rnn_layer' (LSTM)"), std::string::npos) << e;
  EXPECT_NE(e.find("'lookup' (Gather)"), std::string::npos) << e;
  EXPECT_EQ(e.find("ok_relu"), std::string::npos) << e;
}

TEST(PipelineBadModels, TruncatedFile) {
  std::ifstream f(kModels + "/digits_mlp.onnx", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 1000u);
  for (std::size_t cut : {bytes.size() / 2, bytes.size() - 7, std::size_t(100)}) {
    const std::string e = error_of<FileError>([&] { import_onnx_bytes(bytes.substr(0, cut), "cut.onnx"); });
    EXPECT_NE(e.find("cut.onnx"), std::string::npos) << e;
    EXPECT_TRUE(e.find("protobuf parsing failed") != std::string::npos ||
                e.find("not an ONNX model") != std::string::npos || e.find("inconsistent") != std::string::npos)
        << "cut at " << cut << ": " << e;
  }
}

TEST(PipelineBadModels, EmptyAndNotOnnxFiles) {
  EXPECT_NE(error_of<FileError>([] { import_onnx_bytes("", "e.onnx"); }).find("empty file"), std::string::npos);
  const std::string e = error_of<FileError>([] { import_onnx_bytes("this is a text file, not a model\n", "t.onnx"); });
  EXPECT_NE(e.find("t.onnx"), std::string::npos) << e;
  EXPECT_NE(error_of<FileError>([] { import_onnx("/nonexistent/model.onnx"); }).find("cannot open"),
            std::string::npos);
}

TEST(PipelineBadModels, MissingInitializerNamesTheNodeAndValue) {
  ModelBuilder b;
  b.input("x", {1, 3});
  b.output("y");
  ModelBuilder::attr(b.node("Gemm", {"x", "fc.weight", "fc.bias"}, {"y"}, "fc"), "transB", 1);
  const std::string e = error_of<InvalidArgument>([&] { import_onnx_bytes(b.bytes(), "m.onnx"); });
  EXPECT_NE(e.find("'fc' (Gemm) reads 'fc.weight'"), std::string::npos) << e;
  EXPECT_NE(e.find("'fc' (Gemm) reads 'fc.bias'"), std::string::npos) << e;
}

TEST(PipelineBadModels, NanOrInfWeights) {
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    ModelBuilder b = gemm_model({0.5f, -1, 2, bad, 1, -0.5f});
    const std::string e = error_of<InvalidArgument>([&] { import_onnx_bytes(b.bytes(), "m.onnx"); });
    EXPECT_NE(e.find("'fc' (Gemm) input 'w'"), std::string::npos) << e;
    EXPECT_NE(e.find("flat index 3"), std::string::npos) << e;
  }
}

TEST(PipelineBadModels, WrongInputShapeNamesInputAndDeclaration) {
  const Graph g = import_onnx(kModels + "/digits_mlp.onnx");
  for (const Shape& s : {Shape{2, 1, 9, 8}, Shape{2, 64}, Shape{2, 1, 8}}) {
    const std::string e = error_of<InvalidArgument>([&] { infer_shapes(g, {{"input", s}}); });
    EXPECT_NE(e.find("'input' is declared"), std::string::npos) << e;
    EXPECT_NE(e.find(shape_text(s)), std::string::npos) << e;
  }
  // The batch is free.
  EXPECT_NO_THROW(infer_shapes(g, {{"input", Shape{7, 1, 8, 8}}}));
}

TEST(PipelineBadModels, InconsistentShapesInsideTheGraph) {
  ModelBuilder b = gemm_model();
  b.floats("w2", {5, 4}, std::vector<float>(20, 0.5f));
  ModelBuilder::attr(b.node("Gemm", {"y", "w2"}, {"z"}, "fc2"), "transB", 1);
  b.g().mutable_output(0)->set_name("z");
  const Graph g = import_onnx_bytes(b.bytes(), "m.onnx");
  const std::string e = error_of<InvalidArgument>([&] { infer_shapes(g, {{"x", {1, 3}}}); });
  EXPECT_NE(e.find("'fc2' (Gemm)"), std::string::npos) << e;
  EXPECT_NE(e.find("disagree on K: 2 vs 4"), std::string::npos) << e;
}

TEST(PipelineBadModels, UnsupportedOpsetAndVariants) {
  ModelBuilder old(18);
  old.input("x", {1});
  old.output("y");
  old.node("Relu", {"x"}, {"y"});
  EXPECT_NE(error_of<NotSupported>([&] { import_onnx_bytes(old.bytes(), "m.onnx"); }).find("opset 18"),
            std::string::npos);
  // Dropout in training mode, MaxPool's indices, a run-time Reshape shape.
  ModelBuilder b;
  b.input("x", {1, 2, 4, 4});
  b.input("shape", {2}, onnx::TensorProto::INT64);
  b.output("r");
  b.output("idx", onnx::TensorProto::INT64);
  b.node("MaxPool", {"x"}, {"p", "idx"}, "pool");
  b.node("Relu", {"p"}, {"q"});
  b.node("Shape", {"q"}, {"s"}, "shape_of");
  b.node("Reshape", {"q", "s"}, {"r"}, "reshape");
  const std::string e = error_of<NotSupported>([&] { import_onnx_bytes(b.bytes(), "m.onnx"); });
  EXPECT_NE(e.find("'pool' (MaxPool): MaxPool's Indices output is not supported"), std::string::npos) << e;
  EXPECT_NE(e.find("'shape_of' (Shape)"), std::string::npos) << e;
  EXPECT_NE(e.find("'reshape' (Reshape): its shape 's' is computed at run time"), std::string::npos) << e;
}

TEST(PipelineBadModels, DuplicateOutputAndUnproducedGraphOutput) {
  ModelBuilder b;
  b.input("x", {1});
  b.output("y");
  b.output("never");
  b.node("Relu", {"x"}, {"y"}, "a");
  b.node("Relu", {"x"}, {"y"}, "b");
  const std::string e = error_of<InvalidArgument>([&] { import_onnx_bytes(b.bytes(), "m.onnx"); });
  EXPECT_NE(e.find("'b' (Relu) writes 'y', which is already defined"), std::string::npos) << e;
  EXPECT_NE(e.find("graph output 'never' is produced by no node"), std::string::npos) << e;
}

TEST(PipelineBadModels, InvalidQuantizationParameters) {
  ModelBuilder b;
  b.input("x", {1, 4});
  b.output("y");
  b.floats("s", {}, {0.0f});
  auto* z = b.g().add_initializer();
  z->set_name("z");
  z->set_data_type(onnx::TensorProto::UINT8);
  z->add_int32_data(3);
  b.node("QuantizeLinear", {"x", "s", "z"}, {"q"}, "q");
  b.node("DequantizeLinear", {"q", "s", "z"}, {"y"}, "dq");
  const Graph g = import_onnx_bytes(b.bytes(), "m.onnx");
  // The scale is checked when the node's parameters are read (the executor; folding for constant inputs).
  const HostTensor& s = g.constant("s");
  const std::string e = error_of<InvalidArgument>(
      [&] { quant_params(g.nodes[0], s, &g.constant("z"), QuantType::u8, 1, 2); });
  EXPECT_NE(e.find("'q' (QuantizeLinear)"), std::string::npos) << e;
  EXPECT_NE(e.find("invalid"), std::string::npos) << e;
}

TEST(PipelineBadModels, HugeFoldedConstantsAreRefused) {
  // A few bytes of model that would fold into gigabytes: refused with the node and shape before any allocation.
  auto shape_model = [](std::vector<std::int64_t> dims) {
    ModelBuilder b;
    b.input("x", {1});
    b.output("y");
    auto* t = b.g().add_initializer();
    t->set_name("shape");
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_dims(std::int64_t(dims.size()));
    for (auto d : dims) t->add_int64_data(d);
    b.node("ConstantOfShape", {"shape"}, {"c"}, "big");
    b.node("Add", {"x", "c"}, {"y"}, "add");
    return b;
  };
  std::string e = error_of<InvalidArgument>([&] { import_onnx_bytes(shape_model({100000, 100000}).bytes(), "m.onnx"); });
  EXPECT_NE(e.find("'big' (ConstantOfShape): folding it would make a constant of shape (100000, 100000): "
                   "10000000000 elements, 40000000000 bytes, above the 1073741824 bytes (1 GiB)"),
            std::string::npos)
      << e;
  // One float past 1 GiB.
  e = error_of<InvalidArgument>([&] { import_onnx_bytes(shape_model({(1 << 28) + 1}).bytes(), "m.onnx"); });
  EXPECT_NE(e.find("shape (268435457,): 268435457 elements, 1073741828 bytes"), std::string::npos) << e;
  // A product beyond int64 and a negative dimension are refused too, not wrapped.
  e = error_of<InvalidArgument>([&] { import_onnx_bytes(shape_model({1 << 30, 1 << 30, 1 << 30}).bytes(), "m.onnx"); });
  EXPECT_FALSE(e.empty());
  e = error_of<InvalidArgument>([&] { import_onnx_bytes(shape_model({4, -2}).bytes(), "m.onnx"); });
  EXPECT_FALSE(e.empty());
  // A reasonable one folds.
  const Graph ok = import_onnx_bytes(shape_model({1000, 1000}).bytes(), "m.onnx");
  EXPECT_EQ(ok.constant("c").count(), 1000000);

  // Broadcasting two small constants: (1, 20000) + (20000, 1) is 4e8 sums (in double: 3 GiB).
  ModelBuilder b;
  b.input("x", {1});
  b.output("y");
  b.floats("row", {1, 20000}, std::vector<float>(20000, 0.5f));
  b.floats("col", {20000, 1}, std::vector<float>(20000, 0.25f));
  b.node("Add", {"row", "col"}, {"c"}, "outer");
  b.node("Add", {"x", "c"}, {"y"}, "add");
  e = error_of<InvalidArgument>([&] { import_onnx_bytes(b.bytes(), "m.onnx"); });
  EXPECT_NE(e.find("'outer' (Add): folding it would make a constant of shape (20000, 20000): 400000000 elements, 3200000000 bytes"),
            std::string::npos)
      << e;
}

// ---- folding, helpers, lowering ---------------------------------------------------------------------------------

TEST(PipelineImport, FoldsPyTorchStyleConstantsAndDequantizedWeights) {
  // Constant -> Cast -> ConstantOfShape and a DequantizeLinear of int8 weights: all folded to constants.
  ModelBuilder b;
  b.input("x", {-1, 2});
  b.output("y");
  auto* wq = b.g().add_initializer();
  wq->set_name("wq");
  wq->set_data_type(onnx::TensorProto::INT8);
  wq->add_dims(2);
  wq->add_dims(2);
  for (int v : {-128, 5, 127, 0}) wq->add_int32_data(v);
  b.floats("ws", {}, {0.5f});
  auto& c = b.node("Constant", {}, {"shape"}, "const_shape");
  auto* a = c.add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto::TENSOR);
  a->mutable_t()->set_data_type(onnx::TensorProto::INT64);
  a->mutable_t()->add_dims(1);
  a->mutable_t()->add_int64_data(2);
  b.node("ConstantOfShape", {"shape"}, {"zeros"}, "zeros");
  ModelBuilder::attr(b.node("Cast", {"zeros"}, {"zp"}, "cast"), "to", onnx::TensorProto::INT8);
  b.node("DequantizeLinear", {"wq", "ws", ""}, {"w"}, "dq_w");
  b.node("MatMul", {"x", "w"}, {"y"}, "mm");
  const Graph g = import_onnx_bytes(b.bytes(), "m.onnx");
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].op, "MatMul");
  const auto w = g.constant("w").to_floats();
  EXPECT_EQ(w, (std::vector<float>{-64.0f, 2.5f, 63.5f, 0.0f}));
  const auto zp = g.constant("zp");
  EXPECT_EQ(zp.type, ElemType::i8);
  EXPECT_EQ(zp.count(), 2);
}

TEST(PipelineImport, InitializersListedAsGraphInputsAreWeights) {
  // Older exporters (IR version < 4) list every initializer among the graph inputs too.
  ModelBuilder b = gemm_model();
  b.input("w", {2, 3});
  b.input("b", {2});
  const Graph g = import_onnx_bytes(b.bytes(), "old.onnx");
  ASSERT_EQ(g.inputs.size(), 1u);
  EXPECT_EQ(g.inputs[0].name, "x");
  EXPECT_TRUE(g.is_constant("w"));
  const std::vector<Step> steps = lower(g);
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].kind, Step::Kind::dense);
}

TEST(PipelineImport, ShapeHelpers) {
  Node n;
  n.name = "n";
  n.op = "Reshape";
  EXPECT_EQ(reshape_target(n, {2, 3, 4}, {0, -1}), (Shape{2, 12}));
  EXPECT_EQ(reshape_target(n, {2, 3, 4}, {-1}), (Shape{24}));
  EXPECT_THROW(reshape_target(n, {2, 3, 4}, {5, -1}), InvalidArgument);
  // A requested shape whose product overflows int64 is an error, not undefined behaviour (found by fuzz_onnx_model).
  EXPECT_NE(error_of<InvalidArgument>([&] { reshape_target(n, {2, 3, 4}, {648518346341351423, 32, -1}); })
                .find("more than 2^48 elements"),
            std::string::npos);
  EXPECT_THROW(reshape_target(n, {2, 3, 4}, {-1, -1}), InvalidArgument);
  EXPECT_EQ(broadcast_shapes(n, {3, 1, 5}, {4, 1}), (Shape{3, 4, 5}));
  EXPECT_THROW(broadcast_shapes(n, {3, 2}, {3}), InvalidArgument);
  Node pool;
  pool.name = "p";
  pool.op = "MaxPool";
  pool.attrs["kernel_shape"].kind = Attribute::Kind::ints;
  pool.attrs["kernel_shape"].ints = {3, 3};
  pool.attrs["strides"].kind = Attribute::Kind::ints;
  pool.attrs["strides"].ints = {2, 2};
  pool.attrs["auto_pad"].kind = Attribute::Kind::s;
  pool.attrs["auto_pad"].s = "SAME_UPPER";
  const ConvGeometry g = conv_geometry(pool, {1, 1, 7, 8}, 0, 0);
  EXPECT_EQ(g.out_h, 4);
  EXPECT_EQ(g.out_w, 4);
  EXPECT_EQ(g.pad_top + g.pad_bottom, 2);
  EXPECT_EQ(g.pad_left + g.pad_right, 1);
  EXPECT_EQ(g.pad_left, 0);   // SAME_UPPER puts the odd pad at the end
  pool.attrs.erase("auto_pad");
  pool.attrs["ceil_mode"].kind = Attribute::Kind::i;
  pool.attrs["ceil_mode"].i = 1;
  EXPECT_EQ(conv_geometry(pool, {1, 1, 8, 8}, 0, 0).out_h, 4);   // floor would give 3
}

TEST(PipelineImport, LoweringFusesTheDemoCnnLayers) {
  const Graph g = import_onnx(kModels + "/fmnist_cnn.onnx");
  const std::vector<Step> steps = lower(g);
  std::vector<std::string> ops;
  for (const Step& s : steps) ops.push_back(s.op_text());
  const std::vector<std::string> want = {"Conv+BatchNormalization+Relu", "MaxPool",
                                         "Conv+BatchNormalization+Relu", "MaxPool",
                                         "Conv+BatchNormalization+Add+Relu", "Flatten", "Gemm+Relu", "Gemm"};
  EXPECT_EQ(ops, want);
  int compute = 0;
  for (const Step& s : steps) compute += s.compute();
  EXPECT_EQ(compute, 5);
  // The residual is the pooled tensor the third convolution reads.
  EXPECT_EQ(steps[4].conv.residual, steps[3].output);
  // The digits CNN: ReLU6 exported as Clip(0, 6) is fused as a clip, the Reshape stays a view step.
  const Graph d = import_onnx(kModels + "/digits_cnn.onnx");
  const std::vector<Step> ds = lower(d);
  ASSERT_GE(ds.size(), 3u);
  EXPECT_EQ(ds[2].op_text(), "Conv+Clip");
  EXPECT_FLOAT_EQ(ds[2].conv.act.lo, 0.0f);
  EXPECT_FLOAT_EQ(ds[2].conv.act.hi, 6.0f);
}

TEST(PipelineImport, QdqModelsKeepTheirQuantizeDequantizeNodes) {
  const Graph g = import_onnx(kModels + "/fmnist_cnn_qdq.onnx");
  int q = 0, dq = 0;
  for (const Node& n : g.nodes) {
    q += n.op == "QuantizeLinear";
    dq += n.op == "DequantizeLinear";
  }
  EXPECT_EQ(q, 5);    // one per Conv and Gemm input
  EXPECT_EQ(dq, 5);   // the weights' DequantizeLinear nodes are folded into fp32 constants
  // Every folded weight is an exact int8 grid value times its channel's scale.
  for (const Step& s : lower(g)) {
    if (s.kind != Step::Kind::dense) continue;
    for (std::int64_t r = 0; r < s.dense.n; ++r) {
      float m = 0;
      for (std::int64_t k = 0; k < s.dense.k; ++k) m = std::max(m, std::fabs(s.dense.w[std::size_t(r * s.dense.k + k)]));
      ASSERT_GT(m, 0.0f);
      for (std::int64_t k = 0; k < s.dense.k; ++k) {
        const float q8 = s.dense.w[std::size_t(r * s.dense.k + k)] / (m / 127.0f);
        ASSERT_NEAR(q8, std::nearbyint(q8), 1e-3) << s.name << " row " << r;
      }
    }
  }
}

}  // namespace
}  // namespace ellesmere::pipeline
