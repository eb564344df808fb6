#pragma once

namespace hal9000::cli {

/// claudy: parses its command line, runs one command, returns the exit code
/// (0 ok, 1 failure, 2 usage, 3 daemon or Docker unavailable, 4 refused,
/// 5 not found).
int claudy_main(int argc, char** argv);

} // namespace hal9000::cli
