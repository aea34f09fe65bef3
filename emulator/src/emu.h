// The emulated device's internal interface, shared by the runtime (runtime.cpp, memory.cpp,
// streams.cpp, launch.cpp) and the library stand-ins (cublas.cpp, cudnn.cpp, nccl.cpp).
//
// Execution model: work submitted to a stream runs at once, on the submitting host thread, in
// submission order (or is recorded into a graph while the stream captures). Ordering between
// streams is tracked with vector clocks, so a stream that touches a buffer written (or read) by
// another stream without an event wait or host synchronisation in between is reported as a
// hazard, even though eager execution would hide the race. Device memory is reachable only inside
// a DeviceAccess window (memory.cpp): outside one, the host faults on it with a message.
#pragma once
#include <cuda_emu/kernel.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace cuda_emu {

// ---- errors ---------------------------------------------------------------------------------
// Records `code` as the calling thread's last error with a sentence naming the call (written to
// stderr too with BNAS_EMU_VERBOSE=1) and returns the code.
// cudaGetErrorString(code) returns the sentence while it is the thread's latest error.
cudaError_t fail(cudaError_t code, const char* call, const std::string& detail);

// ---- devices --------------------------------------------------------------------------------
int device_count();          // BNAS_EMU_DEVICES (default 1)
int current_device();        // this host thread's current device
bool valid_device(int device);

// ---- device memory (memory.cpp) -------------------------------------------------------------
struct Block {
  uintptr_t base = 0;
  size_t bytes = 0;  // requested size
  int device = -1;
  bool live = false;
  uint64_t id = 0;   // unique per allocation (hazard state is keyed by it)
};
// The live allocation containing p, or nullptr. *freed is set when p lies in device memory that
// is not allocated now (a freed block, or never handed out).
const Block* find_block(const void* p, bool* in_arena = nullptr);
bool is_device_pointer(const void* p);
bool is_pinned_host(const void* p, size_t bytes);  // inside one cudaHostAlloc/cudaMallocHost block
void* device_alloc(int device, size_t bytes);      // nullptr when the device is full
void poison(void* p, size_t bytes);                 // fills a new block with 0xff bytes
bool device_free(const void* p);                    // false when p does not start a live block
bool ends_live_block(const void* p);                // p is one past the last byte of a live block
struct PoolFigures {
  size_t reserved, reserved_high, used, used_high;  // bytes the pool holds / hands out
};
PoolFigures pool_figures(int device);
void reset_pool_high(int device, bool reserved);
size_t device_capacity();  // bytes per emulated device (BNAS_EMU_MEMORY_MB, default 16 GiB)
void* pinned_alloc(size_t bytes);
bool pinned_free(void* p);

// Opens device memory to the host thread while device work runs (reference counted: several
// host threads may run device work at once). Memory stays protected outside every window.
class DeviceAccess {
 public:
  DeviceAccess();
  ~DeviceAccess();
  DeviceAccess(const DeviceAccess&) = delete;
  DeviceAccess& operator=(const DeviceAccess&) = delete;
};

// ---- streams and submission (streams.cpp) ---------------------------------------------------
enum class OpKind { Kernel, Memcpy, Memset, Collective, Library };

// The device a stream belongs to (0, legacy and per-thread streams: the current device), or -1
// for a handle that is not a live stream.
int stream_device(cudaStream_t s);
bool stream_capturing(cudaStream_t s);

// Submits op on stream s: checks that the stream belongs to the current device (kernels and
// library calls), that every access is device memory of the stream's device (or of a peer with
// access enabled) and live, and that it is ordered after the other streams' conflicting accesses;
// then runs op inside a DeviceAccess window, or records it into the graph the stream captures.
// `call` names the API call for messages (e.g. "cudnnConvolutionForward"), `name` the kernel.
cudaError_t submit(const char* call, const std::string& name, OpKind kind, cudaStream_t s, std::vector<Access> access,
                   std::function<void()> op);

// Host-side synchronisation with stream s (counted; an error while s captures), or with every
// stream of the current device (an error during a capture that covers this thread).
cudaError_t host_wait(const char* call, cudaStream_t s);
cudaError_t device_wait(const char* call);
// The error of a call CUDA forbids during a capture that covers this thread (cudaMalloc,
// cudaFree, synchronous copies), which invalidates the capture; cudaSuccess when none runs.
cudaError_t forbidden_in_capture(const char* call);
// The error for an operation on s that CUDA forbids while s captures (`why` names it), or
// cudaSuccess when s does not capture.
cudaError_t capture_forbids(const char* call, cudaStream_t s, const std::string& why);
// Stream-ordered allocation and free (recorded into the graph while s captures).
cudaError_t stream_alloc(void** ptr, size_t bytes, cudaStream_t s);
cudaError_t stream_free(void* p, cudaStream_t s);
void enable_peer(int device, int peer);
bool peer_enabled(int device, int peer);

// ---- counters (runtime.cpp) -----------------------------------------------------------------
void count_launch(const std::string& name);
void count_sync();
void count_alloc();
void count_free();
void count_copy(cudaMemcpyKind direction, size_t bytes);
void count_graph_launch();

}  // namespace cuda_emu
