// Device activity: kernel launches, graph launches, host synchronisations, device allocations and
// frees, and bytes copied each way, as counted by the CUDA runtime where it counts them (the
// emulated device of BNAS_CUDA_EMULATOR builds, docs/EMULATOR.md). These are the GPU performance
// figures of a step until a card measures times: read device_activity() before and after a region
// and subtract. A real CUDA runtime counts nothing: `available` is false there (profile with
// Nsight Systems instead).
#pragma once
#include <cstdint>
#include <string>

namespace bnas {

struct DeviceActivity {
  bool available = false;
  uint64_t launches = 0, graph_launches = 0, syncs = 0, allocs = 0, frees = 0;
  uint64_t h2d_bytes = 0, d2h_bytes = 0, d2d_bytes = 0;
};

DeviceActivity device_activity();
DeviceActivity operator-(const DeviceActivity& after, const DeviceActivity& before);

}  // namespace bnas
