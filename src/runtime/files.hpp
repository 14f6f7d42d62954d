// Writing a file so that no reader ever sees half of it: a private temporary beside it, then rename. Used by the
// program cache and the profile store.
#pragma once

#include <string>
#include <string_view>

namespace ellesmere::runtime {

// Creates path's directory if needed. Throws FileError naming path (and the system's reason) on failure; the
// temporary is removed then. The temporary's name is unique per process, thread and call.
void write_file_atomically(const std::string& path, std::string_view bytes);

}  // namespace ellesmere::runtime
