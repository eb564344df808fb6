#pragma once

namespace hal9000::daemon {

/// hal9000d: parses its command line, runs the daemon, returns the exit code.
int daemon_main(int argc, char** argv);

} // namespace hal9000::daemon
