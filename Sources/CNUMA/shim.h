// libnuma for Swift: <numa.h> for topology and allocation, <numaif.h> for move_pages/get_mempolicy.
#include <numa.h>
#include <numaif.h>
