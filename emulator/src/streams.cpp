// Streams, events, stream capture and graphs of the emulated device, and the one submission path
// every operation takes (kernels, copies, memsets, library calls, collectives).
//
// Work runs eagerly on the submitting thread, so streams never overlap in fact; whether they
// could overlap on a GPU is tracked with vector clocks. Each stream ticks its own component per
// operation; an event records its stream's clock; cudaStreamWaitEvent merges it into the waiting
// stream; a host synchronisation merges the stream's clock into the host's, which every later
// submission inherits. A buffer remembers the clock tick of its last write and of its reads per
// stream, so an operation that touches it from another stream without being ordered after them
// is a hazard (reported as an error naming both operations), though eager execution hid it.
//
// Capture records operations as graph nodes instead of running them (streams join a capture by
// waiting on an event recorded in it and must be joined back before cudaStreamEndCapture); calls
// CUDA forbids during capture fail with CUDA's codes and invalidate it. A graph launch replays its
// nodes in capture order on the launching stream, through the same checks.
#include <algorithm>
#include <cstdio>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include "emu.h"

namespace cuda_emu {
struct Capture;
struct Clock {
  std::vector<uint64_t> t;
  uint64_t get(int i) const { return i < static_cast<int>(t.size()) ? t[static_cast<size_t>(i)] : 0; }
  void set(int i, uint64_t v) {
    if (i >= static_cast<int>(t.size())) t.resize(static_cast<size_t>(i) + 1, 0);
    t[static_cast<size_t>(i)] = v;
  }
  void merge(const Clock& o) {
    if (o.t.size() > t.size()) t.resize(o.t.size(), 0);
    for (size_t i = 0; i < o.t.size(); ++i) t[i] = std::max(t[i], o.t[i]);
  }
};
struct Node {
  std::string call, name;
  OpKind kind;
  std::vector<Access> access;
  std::function<void()> op;
};
// Device memory a graph allocated while it was captured: it lives as long as the graph or an
// executable instantiated from it.
struct GraphMemory {
  std::vector<void*> blocks;
  ~GraphMemory() {
    for (void* p : blocks) device_free(p);
  }
};
}  // namespace cuda_emu

struct CUstream_st {
  int id;
  int device;
  unsigned flags;
  bool legacy;
  cuda_emu::Clock clock;
  cuda_emu::Capture* capture = nullptr;
  uint64_t ops = 0;       // operations submitted (capture join bookkeeping)
  bool unjoined = false;  // a forked stream with captured work not yet waited on by the capture
};
struct CUevent_st {
  int device;
  unsigned flags;
  bool recorded = false;
  cuda_emu::Clock clock;
  cuda_emu::Capture* capture = nullptr;  // recorded while its stream captured
  CUstream_st* stream = nullptr;
  uint64_t stream_ops = 0;
  std::chrono::steady_clock::time_point time;
};
struct CUgraph_st {
  std::vector<cuda_emu::Node> nodes;
  std::shared_ptr<cuda_emu::GraphMemory> memory = std::make_shared<cuda_emu::GraphMemory>();
};
struct CUgraphExec_st {
  std::vector<cuda_emu::Node> nodes;
  std::vector<std::shared_ptr<cuda_emu::GraphMemory>> memory;
};

namespace cuda_emu {

struct Capture {
  CUgraph_st* graph;
  CUstream_st* origin;
  cudaStreamCaptureMode mode;
  std::thread::id thread;
  bool invalidated = false;
  std::vector<CUstream_st*> members;
};

namespace {

struct Hazard {
  int w_stream = -1;
  uint64_t w_tick = 0;
  std::string w_name;
  std::vector<std::pair<int, uint64_t>> reads;
  std::vector<std::string> read_names;
};

struct State {
  std::mutex m;
  std::set<CUstream_st*> streams;
  std::set<CUevent_st*> events;
  std::set<CUgraph_st*> graphs;
  std::set<CUgraphExec_st*> execs;
  std::map<int, CUstream_st*> legacy;  // per device
  std::set<Capture*> captures;
  std::unordered_map<uint64_t, Hazard> hazards;  // by Block::id
  Clock host;
  int next_id = 0;
  bool peer[16][16] = {};
};
State& S() {
  static State* s = new State;  // never destroyed: streams may be used from static destructors
  return *s;
}

std::string stream_name(const CUstream_st* st) {
  return (st->legacy ? std::string("the default stream") : "stream #" + std::to_string(st->id)) + " of cuda:" +
         std::to_string(st->device);
}

CUstream_st* legacy_stream(int device) {
  State& g = S();
  CUstream_st*& st = g.legacy[device];
  if (!st) st = new CUstream_st{g.next_id++, device, cudaStreamDefault, true, {}};
  return st;
}

// The stream behind a handle (0, legacy and per-thread handles: the current device's default
// stream), or nullptr. Caller holds the lock.
CUstream_st* resolve(cudaStream_t s) {
  if (s == nullptr || s == cudaStreamLegacy || s == cudaStreamPerThread) return legacy_stream(current_device());
  return S().streams.count(s) ? s : nullptr;
}

cudaError_t bad_event(const char* call, cudaEvent_t e) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%p", static_cast<void*>(e));
  return fail(cudaErrorInvalidResourceHandle, call, std::string("event ") + buf + " is not a live event");
}

cudaError_t bad_stream(const char* call, cudaStream_t s) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%p", static_cast<void*>(s));
  return fail(cudaErrorInvalidResourceHandle, call,
              std::string("stream ") + buf + " is not a live stream (destroyed, or never created)");
}

// A call that CUDA forbids while a capture that covers this thread is under way (cudaMalloc,
// synchronous copies, synchronisations): the error, and the capture is invalidated.
cudaError_t check_not_capturing(const char* call) {
  State& g = S();
  for (Capture* c : g.captures) {
    const bool covers = c->mode == cudaStreamCaptureModeGlobal ||
                        (c->mode == cudaStreamCaptureModeThreadLocal && c->thread == std::this_thread::get_id());
    if (!covers) continue;
    c->invalidated = true;
    return fail(cudaErrorStreamCaptureUnsupported, call,
                "not permitted while " + stream_name(c->origin) + " is capturing a graph (" +
                    (c->mode == cudaStreamCaptureModeGlobal ? "global" : "thread-local") +
                    " capture mode); the capture is now invalidated");
  }
  return cudaSuccess;
}

void end_capture(Capture* c) {
  for (CUstream_st* m : c->members) {
    m->capture = nullptr;
    m->unjoined = false;
  }
  S().captures.erase(c);
  delete c;
}

std::string describe(const Block& b) {
  return "a " + std::to_string(b.bytes) + "-byte buffer on cuda:" + std::to_string(b.device);
}

// Checks one access of an operation of `name` on stream st at clock tick `tick` against the
// buffer's earlier accesses, then records it. Returns an error sentence, or "".
std::string check_hazard(CUstream_st* st, uint64_t tick, const Block& b, bool write, const std::string& name) {
  Hazard& h = S().hazards[b.id];
  auto unordered = [&](int other, uint64_t t) { return other != st->id && st->clock.get(other) < t; };
  if (h.w_stream >= 0 && unordered(h.w_stream, h.w_tick))
    return name + " on " + stream_name(st) + (write ? " writes " : " reads ") + describe(b) + " that " + h.w_name +
           " wrote on stream #" + std::to_string(h.w_stream) +
           " with no event wait or synchronisation in between (a race on a GPU)";
  if (write) {
    for (size_t i = 0; i < h.reads.size(); ++i)
      if (unordered(h.reads[i].first, h.reads[i].second))
        return name + " on " + stream_name(st) + " overwrites " + describe(b) + " that " + h.read_names[i] +
               " reads on stream #" + std::to_string(h.reads[i].first) +
               " with no event wait or synchronisation in between (a race on a GPU)";
    h.w_stream = st->id;
    h.w_tick = tick;
    h.w_name = name;
    h.reads.clear();
    h.read_names.clear();
  } else {
    for (size_t i = 0; i < h.reads.size(); ++i)
      if (h.reads[i].first == st->id) {
        h.reads[i].second = tick;
        h.read_names[i] = name;
        return "";
      }
    h.reads.emplace_back(st->id, tick);
    h.read_names.push_back(name);
  }
  return "";
}

const char* kind_noun(OpKind k) {
  switch (k) {
    case OpKind::Kernel: return "kernel";
    case OpKind::Memcpy: return "copy";
    case OpKind::Memset: return "memset";
    case OpKind::Collective: return "collective";
    case OpKind::Library: return "library call";
  }
  return "operation";
}

// Checks that every access is a live buffer the operation may reach from st's device.
cudaError_t check_buffers(const char* call, const std::string& name, OpKind kind, CUstream_st* st,
                          const std::vector<Access>& access) {
  for (const Access& a : access) {
    if (!a.ptr) continue;
    bool in_arena = false;
    const Block* b = find_block(a.ptr, &in_arena);
    char at[64];
    std::snprintf(at, sizeof at, "%p", a.ptr);
    const std::string who = name + " (" + kind_noun(kind) + ")";
    if (!in_arena) {
      if (kind == OpKind::Memcpy || is_pinned_host(a.ptr, std::max<size_t>(a.bytes, 1))) continue;
      return fail(kind == OpKind::Kernel ? cudaErrorIllegalAddress : cudaErrorInvalidValue, call,
                  who + " was given host address " + at + ", which device code cannot reach");
    }
    if (!b) {
      if (kind == OpKind::Kernel && a.bytes == 0 && ends_live_block(a.ptr)) continue;  // one past the end
      return fail(cudaErrorIllegalAddress, call,
                  who + " was given device address " + at +
                      ", which is not allocated (freed, or outside every buffer)");
    }
    if (a.bytes > 0 && reinterpret_cast<uintptr_t>(a.ptr) + a.bytes > b->base + b->bytes)
      return fail(cudaErrorInvalidValue, call,
                  who + " reaches " + std::to_string(a.bytes) + " bytes from byte " +
                      std::to_string(reinterpret_cast<uintptr_t>(a.ptr) - b->base) + " of " + describe(*b) +
                      ", past its end");
    if (kind != OpKind::Memcpy && b->device != st->device && !S().peer[st->device][b->device])
      return fail(cudaErrorIllegalAddress, call,
                  who + " on cuda:" + std::to_string(st->device) + " was given " + describe(*b) +
                      " without peer access enabled (cudaDeviceEnablePeerAccess)");
  }
  return cudaSuccess;
}

// Orders, hazard-checks and runs one operation on st now. Takes the state lock held by `lock`
// and releases it before running the operation. A graph's nodes are not counted as launches
// (the graph launch is).
cudaError_t execute(std::unique_lock<std::mutex>& lock, const Node& n, CUstream_st* st, bool graph_node = false) {
  State& g = S();
  st->clock.merge(g.host);
  if (st->legacy) {  // the legacy stream waits for, and is waited for by, the blocking streams
    for (CUstream_st* o : g.streams)
      if (o->device == st->device && !(o->flags & cudaStreamNonBlocking)) st->clock.merge(o->clock);
  } else if (!(st->flags & cudaStreamNonBlocking)) {
    st->clock.merge(legacy_stream(st->device)->clock);
  }
  const uint64_t tick = st->clock.get(st->id) + 1;
  st->clock.set(st->id, tick);
  for (const Access& a : n.access) {
    if (!a.ptr) continue;
    const Block* b = find_block(a.ptr);
    if (!b) continue;
    const std::string why = check_hazard(st, tick, *b, a.write, n.name);
    if (!why.empty()) return fail(cudaErrorIllegalState, n.call.c_str(), why);
  }
  lock.unlock();
  if (!graph_node && n.kind != OpKind::Memcpy && n.kind != OpKind::Memset) count_launch(n.name);
  DeviceAccess window;
  n.op();
  return cudaSuccess;
}

}  // namespace

int stream_device(cudaStream_t s) {
  std::lock_guard<std::mutex> lock(S().m);
  CUstream_st* st = resolve(s);
  return st ? st->device : -1;
}

bool stream_capturing(cudaStream_t s) {
  std::lock_guard<std::mutex> lock(S().m);
  CUstream_st* st = resolve(s);
  return st && st->capture;
}

cudaError_t submit(const char* call, const std::string& name, OpKind kind, cudaStream_t s, std::vector<Access> access,
                   std::function<void()> op) {
  State& g = S();
  std::unique_lock<std::mutex> lock(g.m);
  CUstream_st* st = resolve(s);
  if (!st) return bad_stream(call, s);
  if (kind != OpKind::Memcpy && st->device != current_device())
    return fail(cudaErrorInvalidResourceHandle, call,
                name + " was submitted to " + stream_name(st) + " while the current device is cuda:" +
                    std::to_string(current_device()) + " (call cudaSetDevice first)");
  if (cudaError_t e = check_buffers(call, name, kind, st, access)) return e;
  if (st->legacy) {
    for (Capture* c : g.captures)
      for (CUstream_st* m : c->members)
        if (m->device == st->device && !(m->flags & cudaStreamNonBlocking)) {
          c->invalidated = true;
          return fail(cudaErrorStreamCaptureImplicit, call,
                      name + " on the legacy default stream would synchronise with " + stream_name(m) +
                          ", which is capturing");
        }
  }
  Node n{call, name, kind, std::move(access), std::move(op)};
  if (st->capture) {
    if (st->capture->invalidated)
      return fail(cudaErrorStreamCaptureInvalidated, call, "the capture on " + stream_name(st) + " was invalidated");
    ++st->ops;
    if (st != st->capture->origin) st->unjoined = true;
    st->capture->graph->nodes.push_back(std::move(n));
    return cudaSuccess;
  }
  ++st->ops;
  return execute(lock, n, st);
}

cudaError_t host_wait(const char* call, cudaStream_t s) {
  State& g = S();
  std::lock_guard<std::mutex> lock(g.m);
  CUstream_st* st = resolve(s);
  if (!st) return bad_stream(call, s);
  if (st->capture) {
    st->capture->invalidated = true;
    return fail(cudaErrorStreamCaptureUnsupported, call,
                "cannot wait for " + stream_name(st) + " while it is capturing a graph; the capture is now invalidated");
  }
  g.host.merge(st->clock);
  count_sync();
  return cudaSuccess;
}

// Host-side synchronisation with every stream of the current device.
cudaError_t device_wait(const char* call) {
  State& g = S();
  std::lock_guard<std::mutex> lock(g.m);
  if (cudaError_t e = check_not_capturing(call)) return e;
  const int d = current_device();
  for (CUstream_st* st : g.streams)
    if (st->device == d) g.host.merge(st->clock);
  g.host.merge(legacy_stream(d)->clock);
  count_sync();
  return cudaSuccess;
}

// cudaMalloc, cudaFree and the other calls forbidden during capture check here first.
cudaError_t forbidden_in_capture(const char* call) {
  std::lock_guard<std::mutex> lock(S().m);
  return check_not_capturing(call);
}

// Stream-ordered allocation: recorded as owned by the graph while the stream captures.
cudaError_t stream_alloc(void** ptr, size_t bytes, cudaStream_t s) {
  State& g = S();
  std::lock_guard<std::mutex> lock(g.m);
  CUstream_st* st = resolve(s);
  if (!st) return bad_stream("cudaMallocAsync", s);
  void* p = device_alloc(st->device, bytes);
  if (!p)
    return fail(cudaErrorMemoryAllocation, "cudaMallocAsync",
                "cuda:" + std::to_string(st->device) + " is out of memory (" + std::to_string(bytes) +
                    " bytes asked, BNAS_EMU_MEMORY_MB sets the emulated size)");
  poison(p, bytes);
  if (st->capture) st->capture->graph->memory->blocks.push_back(p);
  count_alloc();
  *ptr = p;
  return cudaSuccess;
}

cudaError_t stream_free(void* p, cudaStream_t s) {
  State& g = S();
  std::unique_lock<std::mutex> lock(g.m);
  CUstream_st* st = resolve(s);
  if (!st) return bad_stream("cudaFreeAsync", s);
  const Block* b = find_block(p);
  if (!b || b->base != reinterpret_cast<uintptr_t>(p)) {
    char at[64];
    std::snprintf(at, sizeof at, "%p", p);
    return fail(cudaErrorInvalidValue, "cudaFreeAsync",
                std::string(at) + " is not the start of a live device buffer (freed twice, or never allocated)");
  }
  if (st->capture) {
    std::vector<void*>& owned = st->capture->graph->memory->blocks;
    if (std::find(owned.begin(), owned.end(), p) == owned.end()) {
      // A free node: the buffer is freed when the graph runs.
      st->capture->graph->nodes.push_back(Node{"cudaFreeAsync", "cudaFreeAsync", OpKind::Memset, {Access{p, 0, true}},
                                               [p] { device_free(p); }});
    }
    count_free();
    return cudaSuccess;
  }
  const uint64_t id = b->id;
  // The free is ordered like a write: no other stream may still be using the buffer.
  Node n{"cudaFreeAsync", "cudaFreeAsync", OpKind::Memset, {Access{p, 0, true}}, [] {}};
  if (cudaError_t e = execute(lock, n, st)) return e;
  {
    std::lock_guard<std::mutex> relock(g.m);
    g.hazards.erase(id);
  }
  device_free(p);
  count_free();
  return cudaSuccess;
}

cudaError_t capture_forbids(const char* call, cudaStream_t s, const std::string& why) {
  std::lock_guard<std::mutex> lock(S().m);
  CUstream_st* st = resolve(s);
  if (!st || !st->capture) return cudaSuccess;
  st->capture->invalidated = true;
  return fail(cudaErrorStreamCaptureUnsupported, call,
              why + " is not permitted while " + stream_name(st) + " is capturing a graph; the capture is now invalidated");
}

void enable_peer(int device, int peer) {
  std::lock_guard<std::mutex> lock(S().m);
  S().peer[device][peer] = true;
}
bool peer_enabled(int device, int peer) {
  std::lock_guard<std::mutex> lock(S().m);
  return S().peer[device][peer];
}

}  // namespace cuda_emu

using cuda_emu::bad_event;
using cuda_emu::fail;
using cuda_emu::S;

extern "C" {

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned flags) {
  if (!stream) return fail(cudaErrorInvalidValue, "cudaStreamCreateWithFlags", "the output pointer is null");
  std::lock_guard<std::mutex> lock(S().m);
  auto* st = new CUstream_st{S().next_id++, cuda_emu::current_device(), flags, false, {}};
  S().streams.insert(st);
  *stream = st;
  return cudaSuccess;
}
cudaError_t cudaStreamCreate(cudaStream_t* stream) { return cudaStreamCreateWithFlags(stream, cudaStreamDefault); }

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  std::lock_guard<std::mutex> lock(S().m);
  if (!S().streams.count(stream)) return cuda_emu::bad_stream("cudaStreamDestroy", stream);
  if (stream->capture)
    return fail(cudaErrorStreamCaptureUnsupported, "cudaStreamDestroy", "the stream is capturing a graph");
  S().streams.erase(stream);
  delete stream;
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) { return cuda_emu::host_wait("cudaStreamSynchronize", stream); }

cudaError_t cudaStreamQuery(cudaStream_t stream) {
  std::lock_guard<std::mutex> lock(S().m);
  CUstream_st* st = cuda_emu::resolve(stream);
  if (!st) return cuda_emu::bad_stream("cudaStreamQuery", stream);
  if (st->capture) {
    st->capture->invalidated = true;
    return fail(cudaErrorStreamCaptureUnsupported, "cudaStreamQuery",
                "cannot query " + cuda_emu::stream_name(st) + " while it is capturing a graph; the capture is now invalidated");
  }
  return cudaSuccess;  // eager execution: everything submitted has completed
}

cudaError_t cudaDeviceSynchronize(void) { return cuda_emu::device_wait("cudaDeviceSynchronize"); }

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned flags) {
  if (!event) return fail(cudaErrorInvalidValue, "cudaEventCreateWithFlags", "the output pointer is null");
  std::lock_guard<std::mutex> lock(S().m);
  auto* e = new CUevent_st{cuda_emu::current_device(), flags, false, {}, nullptr, nullptr, 0, {}};
  S().events.insert(e);
  *event = e;
  return cudaSuccess;
}
cudaError_t cudaEventCreate(cudaEvent_t* event) { return cudaEventCreateWithFlags(event, cudaEventDefault); }

cudaError_t cudaEventDestroy(cudaEvent_t event) {
  std::lock_guard<std::mutex> lock(S().m);
  if (!S().events.erase(event)) return bad_event("cudaEventDestroy", event);
  delete event;
  return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  std::lock_guard<std::mutex> lock(S().m);
  if (!S().events.count(event)) return bad_event("cudaEventRecord", event);
  CUstream_st* st = cuda_emu::resolve(stream);
  if (!st) return cuda_emu::bad_stream("cudaEventRecord", stream);
  if (st->device != event->device)
    return fail(cudaErrorInvalidResourceHandle, "cudaEventRecord",
                "the event belongs to cuda:" + std::to_string(event->device) + " but " + cuda_emu::stream_name(st) +
                    " to cuda:" + std::to_string(st->device));
  event->recorded = true;
  event->clock = st->clock;
  event->capture = st->capture;
  event->stream = st;
  event->stream_ops = st->ops;
  event->time = std::chrono::steady_clock::now();
  return cudaSuccess;
}

cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned) {
  std::lock_guard<std::mutex> lock(S().m);
  if (!S().events.count(event)) return bad_event("cudaStreamWaitEvent", event);
  CUstream_st* st = cuda_emu::resolve(stream);
  if (!st) return cuda_emu::bad_stream("cudaStreamWaitEvent", stream);
  if (event->capture) {
    cuda_emu::Capture* c = event->capture;
    if (!S().captures.count(c))
      return fail(cudaErrorStreamCaptureIsolation, "cudaStreamWaitEvent",
                  "the event was recorded in a capture that has ended");
    if (st->capture && st->capture != c)
      return fail(cudaErrorStreamCaptureMerge, "cudaStreamWaitEvent",
                  cuda_emu::stream_name(st) + " captures another graph than the event's");
    if (!st->capture) {  // fork: the stream joins the capture
      st->capture = c;
      c->members.push_back(st);
    }
    // Join: the recording stream's work up to the event is now waited for.
    if (event->stream != st && event->stream->ops == event->stream_ops) event->stream->unjoined = false;
  } else if (st->capture) {
    st->capture->invalidated = true;
    return fail(cudaErrorStreamCaptureIsolation, "cudaStreamWaitEvent",
                cuda_emu::stream_name(st) + " is capturing and cannot wait on an event recorded outside the capture");
  }
  st->clock.merge(event->clock);
  return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  std::lock_guard<std::mutex> lock(S().m);
  if (!S().events.count(event)) return bad_event("cudaEventSynchronize", event);
  if (event->capture)
    return fail(cudaErrorCapturedEvent, "cudaEventSynchronize", "the event was recorded in a stream capture");
  S().host.merge(event->clock);
  cuda_emu::count_sync();
  return cudaSuccess;
}

cudaError_t cudaEventQuery(cudaEvent_t event) {
  std::lock_guard<std::mutex> lock(S().m);
  if (!S().events.count(event)) return bad_event("cudaEventQuery", event);
  if (event->capture)
    return fail(cudaErrorCapturedEvent, "cudaEventQuery", "the event was recorded in a stream capture");
  return cudaSuccess;
}

cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  std::lock_guard<std::mutex> lock(S().m);
  if (!S().events.count(start) || !S().events.count(end)) return bad_event("cudaEventElapsedTime", start);
  if ((start->flags | end->flags) & cudaEventDisableTiming)
    return fail(cudaErrorInvalidResourceHandle, "cudaEventElapsedTime", "an event was created with cudaEventDisableTiming");
  if (!start->recorded || !end->recorded)
    return fail(cudaErrorInvalidResourceHandle, "cudaEventElapsedTime", "an event was never recorded");
  // Host time of the eager execution: not a GPU time.
  *ms = std::chrono::duration<float, std::milli>(end->time - start->time).count();
  return cudaSuccess;
}

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode mode) {
  std::lock_guard<std::mutex> lock(S().m);
  if (stream == nullptr || stream == cudaStreamLegacy)
    return fail(cudaErrorStreamCaptureUnsupported, "cudaStreamBeginCapture", "the legacy default stream cannot capture");
  CUstream_st* st = cuda_emu::resolve(stream);
  if (!st) return cuda_emu::bad_stream("cudaStreamBeginCapture", stream);
  if (st->capture) return fail(cudaErrorIllegalState, "cudaStreamBeginCapture", "the stream is already capturing");
  auto* c = new cuda_emu::Capture{new CUgraph_st, st, mode, std::this_thread::get_id(), false, {}};
  c->members.push_back(st);
  st->capture = c;
  S().captures.insert(c);
  return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph) {
  std::lock_guard<std::mutex> lock(S().m);
  CUstream_st* st = cuda_emu::resolve(stream);
  if (!st) return cuda_emu::bad_stream("cudaStreamEndCapture", stream);
  cuda_emu::Capture* c = st->capture;
  if (!c) return fail(cudaErrorIllegalState, "cudaStreamEndCapture", "the stream is not capturing");
  if (c->origin != st)
    return fail(cudaErrorStreamCaptureUnmatched, "cudaStreamEndCapture",
                "the capture began on " + cuda_emu::stream_name(c->origin) + ", not on " + cuda_emu::stream_name(st));
  if (c->mode != cudaStreamCaptureModeRelaxed && c->thread != std::this_thread::get_id())
    return fail(cudaErrorStreamCaptureWrongThread, "cudaStreamEndCapture", "the capture began on another thread");
  *graph = nullptr;
  if (c->invalidated) {
    delete c->graph;
    cuda_emu::end_capture(c);
    return fail(cudaErrorStreamCaptureInvalidated, "cudaStreamEndCapture",
                "a call during the capture was not permitted (see the earlier error)");
  }
  for (CUstream_st* m : c->members)
    if (m->unjoined) {
      const std::string who = cuda_emu::stream_name(m);
      delete c->graph;
      cuda_emu::end_capture(c);
      return fail(cudaErrorStreamCaptureUnjoined, "cudaStreamEndCapture",
                  who + " forked from the capture and was not joined back (record an event on it and wait on it "
                        "from the capturing stream)");
    }
  S().graphs.insert(c->graph);
  *graph = c->graph;
  cuda_emu::end_capture(c);
  return cudaSuccess;
}

cudaError_t cudaStreamIsCapturing(cudaStream_t stream, cudaStreamCaptureStatus* status) {
  std::lock_guard<std::mutex> lock(S().m);
  CUstream_st* st = cuda_emu::resolve(stream);
  if (!st) return cuda_emu::bad_stream("cudaStreamIsCapturing", stream);
  *status = !st->capture ? cudaStreamCaptureStatusNone
                         : st->capture->invalidated ? cudaStreamCaptureStatusInvalidated : cudaStreamCaptureStatusActive;
  return cudaSuccess;
}

cudaError_t cudaGraphGetNodes(cudaGraph_t graph, cudaGraphNode_t* nodes, size_t* count) {
  std::lock_guard<std::mutex> lock(S().m);
  if (!S().graphs.count(graph)) return fail(cudaErrorInvalidValue, "cudaGraphGetNodes", "not a live graph");
  if (nodes)
    for (size_t i = 0; i < std::min(*count, graph->nodes.size()); ++i)
      nodes[i] = reinterpret_cast<cudaGraphNode_t>(i + 1);
  *count = graph->nodes.size();
  return cudaSuccess;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long) {
  std::lock_guard<std::mutex> lock(S().m);
  if (!S().graphs.count(graph)) return fail(cudaErrorInvalidValue, "cudaGraphInstantiate", "not a live graph");
  auto* x = new CUgraphExec_st{graph->nodes, {graph->memory}};
  S().execs.insert(x);
  *exec = x;
  return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream) {
  std::unique_lock<std::mutex> lock(S().m);
  if (!S().execs.count(exec)) return fail(cudaErrorInvalidValue, "cudaGraphLaunch", "not a live executable graph");
  CUstream_st* st = cuda_emu::resolve(stream);
  if (!st) return cuda_emu::bad_stream("cudaGraphLaunch", stream);
  if (st->capture)
    return fail(cudaErrorNotSupported, "cudaGraphLaunch", "the emulator does not capture graph launches (child graphs)");
  if (st->device != cuda_emu::current_device())
    return fail(cudaErrorInvalidResourceHandle, "cudaGraphLaunch",
                cuda_emu::stream_name(st) + " is not on the current device cuda:" +
                    std::to_string(cuda_emu::current_device()));
  cuda_emu::count_graph_launch();
  for (const cuda_emu::Node& n : exec->nodes) {
    if (cudaError_t e = cuda_emu::check_buffers(n.call.c_str(), n.name, n.kind, st, n.access)) return e;
    ++st->ops;
    if (cudaError_t e = cuda_emu::execute(lock, n, st, true)) return e;
    lock.lock();
  }
  return cudaSuccess;
}

cudaError_t cudaGraphExecUpdate(cudaGraphExec_t exec, cudaGraph_t graph, cudaGraphExecUpdateResultInfo* info) {
  std::lock_guard<std::mutex> lock(S().m);
  if (!S().execs.count(exec) || !S().graphs.count(graph))
    return fail(cudaErrorInvalidValue, "cudaGraphExecUpdate", "not a live graph or executable graph");
  cudaGraphExecUpdateResult r = cudaGraphExecUpdateSuccess;
  if (graph->nodes.size() != exec->nodes.size()) {
    r = cudaGraphExecUpdateErrorTopologyChanged;
  } else {
    for (size_t i = 0; i < graph->nodes.size() && r == cudaGraphExecUpdateSuccess; ++i) {
      if (graph->nodes[i].kind != exec->nodes[i].kind) r = cudaGraphExecUpdateErrorNodeTypeChanged;
      else if (graph->nodes[i].name != exec->nodes[i].name) r = cudaGraphExecUpdateErrorFunctionChanged;
    }
  }
  if (info) *info = {r, nullptr, nullptr};
  if (r != cudaGraphExecUpdateSuccess)
    return fail(cudaErrorGraphExecUpdateFailure, "cudaGraphExecUpdate",
                "the new graph's topology or kernels differ from the executable graph's");
  exec->nodes = graph->nodes;
  exec->memory.push_back(graph->memory);
  return cudaSuccess;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
  std::lock_guard<std::mutex> lock(S().m);
  if (!S().execs.erase(exec)) return fail(cudaErrorInvalidValue, "cudaGraphExecDestroy", "not a live executable graph");
  delete exec;
  return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
  std::lock_guard<std::mutex> lock(S().m);
  if (!S().graphs.erase(graph)) return fail(cudaErrorInvalidValue, "cudaGraphDestroy", "not a live graph");
  delete graph;
  return cudaSuccess;
}

}  // extern "C"
