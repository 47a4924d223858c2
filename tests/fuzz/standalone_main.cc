// Replays fuzz inputs without libFuzzer: every file named on the command
// line, or every file in the directories named, runs through the target once.
#include <dirent.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    return 1;
  }
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
  return 0;
}

int main(int argc, char **argv) {
  int failed = 0, ran = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) return 1;
    if (S_ISDIR(st.st_mode)) {
      DIR *d = opendir(argv[i]);
      while (dirent *e = readdir(d)) {
        if (e->d_name[0] == '.') continue;
        failed += run_file(std::string(argv[i]) + "/" + e->d_name);
        ran++;
      }
      closedir(d);
    } else {
      failed += run_file(argv[i]);
      ran++;
    }
  }
  std::printf("replayed %d inputs\n", ran);
  return failed || ran == 0 ? 1 : 0;
}
