// hp_lease_list: leases handed to the caller in one allocation, so one
// free releases the entries and their strings together.
#pragma once

#include <vector>

#include "limits/types.h"

namespace hp::limits {

// A list of `leases` in one malloc'd block (freed with
// hp_lease_list_free()), or nullptr without memory.
hp_lease_list *make_lease_list(const std::vector<Lease> &leases);

}  // namespace hp::limits
