// What day2 is: its version (the CMake project version) and the commit it was built from, for
// `day2 --version`, bundles' manifests and artifacts' meta.
#pragma once

#include <string_view>

namespace recorder {

// The git commit of the build, 12 hex digits ("-dirty" with local changes), DAY2_COMMIT when the
// build was configured with it, or "unknown". Generated at build time (tools/install/commit.cmake).
std::string_view build_commit();

}  // namespace recorder
