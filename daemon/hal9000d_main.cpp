#include "daemon/daemon.hpp"

int main(int argc, char** argv) {
  return hal9000::daemon::daemon_main(argc, argv);
}
