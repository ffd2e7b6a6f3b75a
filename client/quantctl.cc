// quantctl: the command-line client of quantd. The commands live in
// quantctl_commands.cc, where tests can reach them.
#include <iostream>
#include <string>
#include <vector>

#include "client/quantctl_commands.h"
#include "quantd/malloc_tuning.h"

int main(int argc, char** argv) {
  quantd::TuneMallocForLargeMessages();
  const std::vector<std::string> args(argv + 1, argv + argc);
  return quantd::client::RunQuantctl(args, std::cout, std::cerr);
}
