// doctest's main, and the entry of the helper processes of support/child.h.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstring>

#include "child.h"

int main(int argc, char **argv) {
  if (argc >= 3 && std::strcmp(argv[1], "--hp-child") == 0) return hp_test::child_main(argc - 2, argv + 2);
  return doctest::Context(argc, argv).run();
}
