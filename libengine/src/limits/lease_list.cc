#include "limits/lease_list.h"

#include <cstdlib>
#include <cstring>

namespace hp::limits {

hp_lease_list *make_lease_list(const std::vector<Lease> &leases) {
  // The list, then its entries, then every resource with its NUL.
  size_t n = leases.size();
  size_t bytes = sizeof(hp_lease_list) + n * sizeof(hp_lease_info);
  for (const Lease &l : leases) bytes += l.resource.size() + 1;
  auto *block = static_cast<char *>(std::malloc(bytes));
  if (!block) return nullptr;
  auto *list = reinterpret_cast<hp_lease_list *>(block);
  auto *items = reinterpret_cast<hp_lease_info *>(block + sizeof(hp_lease_list));
  char *text = reinterpret_cast<char *>(items + n);
  for (size_t i = 0; i < n; i++) {
    const Lease &l = leases[i];
    std::memcpy(text, l.resource.data(), l.resource.size());
    text[l.resource.size()] = '\0';
    items[i] = hp_lease_info{text, l.id, l.expires_in_ms};
    text += l.resource.size() + 1;
  }
  list->count = n;
  list->items = n ? items : nullptr;
  return list;
}

}  // namespace hp::limits
