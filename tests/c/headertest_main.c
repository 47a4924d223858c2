#include <stdio.h>

int hp_headertest_c(void);
int hp_headertest_cxx(void);

int main(void) {
  int c = hp_headertest_c(), cxx = hp_headertest_cxx();
  if (c || cxx) {
    fprintf(stderr, "headertest failed: c=%d c++=%d\n", c, cxx);
    return 1;
  }
  return 0;
}
