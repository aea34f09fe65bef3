// Kernel launches of the emulated device: the launch checks (CUDA's limits), then the grid runs
// block by block on the submitting host thread. Kernels without barriers or shuffles run their
// threads as a plain loop; the others run one fiber per CUDA thread with a scheduler that resumes
// a fiber until it reaches a barrier or exits. On x86-64 the fibers switch with a few register
// moves (no system call); elsewhere with ucontext.
//
// Strictness kept from the first, thread-per-CUDA-thread emulator: a barrier reached from two
// call sites (divergent __syncthreads or shuffles), a barrier after a thread of its group exited
// or an exit while others wait, a deadlock, a shuffle with a partial mask or from a lane past the
// end of the block, and more than 48 KiB of shared memory per block abort with a message naming
// the kernel, the block and the thread.
#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <typeindex>
#include <utility>
#include <vector>

#if !defined(__x86_64__)
#include <ucontext.h>
#endif

#include "emu.h"

__thread dim3 threadIdx, blockIdx, blockDim, gridDim;

namespace cuda_emu {
namespace {

constexpr size_t kSharedLimit = 48 * 1024;
constexpr size_t kStackBytes = 256 * 1024;
constexpr size_t kGuard = 4096;

struct Barrier {
  int expected = 0, arrived = 0, exited = 0, site = 0;
  unsigned gen = 0;
};

struct Fiber {
  void* sp = nullptr;
  char* stack = nullptr;  // guard page + kStackBytes
  int tid = 0;
  bool done = false;
  Barrier* waiting = nullptr;
  unsigned gen = 0;
#if !defined(__x86_64__)
  ucontext_t ctx;
#endif
};

// The state of the block being run by this host thread.
struct BlockRun {
  const KernelSite* site = nullptr;
  const std::function<void()>* body = nullptr;
  int n = 0;
  dim3 block;
  bool fibers = false;
  Barrier block_bar;
  std::vector<Barrier> warps;
  std::vector<uint64_t> slots;  // one per thread, for warp shuffles
  struct Shared {
    std::vector<unsigned char> bytes;
    unsigned block = 0;  // the block that last declared it (re-poisoned for each new block)
  };
  std::map<std::pair<int, std::type_index>, Shared> shared;  // by declaration and type; storage kept across blocks and launches
  unsigned block_serial = 0;
  std::vector<unsigned char> dynamic;  // at least 1 byte, so that data() is never null
  size_t dynamic_bytes = 0, static_bytes = 0;
  std::vector<Fiber> pool;  // fibers (and their stacks) reused across blocks and launches
  Fiber* current = nullptr;
  void* scheduler_sp = nullptr;
#if !defined(__x86_64__)
  ucontext_t scheduler_ctx;
#endif
};
// Per host thread; reached through a plain __thread pointer (a thread_local object of a class
// type costs a TLS-wrapper call on every access, and barriers access it per CUDA thread).
thread_local std::unique_ptr<BlockRun> t_run_owner;
__thread BlockRun* t_run_ptr = nullptr;
inline BlockRun& run_state() { return *t_run_ptr; }

int linear_tid() {
  return static_cast<int>(threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z));
}
void set_thread(int t) {
  const dim3& b = run_state().block;
  if (b.y == 1 && b.z == 1) {
    threadIdx = dim3(static_cast<unsigned>(t), 0, 0);
  } else {
    threadIdx = dim3(t % b.x, (t / b.x) % b.y, t / (b.x * b.y));
  }
}

}  // namespace

void device_fail(const char* what) {
  const KernelSite* s = t_run_ptr ? t_run_ptr->site : nullptr;
  std::fprintf(stderr, "CUDA emulator: %s (kernel %s at %s:%d, block %u,%u,%u thread %u,%u,%u)\n", what,
               s ? s->name : "?", s ? s->file : "?", s ? s->line : 0, blockIdx.x, blockIdx.y, blockIdx.z, threadIdx.x,
               threadIdx.y, threadIdx.z);
  std::abort();
}

}  // namespace cuda_emu

#if defined(__x86_64__)
// cuda_emu_switch(save, load): saves the callee-saved registers, MXCSR and the x87 control word
// on the current stack, stores the stack pointer in *save, and resumes the context whose stack
// pointer is load. A new fiber's stack is laid out so that the switch "returns" into
// cuda_emu_fiber_entry with the Fiber* in r12.
asm(R"(
  .text
  .globl cuda_emu_switch
  .type cuda_emu_switch, @function
cuda_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size cuda_emu_switch, .-cuda_emu_switch
  .globl cuda_emu_fiber_entry
  .type cuda_emu_fiber_entry, @function
cuda_emu_fiber_entry:
  movq %r12, %rdi
  call cuda_emu_fiber_main@PLT
  ud2
  .size cuda_emu_fiber_entry, .-cuda_emu_fiber_entry
  .section .note.GNU-stack,"",@progbits
  .text
)");
extern "C" void cuda_emu_switch(void** save, void* load);
extern "C" void cuda_emu_fiber_entry();
#endif
extern "C" void cuda_emu_fiber_main(void* fiber);

namespace cuda_emu {
namespace {

bool runnable(const Fiber& f) { return !f.done && !(f.waiting && f.waiting->gen == f.gen); }

// The next runnable fiber after thread `from` in thread order (wrapping around), or nullptr.
Fiber* next_runnable(int from) {
  BlockRun& r = run_state();
  for (int k = 1; k <= r.n; ++k) {
    Fiber& f = r.pool[static_cast<size_t>((from + k) % r.n)];
    if (runnable(f)) return &f;
  }
  return nullptr;
}

// Suspends the running fiber and runs the block's next runnable fiber directly (one switch, no
// trip through the scheduler), or returns to the scheduler when none is left to run.
void yield_fiber() {
  BlockRun& r = run_state();
  Fiber* f = r.current;
  Fiber* next = next_runnable(f->tid);
  if (next) {
    next->waiting = nullptr;
    r.current = next;
    set_thread(next->tid);
  }
#if defined(__x86_64__)
  cuda_emu_switch(&f->sp, next ? next->sp : r.scheduler_sp);
#else
  swapcontext(&f->ctx, next ? &next->ctx : &r.scheduler_ctx);
#endif
}

void resume_fiber(Fiber* f) {
  run_state().current = f;
  set_thread(f->tid);
#if defined(__x86_64__)
  cuda_emu_switch(&run_state().scheduler_sp, f->sp);
#else
  swapcontext(&run_state().scheduler_ctx, &f->ctx);
#endif
  run_state().current = nullptr;
}

void exit_thread(int t) {
  BlockRun& r = run_state();
  Barrier& w = r.warps[static_cast<size_t>(t / 32)];
  if (r.block_bar.arrived > 0 || w.arrived > 0) device_fail("a thread exited while others wait for it at a barrier");
  ++r.block_bar.exited;
  ++w.exited;
}

}  // namespace
}  // namespace cuda_emu

extern "C" void cuda_emu_fiber_main(void* fiber) {
  auto* f = static_cast<cuda_emu::Fiber*>(fiber);
  (*cuda_emu::run_state().body)();
  cuda_emu::exit_thread(f->tid);
  f->done = true;
  cuda_emu::yield_fiber();
  std::abort();  // a finished fiber is never resumed
}

namespace cuda_emu {
namespace {

#if !defined(__x86_64__)
void ucontext_entry(unsigned lo, unsigned hi) {
  cuda_emu_fiber_main(reinterpret_cast<void*>((uintptr_t(hi) << 32) | lo));
}
#endif

// Prepares fiber f to start the block's body from the beginning.
void start_fiber(Fiber& f, int tid) {
  if (!f.stack) {
    void* p = mmap(nullptr, kStackBytes + kGuard, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) device_fail("cannot map a fiber stack");
    mprotect(p, kGuard, PROT_NONE);  // overflow faults instead of corrupting a neighbour
    f.stack = static_cast<char*>(p);
  }
  f.tid = tid;
  f.done = false;
  f.waiting = nullptr;
#if defined(__x86_64__)
  uintptr_t top = reinterpret_cast<uintptr_t>(f.stack + kGuard + kStackBytes) & ~uintptr_t(15);
  auto* sp = reinterpret_cast<uint64_t*>(top - 64 - 16);  // 16-byte aligned, as the entry's call needs
  const uint32_t mxcsr = 0x1f80;
  const uint16_t fpucw = 0x037f;
  std::memcpy(sp, &mxcsr, 4);
  std::memcpy(reinterpret_cast<char*>(sp) + 4, &fpucw, 2);
  sp[1] = 0, sp[2] = 0, sp[3] = 0;                // r15 r14 r13
  sp[4] = reinterpret_cast<uint64_t>(&f);         // r12: the fiber
  sp[5] = 0, sp[6] = 0;                           // rbx rbp
  sp[7] = reinterpret_cast<uint64_t>(&cuda_emu_fiber_entry);
  f.sp = sp;
#else
  getcontext(&f.ctx);
  f.ctx.uc_stack.ss_sp = f.stack + kGuard;
  f.ctx.uc_stack.ss_size = kStackBytes;
  f.ctx.uc_link = nullptr;
  const uintptr_t p = reinterpret_cast<uintptr_t>(&f);
  makecontext(&f.ctx, reinterpret_cast<void (*)()>(ucontext_entry), 2, unsigned(p), unsigned(p >> 32));
#endif
}

void run_block_fibers(int n) {
  BlockRun& r = run_state();
  if (r.pool.size() < static_cast<size_t>(n)) r.pool.resize(static_cast<size_t>(n));
  for (int t = 0; t < n; ++t) start_fiber(r.pool[static_cast<size_t>(t)], t);
  // Each resume runs fibers one after another until none is runnable; then either all are done,
  // or every live one waits at a barrier that cannot complete.
  for (Fiber* f = &r.pool[0]; f; f = next_runnable(n - 1)) {
    f->waiting = nullptr;
    resume_fiber(f);
  }
  for (int t = 0; t < n; ++t)
    if (!r.pool[static_cast<size_t>(t)].done) {
      set_thread(t);
      device_fail("deadlock: every live thread of the block waits at a barrier");
    }
}

void wait_at(Barrier& b, int site) {
  BlockRun& r = run_state();
  if (!r.fibers) device_fail("internal: a barrier in a kernel that convert.py found to have none");
  if (b.exited > 0) device_fail("barrier or shuffle after a thread of its block or warp exited");
  if (b.arrived == 0) {
    b.site = site;
  } else if (b.site != site) {
    device_fail("threads of one block or warp wait at different __syncthreads or shuffle calls (divergent code)");
  }
  if (++b.arrived == b.expected) {
    b.arrived = 0;
    ++b.gen;
    return;
  }
  Fiber* f = r.current;
  f->waiting = &b;
  f->gen = b.gen;
  yield_fiber();  // whoever switches back to f has set its thread index
}

}  // namespace

void sync_threads(int site) { wait_at(run_state().block_bar, site); }

void warp_exchange(int site, unsigned mask, uint64_t value, int source_lane, uint64_t* result) {
  BlockRun& r = run_state();
  if (mask != 0xffffffffu) device_fail("emulated shuffles take the full-warp mask only");
  const int t = linear_tid(), base = t - (t & 31);
  Barrier& warp = r.warps[static_cast<size_t>(t / 32)];
  r.slots[static_cast<size_t>(t)] = value;
  wait_at(warp, site);
  *result = value;
  if (source_lane >= 0 && source_lane < 32) {
    if (source_lane >= warp.expected) device_fail("shuffle from a lane past the end of the block");
    *result = r.slots[static_cast<size_t>(base + source_lane)];
  }
  wait_at(warp, site);
}

void* shared_bytes(int id, const std::type_info& type, size_t bytes) {
  BlockRun& r = run_state();
  BlockRun::Shared& sh = r.shared[{id, std::type_index(type)}];
  if (sh.block != r.block_serial) {  // first use in this block: fresh, poisoned memory
    sh.block = r.block_serial;
    r.static_bytes += bytes;
    if (r.static_bytes + r.dynamic_bytes > kSharedLimit) device_fail("more than 48 KiB of shared memory in one block");
    sh.bytes.assign(std::max<size_t>(bytes, 1), 0xff);
  }
  return sh.bytes.data();
}

void* dynamic_shared_bytes() { return run_state().dynamic.data(); }

void run_grid(const KernelSite& site, dim3 grid, dim3 block, size_t dynamic_smem, const std::function<void()>& body) {
  if (!t_run_ptr) {
    t_run_owner = std::make_unique<BlockRun>();
    t_run_ptr = t_run_owner.get();
  }
  BlockRun& r = run_state();
  if (r.site) device_fail("a kernel launched from device code (dynamic parallelism is not emulated)");
  const int n = static_cast<int>(block.x * block.y * block.z);
  r.site = &site;
  r.body = &body;
  r.n = n;
  r.block = block;
  r.fibers = site.barriers;
  r.slots.assign(static_cast<size_t>(n), 0);
  blockDim = block;
  gridDim = grid;
  for (unsigned bz = 0; bz < grid.z; ++bz)
    for (unsigned by = 0; by < grid.y; ++by)
      for (unsigned bx = 0; bx < grid.x; ++bx) {
        blockIdx = dim3(bx, by, bz);
        ++r.block_serial;
        r.static_bytes = 0;
        r.dynamic.assign(std::max<size_t>(dynamic_smem, 1), 0xff);
        r.dynamic_bytes = dynamic_smem;
        r.block_bar = Barrier{n};
        r.warps.assign(static_cast<size_t>((n + 31) / 32), Barrier{});
        for (size_t w = 0; w < r.warps.size(); ++w) r.warps[w].expected = std::min(32, n - 32 * static_cast<int>(w));
        if (r.fibers) {
          run_block_fibers(n);
        } else {
          for (int t = 0; t < n; ++t) {
            set_thread(t);
            body();
          }
        }
      }
  r.site = nullptr;
}

cudaError_t launch(const KernelSite& site, dim3 grid, dim3 block, size_t dynamic_smem, cudaStream_t stream,
                   std::function<void()> body, std::vector<Access> pointers) {
  const std::string where = std::string(site.name) + "<<<(" + std::to_string(grid.x) + "," + std::to_string(grid.y) +
                            "," + std::to_string(grid.z) + "), (" + std::to_string(block.x) + "," +
                            std::to_string(block.y) + "," + std::to_string(block.z) + ")>>> at " + site.file + ":" +
                            std::to_string(site.line);
  const uint64_t threads = uint64_t(block.x) * block.y * block.z;
  std::string why;
  if (grid.x == 0 || grid.y == 0 || grid.z == 0 || block.x == 0 || block.y == 0 || block.z == 0)
    why = "a grid or block dimension is 0";
  else if (grid.x > 0x7fffffffu || grid.y > 65535 || grid.z > 65535)
    why = "the grid is beyond CUDA's limits (x < 2^31, y and z <= 65535)";
  else if (threads > 1024 || block.z > 64)
    why = "the block has more than 1024 threads (or z > 64)";
  else if (dynamic_smem > kSharedLimit)
    why = "it asks " + std::to_string(dynamic_smem) + " bytes of dynamic shared memory, over the 48 KiB per block";
  if (!why.empty()) return fail(cudaErrorInvalidConfiguration, "cudaLaunchKernel", where + ": " + why);
  auto shared_site = std::make_shared<KernelSite>(site);
  return submit("cudaLaunchKernel", site.name, OpKind::Kernel, stream, std::move(pointers),
                [shared_site, grid, block, dynamic_smem, body = std::move(body)] {
                  run_grid(*shared_site, grid, block, dynamic_smem, body);
                });
}

}  // namespace cuda_emu
