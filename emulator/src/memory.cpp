// Device memory of the emulated GPUs: one reserved address range per device (64 GiB each, no
// host memory behind it until used), handed out by a stream-ordered pool (blocks are reused by
// size; the pool keeps what it reserved, as a pool with an infinite release threshold does).
// The range is mapped PROT_NONE except while device work runs (DeviceAccess), so a host
// dereference of a device pointer faults; the SIGSEGV handler names the block and aborts.
// New blocks are poisoned with 0xff bytes (NaN floats), as uninitialised GPU memory is garbage.
// Pinned host memory (cudaHostAlloc) is plain host memory, recorded so that copies can tell
// pinned from pageable buffers.
#include <execinfo.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <map>
#include <mutex>

#include "emu.h"

namespace cuda_emu {
namespace {

constexpr int kMaxDevices = 16;
constexpr size_t kSlice = size_t(64) << 30;
constexpr size_t kAlign = 256;
constexpr size_t kPage = 4096;
// Protection changes cost one page-table update per page; the arena asks for transparent huge
// pages and opens and closes whole 2 MiB pages, so a window costs a few updates, not thousands.
constexpr size_t kHugePage = size_t(2) << 20;

size_t capacity_bytes() {
  static const size_t cap = [] {
    const char* e = std::getenv("BNAS_EMU_MEMORY_MB");
    const size_t mb = e ? std::strtoull(e, nullptr, 10) : 16384;
    return std::min(kSlice, (mb ? mb : 16384) << 20);
  }();
  return cap;
}

struct DeviceHeap {
  size_t bump = 0;      // reserved bytes (the pool's size)
  size_t mapped = 0;    // bytes made accessible at least once (page rounded)
  size_t used = 0, used_high = 0, reserved_high = 0;
  std::multimap<size_t, uintptr_t> free_blocks;  // rounded size -> base
};

struct Arena {
  char* base = nullptr;
  std::mutex m;
  DeviceHeap heap[kMaxDevices];
  std::map<uintptr_t, Block> blocks;  // by base: live blocks and freed ones awaiting reuse
  std::map<uintptr_t, size_t> pinned;
  uint64_t next_id = 1;
  int windows = 0;  // open DeviceAccess windows, under m
};

void on_segv(int, siginfo_t*, void*);

Arena& arena() {
  static Arena* a = [] {
    auto* r = new Arena;
    void* p = mmap(nullptr, kSlice * kMaxDevices, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
      std::fprintf(stderr, "CUDA emulator: cannot reserve the device address range\n");
      std::abort();
    }
    r->base = static_cast<char*>(p);
    madvise(p, kSlice * kMaxDevices, MADV_HUGEPAGE);  // advice: without THP it is only slower
    struct sigaction sa {};
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, nullptr);
    return r;
  }();
  return *a;
}

size_t round_up(size_t v, size_t a) { return (v + a - 1) / a * a; }

int device_of_address(uintptr_t a) {
  const uintptr_t b = reinterpret_cast<uintptr_t>(arena().base);
  if (a < b || a >= b + kSlice * kMaxDevices) return -1;
  return static_cast<int>((a - b) / kSlice);
}

// Makes every device's used range readable and writable (on) or inaccessible (off).
void protect_all(bool on) {
  Arena& A = arena();
  for (int d = 0; d < kMaxDevices; ++d) {
    DeviceHeap& h = A.heap[d];
    if (h.mapped == 0) continue;
    if (mprotect(A.base + kSlice * d, h.mapped, on ? PROT_READ | PROT_WRITE : PROT_NONE) != 0) {
      std::perror("CUDA emulator: mprotect");
      std::abort();
    }
  }
}

const Block* lookup(Arena& A, uintptr_t a) {
  auto it = A.blocks.upper_bound(a);
  if (it == A.blocks.begin()) return nullptr;
  --it;
  const Block& b = it->second;
  return a < b.base + std::max<size_t>(b.bytes, 1) ? &b : nullptr;
}

void write_str(const char* s) {
  ssize_t r = write(2, s, std::strlen(s));
  (void)r;
}

void on_segv(int sig, siginfo_t* info, void*) {
  Arena& A = arena();
  const uintptr_t a = reinterpret_cast<uintptr_t>(info->si_addr);
  const int dev = device_of_address(a);
  if (dev < 0) {  // not ours: let the default action report it
    signal(sig, SIG_DFL);
    return;
  }
  char msg[512];
  const Block* b = A.m.try_lock() ? lookup(A, a) : nullptr;
  if (A.windows == 0) {
    if (b && b->live) {
      std::snprintf(msg, sizeof msg,
                    "CUDA emulator: the host dereferenced device memory at %p (byte %zu of a %zu-byte buffer on "
                    "cuda:%d): device memory is reachable from the host only through cudaMemcpy* and cudaMemset*\n",
                    info->si_addr, static_cast<size_t>(a - b->base), b->bytes, dev);
    } else {
      std::snprintf(msg, sizeof msg,
                    "CUDA emulator: the host dereferenced device address %p on cuda:%d, which is not allocated "
                    "(freed, or never handed out)\n",
                    info->si_addr, dev);
    }
  } else {
    std::snprintf(msg, sizeof msg,
                  "CUDA emulator: an illegal address: device code accessed %p on cuda:%d, beyond every allocation\n",
                  info->si_addr, dev);
  }
  write_str(msg);
  void* frames[32];
  backtrace_symbols_fd(frames, backtrace(frames, 32), 2);
  std::abort();
}

}  // namespace

DeviceAccess::DeviceAccess() {
  Arena& A = arena();
  std::lock_guard<std::mutex> lock(A.m);  // device_alloc reads the count under it too
  if (A.windows++ == 0) protect_all(true);
}
DeviceAccess::~DeviceAccess() {
  Arena& A = arena();
  std::lock_guard<std::mutex> lock(A.m);
  if (--A.windows == 0) protect_all(false);
}

const Block* find_block(const void* p, bool* in_arena) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  Arena& A = arena();
  if (in_arena) *in_arena = device_of_address(a) >= 0;
  std::lock_guard<std::mutex> lock(A.m);
  const Block* b = lookup(A, a);
  return b && b->live ? b : nullptr;
}

bool ends_live_block(const void* p) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  Arena& A = arena();
  std::lock_guard<std::mutex> lock(A.m);
  const Block* b = lookup(A, a - 1);
  return b && b->live && a == b->base + b->bytes;
}

bool is_device_pointer(const void* p) { return device_of_address(reinterpret_cast<uintptr_t>(p)) >= 0; }

bool is_pinned_host(const void* p, size_t bytes) {
  Arena& A = arena();
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  std::lock_guard<std::mutex> lock(A.m);
  auto it = A.pinned.upper_bound(a);
  if (it == A.pinned.begin()) return false;
  --it;
  return a + bytes <= it->first + it->second;
}

// A new device block of `bytes` on `device` (nullptr when the device is full).
void* device_alloc(int device, size_t bytes) {
  Arena& A = arena();
  std::lock_guard<std::mutex> lock(A.m);
  DeviceHeap& h = A.heap[device];
  const size_t size = round_up(std::max<size_t>(bytes, 1), kAlign);
  uintptr_t base = 0;
  auto it = h.free_blocks.upper_bound(size);  // the latest freed block of this size (LIFO)
  if (it != h.free_blocks.begin() && std::prev(it)->first == size) {
    --it;
    base = it->second;
    h.free_blocks.erase(it);
  } else {
    if (h.bump + size > capacity_bytes()) return nullptr;
    base = reinterpret_cast<uintptr_t>(A.base + kSlice * device + h.bump);
    h.bump += size;
    h.reserved_high = std::max(h.reserved_high, h.bump);
    const size_t mapped = round_up(h.bump, kHugePage);
    if (mapped > h.mapped) {
      const size_t old = h.mapped;
      h.mapped = mapped;
      // Inside an open window the new pages must be reachable at once.
      if (A.windows > 0) mprotect(A.base + kSlice * device + old, mapped - old, PROT_READ | PROT_WRITE);
    }
  }
  A.blocks[base] = Block{base, bytes, device, true, A.next_id++};
  h.used += size;
  h.used_high = std::max(h.used_high, h.used);
  return reinterpret_cast<void*>(base);
}

// Poisons a new block (outside the heap lock: the window takes it).
void poison(void* p, size_t bytes) {
  DeviceAccess window;
  std::memset(p, 0xff, bytes);
}

// Frees a live block; false when p is not the start of one.
bool device_free(const void* p) {
  Arena& A = arena();
  std::lock_guard<std::mutex> lock(A.m);
  auto it = A.blocks.find(reinterpret_cast<uintptr_t>(p));
  if (it == A.blocks.end() || !it->second.live) return false;
  Block& b = it->second;
  b.live = false;
  const size_t size = round_up(std::max<size_t>(b.bytes, 1), kAlign);
  DeviceHeap& h = A.heap[b.device];
  h.used -= size;
  h.free_blocks.emplace(size, b.base);
  return true;
}

PoolFigures pool_figures(int device) {
  Arena& A = arena();
  std::lock_guard<std::mutex> lock(A.m);
  const DeviceHeap& h = A.heap[device];
  return {h.bump, h.reserved_high, h.used, h.used_high};
}
void reset_pool_high(int device, bool reserved) {
  Arena& A = arena();
  std::lock_guard<std::mutex> lock(A.m);
  DeviceHeap& h = A.heap[device];
  if (reserved) h.reserved_high = h.bump;
  else h.used_high = h.used;
}
size_t device_capacity() { return capacity_bytes(); }

void* pinned_alloc(size_t bytes) {
  void* p = std::aligned_alloc(kPage, round_up(std::max<size_t>(bytes, 1), kPage));
  if (!p) return nullptr;
  Arena& A = arena();
  std::lock_guard<std::mutex> lock(A.m);
  A.pinned[reinterpret_cast<uintptr_t>(p)] = bytes;
  return p;
}
bool pinned_free(void* p) {
  Arena& A = arena();
  {
    std::lock_guard<std::mutex> lock(A.m);
    if (A.pinned.erase(reinterpret_cast<uintptr_t>(p)) == 0) return false;
  }
  std::free(p);
  return true;
}

}  // namespace cuda_emu
