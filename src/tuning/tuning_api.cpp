// The public tuning functions (include/ellesmere/tuning.hpp) over the process-wide TuningDb.
#include "ellesmere/tuning.hpp"

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "ops/impl_registry.hpp"
#include "ops/problem_text.hpp"
#include "tuning/tuning_db.hpp"

namespace ellesmere::tuning {

std::string user_database_path() { return TuningDb::user_file_path(); }

std::vector<std::string> database_warnings() { return TuningDb::global().warnings(); }

void reload_database() { TuningDb::global().reload(); }

void set_override(std::string_view device_key, std::string_view impl_name, std::string_view problem,
                  std::string_view params) {
  if (device_key.empty() || device_key.find_first_of(" \t\n#") != std::string_view::npos) {
    throw InvalidArgument(fmt::format("tuning override: device key \"{}\" is empty or has spaces", device_key));
  }
  const ops::ImplBase* impl = ops::find_impl(impl_name);
  if (!impl) throw InvalidArgument(fmt::format("tuning override: no Impl named \"{}\"", impl_name));
  const std::string op = ops::ProblemText::parse(problem).op;   // InvalidArgument naming a malformed problem
  if (op != impl->op()) {
    throw InvalidArgument(fmt::format("tuning override: {} runs {} problems, not \"{}\"", impl_name, impl->op(), problem));
  }
  TuningEntry e;
  e.device = std::string(device_key);
  e.impl = std::string(impl_name);
  e.problem = std::string(problem);
  try {
    e.params = impl->space().complete(ops::Params::parse(params));
  } catch (const InvalidArgument& err) {
    throw InvalidArgument(fmt::format("tuning override for {}: {}", impl_name, err.what()));
  }
  TuningDb::global().add_override(std::move(e));
}

void clear_overrides() { TuningDb::global().clear_overrides(); }

}  // namespace ellesmere::tuning
