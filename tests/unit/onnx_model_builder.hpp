// Shared by the pipeline's host-only tests (pipeline_import_test.cpp, numerics_unit_test.cpp): a small ONNX
// ModelProto built in code, for models too specific (or too broken) to keep as files.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

namespace ellesmere::testing {

struct ModelBuilder {
  onnx::ModelProto m;
  explicit ModelBuilder(int opset = 13) {
    m.set_ir_version(8);
    m.set_producer_name("ellesmere-test");
    m.add_opset_import()->set_version(opset);
  }
  onnx::GraphProto& g() { return *m.mutable_graph(); }
  // A graph input; a negative dimension is the symbolic "batch".
  void input(const std::string& name, std::vector<std::int64_t> dims, int type = onnx::TensorProto::FLOAT) {
    auto* v = g().add_input();
    v->set_name(name);
    auto* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(type);
    for (auto d : dims) {
      auto* dim = t->mutable_shape()->add_dim();
      if (d < 0) {
        dim->set_dim_param("batch");
      } else {
        dim->set_dim_value(d);
      }
    }
  }
  void output(const std::string& name, int type = onnx::TensorProto::FLOAT) {
    auto* v = g().add_output();
    v->set_name(name);
    v->mutable_type()->mutable_tensor_type()->set_elem_type(type);
  }
  void floats(const std::string& name, std::vector<std::int64_t> dims, const std::vector<float>& values) {
    auto* t = g().add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (auto d : dims) t->add_dims(d);
    for (float v : values) t->add_float_data(v);
  }
  void doubles(const std::string& name, std::vector<std::int64_t> dims, const std::vector<double>& values) {
    auto* t = g().add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::DOUBLE);
    for (auto d : dims) t->add_dims(d);
    for (double v : values) t->add_double_data(v);
  }
  // An integer initializer (INT8, UINT8, INT32, ...: int32_data holds them all, as ONNX stores them).
  void ints(const std::string& name, std::vector<std::int64_t> dims, int type, const std::vector<std::int32_t>& values) {
    auto* t = g().add_initializer();
    t->set_name(name);
    t->set_data_type(type);
    for (auto d : dims) t->add_dims(d);
    for (std::int32_t v : values) t->add_int32_data(v);
  }
  // A node; without a name it is called <op>_<its position>.
  onnx::NodeProto& node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out,
                        const std::string& name = "") {
    auto* n = g().add_node();
    n->set_op_type(op);
    n->set_name(name.empty() ? op + "_" + std::to_string(g().node_size()) : name);
    for (auto& i : in) n->add_input(i);
    for (auto& o : out) n->add_output(o);
    return *n;
  }
  static void attr(onnx::NodeProto& n, const std::string& name, std::int64_t v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void float_attr(onnx::NodeProto& n, const std::string& name, float v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }
  std::string bytes() const { return m.SerializeAsString(); }
};

}  // namespace ellesmere::testing
