#pragma once
// claudy's exit codes (DESIGN §7), mapped from errors in exactly one place.

#include <caf/error.hpp>

namespace hal9000::cli {

enum exit_code : int {
  exit_ok = 0,
  exit_failure = 1,
  exit_usage = 2,
  exit_unavailable = 3,  // Docker or the daemon unavailable
  exit_refused = 4,      // authentication refused
  exit_not_found = 5,    // session or worker not found
};

int exit_code_for(const caf::error& err);

} // namespace hal9000::cli
