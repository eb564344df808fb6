#include "cli/daemon.hpp"

int main(int argc, char** argv) {
  return hal9000::cli::daemon_main(argc, argv);
}
