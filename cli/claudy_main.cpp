#include "cli/claudy.hpp"

int main(int argc, char** argv) {
  return hal9000::cli::claudy_main(argc, argv);
}
