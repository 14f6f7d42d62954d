// Text files compiled into the library by cmake/embed_files.cmake: kernels, the format headers kernels share
// with C++, shipped tuning entries, built-in device profiles. Used by the kernel registry, the tuning database and
// the profile loader.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace ellesmere::runtime {

struct EmbeddedFile {
  const char* name;   // path relative to its source folder, forward slashes
  const char* text;
};

extern const EmbeddedFile* const kEmbeddedKernels;        // kernels/**/*.cl, *.h
extern const std::size_t kEmbeddedKernels_count;
extern const EmbeddedFile* const kEmbeddedFormatHeaders;  // include/ellesmere/formats/*.h, named "ellesmere/..."
extern const std::size_t kEmbeddedFormatHeaders_count;
extern const EmbeddedFile* const kEmbeddedTuningDb;       // src/tuning/db/*.txt
extern const std::size_t kEmbeddedTuningDb_count;
extern const EmbeddedFile* const kEmbeddedProfiles;       // src/runtime/profiles/*.txt
extern const std::size_t kEmbeddedProfiles_count;

inline std::span<const EmbeddedFile> embedded_kernels() { return {kEmbeddedKernels, kEmbeddedKernels_count}; }
inline std::span<const EmbeddedFile> embedded_format_headers() {
  return {kEmbeddedFormatHeaders, kEmbeddedFormatHeaders_count};
}
inline std::span<const EmbeddedFile> embedded_tuning_db() { return {kEmbeddedTuningDb, kEmbeddedTuningDb_count}; }
inline std::span<const EmbeddedFile> embedded_profiles() { return {kEmbeddedProfiles, kEmbeddedProfiles_count}; }

}  // namespace ellesmere::runtime
