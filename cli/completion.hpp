#pragma once

namespace CLI {
class App;
}

namespace hal9000::cli {

/// `claudy completion bash|zsh`: prints a completion script.
void add_completion_command(CLI::App& app, int& rc);

} // namespace hal9000::cli
