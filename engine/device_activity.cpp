// The counters come from cuda_emu_read_counters, which only the emulated runtime defines: it is
// looked up as a weak symbol, so the engine needs no build flag to know whether it is there.
#include "engine/device_activity.h"

extern "C" int cuda_emu_read_counters(uint64_t* values, int n) __attribute__((weak));

namespace bnas {

DeviceActivity device_activity() {
  DeviceActivity a;
  uint64_t v[8] = {};
  if (!cuda_emu_read_counters || cuda_emu_read_counters(v, 8) != 8) return a;
  a.available = true;
  a.launches = v[0], a.graph_launches = v[1], a.syncs = v[2], a.allocs = v[3], a.frees = v[4];
  a.h2d_bytes = v[5], a.d2h_bytes = v[6], a.d2d_bytes = v[7];
  return a;
}

DeviceActivity operator-(const DeviceActivity& x, const DeviceActivity& y) {
  DeviceActivity d;
  d.available = x.available && y.available;
  d.launches = x.launches - y.launches;
  d.graph_launches = x.graph_launches - y.graph_launches;
  d.syncs = x.syncs - y.syncs;
  d.allocs = x.allocs - y.allocs;
  d.frees = x.frees - y.frees;
  d.h2d_bytes = x.h2d_bytes - y.h2d_bytes;
  d.d2h_bytes = x.d2h_bytes - y.d2h_bytes;
  d.d2d_bytes = x.d2d_bytes - y.d2d_bytes;
  return d;
}

}  // namespace bnas
