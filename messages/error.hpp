#pragma once
// The project's one error enum. Details go in the error's context as a
// single human-readable string: make_error(errc::not_found, "no such image: x").

#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/make_message.hpp>

namespace hal9000 {

enum class errc : uint8_t {
  not_found = 1,
  already_exists,
  conflict,
  unavailable,
  invalid_argument,
  deadline_exceeded,
  unauthenticated,
  internal,
};

std::string to_string(errc x);

/// The human text of an error: its context string for our errors, CAF's
/// rendering otherwise ("request_timeout", "remote_link_unreachable", ...).
std::string error_message(const caf::error& err);

/// Our code for any error; CAF's own errors map to the closest one
/// (timeouts to deadline_exceeded, lost peers to unavailable).
errc error_code(const caf::error& err);

} // namespace hal9000

CAF_ERROR_CODE_ENUM(hal9000::errc, "hal9000")

namespace hal9000 {

inline caf::error make_error(errc code, std::string message) {
  return caf::error{static_cast<uint8_t>(code), caf::atom("hal9000"),
                    caf::make_message(std::move(message))};
}

} // namespace hal9000
