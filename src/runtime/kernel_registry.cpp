// Kernel sources from the embedded table or ELLESMERE_KERNEL_DIR, with `#include "..."` expansion.
#include "runtime/kernel_registry.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "runtime/embedded_files.hpp"
#include "runtime/env.hpp"

namespace ellesmere::runtime {

namespace fs = std::filesystem;

namespace {

std::optional<std::string> read_disk(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A kernel file or header by its name relative to kernels/. The format headers shared with C++ are named
// "ellesmere/formats/<x>.h" and live in include/; with ELLESMERE_KERNEL_DIR they are read from the include/ beside
// that directory when it has one (a source checkout), else from the library.
std::optional<std::string> raw_file(std::string_view name) {
  const bool format_header = name.substr(0, 18) == "ellesmere/formats/";
  if (auto dir = env("ELLESMERE_KERNEL_DIR")) {
    if (auto text = read_disk(fs::path(*dir) / fs::path(name))) return text;
    if (!format_header) return std::nullopt;
    fs::path root = fs::path(*dir).lexically_normal();
    if (!root.has_filename()) root = root.parent_path();   // "kernels/" -> "kernels"
    if (auto text = read_disk(root.parent_path() / "include" / fs::path(name))) return text;
  }
  for (const auto& f : format_header ? embedded_format_headers() : embedded_kernels()) {
    if (name == f.name) return std::string(f.text);
  }
  return std::nullopt;
}

std::string parent_of(std::string_view name) {
  auto slash = name.rfind('/');
  return slash == std::string_view::npos ? std::string() : std::string(name.substr(0, slash + 1));
}

void expand(const std::string& name, const std::string& text, std::set<std::string>& seen, int depth,
            std::string& out) {
  static const std::regex include_line(R"(^\s*#\s*include\s*"([^"]+)\"\s*(//.*)?$)");
  if (depth > 16) throw Error(fmt::format("kernel includes nest deeper than 16 levels at {}", name));
  std::istringstream in(text);
  std::string line;
  int number = 0;
  out += fmt::format("#line 1 \"{}\"\n", name);
  while (std::getline(in, line)) {
    ++number;
    std::smatch m;
    if (!std::regex_match(line, m, include_line)) {
      out += line;
      out += '\n';
      continue;
    }
    // Resolve relative to the including file first, then to the kernel root (as a C compiler with -I<root> would).
    std::string target;
    std::optional<std::string> body;
    for (std::string candidate : {parent_of(name) + m[1].str(), m[1].str()}) {
      // "gemm/../common/x.h" and "common/x.h" are one header: normalise before looking up and de-duplicating.
      candidate = fs::path(candidate).lexically_normal().generic_string();
      if ((body = raw_file(candidate))) {
        target = candidate;
        break;
      }
    }
    if (!body) {
      throw Error(fmt::format("{}:{}: included kernel header \"{}\" not found in {}", name, number, m[1].str(),
                              kernel_source_origin()));
    }
    // Headers are included once, whatever their guards say, so two kernels sharing a header cannot clash.
    if (seen.insert(target).second) expand(target, *body, seen, depth + 1, out);
    out += fmt::format("#line {} \"{}\"\n", number + 1, name);
  }
}

}  // namespace

std::string kernel_source_origin() {
  if (auto dir = env("ELLESMERE_KERNEL_DIR")) return "ELLESMERE_KERNEL_DIR=" + *dir;
  return "the kernels embedded in the library";
}

std::vector<std::string> kernel_files() {
  std::vector<std::string> out;
  if (auto dir = env("ELLESMERE_KERNEL_DIR")) {
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(*dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (it->is_regular_file() && it->path().extension() == ".cl") {
        out.push_back(it->path().lexically_relative(*dir).generic_string());
      }
    }
    if (ec) throw Error(fmt::format("ELLESMERE_KERNEL_DIR={}: {}", *dir, ec.message()));
  } else {
    for (const auto& f : embedded_kernels()) {
      std::string_view n = f.name;
      if (n.size() > 3 && n.substr(n.size() - 3) == ".cl") out.emplace_back(n);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string kernel_source(std::string_view file) {
  auto body = raw_file(file);
  if (!body) throw Error(fmt::format("kernel file {} not found in {}", file, kernel_source_origin()));
  std::set<std::string> seen{std::string(file)};
  std::string out;
  expand(std::string(file), *body, seen, 0, out);
  return out;
}

}  // namespace ellesmere::runtime
