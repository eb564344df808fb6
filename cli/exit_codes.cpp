#include "cli/exit_codes.hpp"

#include "messages/error.hpp"

namespace hal9000::cli {

int exit_code_for(const caf::error& err) {
  if (!err)
    return exit_ok;
  switch (error_code(err)) {
    case errc::unavailable:
    case errc::deadline_exceeded:
      return exit_unavailable;
    case errc::unauthenticated:
      return exit_refused;
    case errc::not_found:
      return exit_not_found;
    case errc::invalid_argument:
      return exit_usage;
    default:
      return exit_failure;
  }
}

} // namespace hal9000::cli
