// Fuzz target: recipe files (a JSON array of records, plain or gzip) loaded
// through the public API, whole-buffer and streamed. Input: a flags byte,
// then the file. Flag 1 gzips the rest first (so JSON mutations also run
// through the gzip stream), 2 streams instead of reading the file whole, 4
// loads into the table with small caps, 8 into the string-keyed table.
#include <zlib.h>

#include <cstdint>
#include <string>

#include "recipes_support.h"

namespace {

std::string gzip(std::string_view in) {
  z_stream z{};
  if (deflateInit2(&z, 1, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK) return {};
  std::string out(deflateBound(&z, in.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef *>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  hp_fuzz::RecipeTables &tables = hp_fuzz::recipe_tables();
  if (!tables.set) return 0;
  hp_fuzz::Reader in(data, size);
  uint8_t flags = in.byte();
  std::string_view body = in.rest();
  hp_fuzz::MemFile file((flags & 1) ? std::string_view(gzip(body)) : body);
  if (!file.ok()) return 0;
  hp_recipe_table *t = (flags & 8) ? tables.names : (flags & 4) ? tables.capped : tables.offers;
  hp_recipes_load_options o = HP_RECIPES_LOAD_OPTIONS_INIT;
  o.timestamp = 1;
  if (flags & 2) o.whole_inflate_max = 1;
  hp_fuzz::Done done;
  int rc = hp_recipes_load(
      t, file.path(), &o,
      [](int status, const hp_recipes_stats *, void *d) { static_cast<hp_fuzz::Done *>(d)->finish(status); }, &done);
  if (rc == 0 && done.wait() == 0) hp_fuzz::read_back(t);
  return 0;
}
