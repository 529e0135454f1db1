#include <unistd.h>

#include <iostream>

#include "libs/core/config.h"
#include "tools/deskctl/deskctl.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return sundesk::deskctl::Run(args, sundesk::ProcessEnvironment(), STDIN_FILENO, std::cout,
                               std::cerr);
}
