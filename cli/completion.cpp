#include "cli/completion.hpp"

#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/exit_codes.hpp"

namespace hal9000::cli {

namespace {

constexpr const char* bash_script = R"SH(# claudy completion for bash: eval "$(claudy completion bash)"
_claudy() {
  local cur prev words
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev="${COMP_WORDS[1]}"
  local top="daemon pool sessions attach stop restart doctor setup completion --host --tls-dir --token-file --json --quiet --via-parent --detach --name --memory --cpus --pids-limit --no-limits --help --version"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "$top" -- "$cur") $(compgen -d -- "$cur"))
    return
  fi
  case "$prev" in
    daemon) COMPREPLY=($(compgen -W "start stop status restart run certs" -- "$cur")) ;;
    pool) COMPREPLY=($(compgen -W "start stop status scale cleanup warm" -- "$cur")) ;;
    completion) COMPREPLY=($(compgen -W "bash zsh" -- "$cur")) ;;
    attach|stop|restart|doctor) COMPREPLY=($(compgen -W "$(claudy --json sessions 2>/dev/null | sed -n 's/.*"name": "\(.*\)".*/\1/p')" -- "$cur")) ;;
    *) COMPREPLY=($(compgen -d -- "$cur")) ;;
  esac
}
complete -F _claudy claudy
)SH";

constexpr const char* zsh_script = R"SH(#compdef claudy
# claudy completion for zsh: eval "$(claudy completion zsh)"
_claudy() {
  local -a cmds
  if (( CURRENT == 2 )); then
    cmds=(daemon pool sessions attach stop restart doctor setup completion)
    _describe 'command' cmds
    _files -/
    return
  fi
  case $words[2] in
    daemon) _values 'daemon command' start stop status restart run certs ;;
    pool) _values 'pool command' start stop status scale cleanup warm ;;
    completion) _values 'shell' bash zsh ;;
    *) _files -/ ;;
  esac
}
compdef _claudy claudy
)SH";

} // namespace

void add_completion_command(CLI::App& app, int& rc) {
  static std::string shell;
  auto* cmd = app.add_subcommand("completion", "Print a shell completion script");
  cmd->add_option("SHELL", shell, "bash or zsh")
    ->required()
    ->check(CLI::IsMember({"bash", "zsh"}));
  cmd->callback([&rc] {
    std::cout << (shell == "bash" ? bash_script : zsh_script);
    rc = exit_ok;
  });
}

} // namespace hal9000::cli
