#pragma once
// Entering a network namespace for one call. Its own file (not the proxy's)
// so that code needing only this (the egress rules, reached from config
// parsing) does not pull the credential proxy, libcurl and cpp-httplib into
// every binary: claudy starts without loading them.

#include <functional>
#include <string>

#include <caf/error.hpp>

namespace hal9000::proxy {

/// Runs fn with the calling thread inside the network namespace at path
/// (then back); "" runs it here. Needs CAP_SYS_ADMIN. Errors: system_error
/// naming the path when it cannot be opened or entered.
caf::error in_netns(const std::string& path, const std::function<void()>& fn);

} // namespace hal9000::proxy
