// The emulated NCCL (see emulator/include/nccl.h for what it offers and how it differs).
//
// A communicator is a Clique: the state its ranks share (who joined, on which device, their
// pending collectives), behind one mutex and one condition variable. An ncclComm_t is a rank's
// handle on it. ncclGetUniqueId names a clique in a process-wide registry; ncclCommInitRank joins
// it and waits until every rank has joined; ncclCommInitAll builds a complete clique at once.
//
// This file holds the communicators, the calls, groups and their submission, and the C API. How
// a collective meets its peers (arriving, waiting, computing the result) is in
// nccl_rendezvous.cpp; the state both files share is declared in nccl_clique.h.
//
// Outside a group a call's operation arrives and waits, so one thread per rank works (also
// under capture: the recorded operation meets the peers again at each replay). Inside
// ncclGroupStart/End, calls are validated and queued; ncclGroupEnd submits them with operations
// that only arrive, then waits for all of them, so one thread can drive every rank. A captured
// grouped call is recorded as arrive-and-wait (nothing outlives the group to wait later), which
// is only deadlock free when the group holds one device's calls; ncclGroupEnd refuses otherwise.
//
// Errors are written to stderr and kept per thread for ncclGetLastError; failures met while a
// collective runs (mismatch, timeout, a peer that aborted) also become the rank's async error,
// which later calls on the communicator return at once, as NCCL's do.
#include <nccl.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "emu.h"
#include "nccl_clique.h"

namespace nccl_emu {
namespace {

using cuda_emu::Access;

thread_local std::string last_error;

}  // namespace

ncclResult_t note(ncclResult_t code, const std::string& msg) {
  last_error = msg;
  return code;
}

ncclResult_t report(ncclResult_t code, const std::string& msg) {
  std::fprintf(stderr, "NCCL emulator: %s\n", msg.c_str());
  return note(code, msg);
}

std::string device_name(int device) { return "cuda:" + std::to_string(device); }

std::string plural(int n, const char* word) { return std::to_string(n) + " " + word + (n == 1 ? "" : "s"); }

// "rank 1" or "ranks 1, 3"
std::string rank_list(const std::vector<int>& ranks) {
  std::string s = ranks.size() == 1 ? "rank " : "ranks ";
  for (size_t i = 0; i < ranks.size(); ++i) s += (i ? ", " : "") + std::to_string(ranks[i]);
  return s;
}

double timeout_seconds() {
  if (const char* e = std::getenv("BNAS_EMU_NCCL_TIMEOUT")) {
    char* end = nullptr;
    const double v = std::strtod(e, &end);
    if (end != e && v > 0) return v;
  }
  return 60;
}

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", s);
  return buf;
}

std::chrono::steady_clock::time_point deadline_after(double seconds) {
  return std::chrono::steady_clock::now() +
         std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
}

namespace {

// ---- communicators --------------------------------------------------------------------------

constexpr char kIdMagic[16] = "bnas-emu-nccl";

// Cliques by unique id key, kept for the process's life so that a late or repeated join finds
// the clique's state (complete, or failed) instead of forming a new one and waiting in vain.
struct Registry {
  std::mutex m;
  uint64_t next_key = 1;
  std::map<uint64_t, std::shared_ptr<Clique>> cliques;
};

Registry& registry() {
  static Registry r;
  return r;
}

ncclResult_t join(const ncclUniqueId& id, int nranks, int rank, int device, std::shared_ptr<Clique>* out) {
  uint64_t key = 0;
  std::memcpy(&key, id.internal + sizeof kIdMagic, sizeof key);
  std::shared_ptr<Clique> c;
  {
    Registry& reg = registry();
    std::lock_guard<std::mutex> lock(reg.m);
    if (std::memcmp(id.internal, kIdMagic, sizeof kIdMagic) != 0 || key == 0 || key >= reg.next_key)
      return report(ncclInvalidArgument, "ncclCommInitRank: the ncclUniqueId did not come from ncclGetUniqueId");
    std::shared_ptr<Clique>& slot = reg.cliques[key];
    if (!slot) slot = std::make_shared<Clique>(nranks);
    c = slot;
  }
  std::lock_guard<std::mutex> lock(c->m);
  const std::string who = "ncclCommInitRank: rank " + std::to_string(rank);
  if (!c->init_error.empty()) return report(ncclSystemError, who + " joined too late: " + c->init_error);
  if (nranks != c->nranks)
    return report(ncclInvalidArgument, who + " gives nranks " + std::to_string(nranks) +
                                           ", but the ranks that joined first gave " + std::to_string(c->nranks));
  if (c->ranks[rank].joined) return report(ncclInvalidUsage, who + " joined the same communicator twice");
  for (int q = 0; q < c->nranks; ++q)
    if (c->ranks[q].joined && c->ranks[q].device == device)
      return report(ncclInvalidUsage, who + " and rank " + std::to_string(q) + " both use " + device_name(device) +
                                          "; each rank of a communicator needs its own device");
  c->ranks[rank].joined = true;
  c->ranks[rank].device = device;
  if (++c->joined == c->nranks) c->cv.notify_all();
  *out = std::move(c);
  return ncclSuccess;
}

// Waits until every rank of c has joined, or fails the initialisation at the deadline.
ncclResult_t await_members(Clique& c, int rank, bool hint) {
  std::unique_lock<std::mutex> lock(c.m);
  const double seconds = timeout_seconds();
  const auto deadline = deadline_after(seconds);
  while (c.joined < c.nranks && c.init_error.empty()) {
    if (c.cv.wait_until(lock, deadline) != std::cv_status::timeout || c.joined == c.nranks || !c.init_error.empty())
      continue;
    std::vector<int> missing;
    for (int q = 0; q < c.nranks; ++q)
      if (!c.ranks[q].joined) missing.push_back(q);
    c.init_error = label("ncclCommInitRank", c.nranks) + ": " + rank_list(missing) + " never joined within " +
                   seconds_text(seconds) +
                   (hint ? "; one host thread initialising several ranks must wrap its ncclCommInitRank calls in "
                           "ncclGroupStart/ncclGroupEnd (or call ncclCommInitAll)"
                         : "");
    std::fprintf(stderr, "NCCL emulator: %s\n", c.init_error.c_str());
    c.cv.notify_all();
  }
  if (c.init_error.empty()) return ncclSuccess;
  if (c.ranks[rank].async == ncclSuccess) {
    c.ranks[rank].async = ncclSystemError;
    c.ranks[rank].async_msg = c.init_error;
  }
  return note(ncclSystemError, c.init_error);
}

// ncclCommDestroy and ncclCommAbort: the rank leaves; collectives still waiting for it, and any
// that its peers start later, fail instead of waiting for it in vain.
ncclResult_t leave(ncclComm_t comm, const char* call, const char* how) {
  if (!comm) return report(ncclInvalidArgument, std::string(call) + ": comm is NULL");
  {
    Clique& c = *comm->clique;
    std::lock_guard<std::mutex> lock(c.m);
    c.ranks[comm->rank].gone = how;
    for (auto& entry : c.pending)
      fail_instance(c, *entry.second, ncclRemoteError,
                    label(entry.second->req.call, c.nranks) + ": rank " + std::to_string(comm->rank) +
                        "'s communicator was " + how);
  }
  delete comm;
  return ncclSuccess;
}

// ---- calls, groups and submission -----------------------------------------------------------

// One rank's validated collective, ready to submit.
struct Part {
  std::shared_ptr<Clique> clique;
  int rank;
  int device;
  cudaStream_t stream;
  Request req;
  std::vector<Access> access;
};

struct Group {
  int depth = 0;
  ncclResult_t error = ncclSuccess;  // the first call of the group that failed
  std::vector<Part> calls;
  std::vector<std::pair<std::shared_ptr<Clique>, int>> inits;  // grouped ncclCommInitRank
};

thread_local Group group;

// A call's result; inside a group an error also fails the group's ncclGroupEnd, as in NCCL.
ncclResult_t in_group(ncclResult_t e) {
  if (e != ncclSuccess && group.depth > 0 && group.error == ncclSuccess) group.error = e;
  return e;
}

// Makes `device` current for the calling thread while an NCCL call works on it, as NCCL does,
// and restores the caller's device (submit requires the stream's device to be current).
class OnDevice {
 public:
  explicit OnDevice(int device) : saved_(cuda_emu::current_device()) {
    if (device != saved_) cudaSetDevice(device);
  }
  ~OnDevice() {
    if (cuda_emu::current_device() != saved_) cudaSetDevice(saved_);
  }
  OnDevice(const OnDevice&) = delete;
  OnDevice& operator=(const OnDevice&) = delete;

 private:
  int saved_;
};

// The outcome of a submitted part: its result, and the instance it arrived at when it did not
// wait itself. Shared with the operation, which a captured graph may run again later.
struct Outcome {
  ncclResult_t result = ncclSuccess;
  std::shared_ptr<Instance> inst;
};

// Submits a part on its stream (the part's device is current). With `waits`, the operation
// arrives and waits; without, it only arrives and the caller waits on out->inst.
ncclResult_t launch(const Part& p, bool waits, bool hint, const std::shared_ptr<Outcome>& out) {
  std::function<void()> op;
  if (waits) {
    op = [c = p.clique, rank = p.rank, req = p.req, hint, out] {
      out->result = arrive(*c, rank, req, &out->inst);
      if (out->result == ncclSuccess) out->result = await_instance(*c, rank, out->inst, hint);
      out->inst.reset();
    };
  } else {
    op = [c = p.clique, rank = p.rank, req = p.req, out] { out->result = arrive(*c, rank, req, &out->inst); };
  }
  const cudaError_t e = cuda_emu::submit(p.req.call, p.req.call, cuda_emu::OpKind::Collective, p.stream, p.access, op);
  if (e != cudaSuccess)
    return note(ncclUnhandledCudaError,
                std::string(p.req.call) + ": the CUDA runtime refused the operation: " + cudaGetErrorString(e));
  return ncclSuccess;
}

// Checks that a buffer is `bytes` of live device memory on the communicator's device.
ncclResult_t check_buffer(const char* call, const char* what, const void* p, size_t bytes, int device) {
  char at[32];
  std::snprintf(at, sizeof at, "%p", p);
  const std::string head = std::string(call) + ": " + what + " " + at;
  if (!p) return report(ncclInvalidArgument, std::string(call) + ": " + what + " is NULL");
  bool in_arena = false;
  const cuda_emu::Block* b = cuda_emu::find_block(p, &in_arena);
  if (!in_arena)
    return report(ncclInvalidArgument, head + " is host memory; NCCL reads and writes device memory (cudaMalloc) of "
                                              "the communicator's device " + device_name(device));
  if (!b) return report(ncclInvalidArgument, head + " is device memory that is not allocated (freed?)");
  if (b->device != device)
    return report(ncclInvalidArgument, head + " is memory of " + device_name(b->device) +
                                           ", but the communicator's device is " + device_name(device));
  if (reinterpret_cast<uintptr_t>(p) + bytes > b->base + b->bytes)
    return report(ncclInvalidArgument, head + " needs " + std::to_string(bytes) + " bytes, but its buffer ends " +
                                           std::to_string(b->base + b->bytes - reinterpret_cast<uintptr_t>(p)) +
                                           " bytes after it");
  return ncclSuccess;
}

// Validates one rank's call and submits it, or queues it inside a group.
ncclResult_t collective(Request r, ncclComm_t comm, cudaStream_t stream) {
  const std::string call = r.call;
  if (!comm) return report(ncclInvalidArgument, call + ": comm is NULL");
  if (r.type < 0 || r.type >= ncclNumTypes)
    return report(ncclInvalidArgument, call + ": datatype " + std::to_string(r.type) + " is not an ncclDataType_t");
  const size_t esize = type_size(r.type);
  if (esize == 0)
    return report(ncclInvalidArgument, call + ": " + type_name(r.type) +
                                           " is not supported by the CUDA emulator (8/32/64-bit integers, "
                                           "ncclFloat32 and ncclFloat64 are)");
  if (reduces(r.kind) && (r.op < 0 || r.op >= ncclNumOps))
    return report(ncclInvalidArgument, call + ": op " + std::to_string(r.op) + " is not an ncclRedOp_t");
  Clique& c = *comm->clique;
  if (rooted(r.kind) && (r.root < 0 || r.root >= c.nranks))
    return report(ncclInvalidArgument,
                  call + ": root " + std::to_string(r.root) + " is not a rank of a communicator of " +
                      plural(c.nranks, "rank"));
  {
    std::lock_guard<std::mutex> lock(c.m);
    const RankState& me = c.ranks[comm->rank];
    if (me.async != ncclSuccess)
      return note(me.async, call + ": the communicator failed earlier: " + me.async_msg);
  }
  if (r.count == 0) return ncclSuccess;  // no rendezvous, as in NCCL

  OnDevice on(comm->device);
  char at[32];
  std::snprintf(at, sizeof at, "%p", static_cast<void*>(stream));
  const int stream_device = cuda_emu::stream_device(stream);
  if (stream_device < 0) return report(ncclInvalidArgument, call + ": stream " + at + " is not a live stream");
  if (stream_device != comm->device)
    return report(ncclInvalidArgument, call + ": stream " + at + " belongs to " + device_name(stream_device) +
                                           ", but the communicator's device is " + device_name(comm->device));
  const bool reads = r.kind != Kind::Broadcast || comm->rank == r.root;
  const bool writes = r.kind != Kind::Reduce || comm->rank == r.root;
  const size_t send_bytes = r.count * esize * (r.kind == Kind::ReduceScatter ? c.nranks : 1);
  const size_t recv_bytes = r.count * esize * (r.kind == Kind::AllGather ? c.nranks : 1);
  std::vector<Access> access;
  if (reads) {
    if (ncclResult_t e = check_buffer(r.call, "sendbuff", r.send, send_bytes, comm->device)) return e;
    access.push_back({r.send, send_bytes, false});
  } else {
    r.send = nullptr;
  }
  if (writes) {
    if (ncclResult_t e = check_buffer(r.call, "recvbuff", r.recv, recv_bytes, comm->device)) return e;
    access.push_back({r.recv, recv_bytes, true});
  } else {
    r.recv = nullptr;
  }
  Part part{comm->clique, comm->rank, comm->device, stream, r, std::move(access)};
  if (group.depth > 0) {
    group.calls.push_back(std::move(part));
    return ncclSuccess;
  }
  const bool captured = cuda_emu::stream_capturing(stream);
  auto out = std::make_shared<Outcome>();
  if (ncclResult_t e = launch(part, true, true, out)) return e;
  return captured ? ncclSuccess : out->result;
}

Request request(Kind kind, const char* call, const void* send, void* recv, size_t count, ncclDataType_t type,
                ncclRedOp_t op, int root) {
  return Request{kind, call, send, recv, count, type, reduces(kind) ? op : ncclSum, rooted(kind) ? root : 0};
}

}  // namespace
}  // namespace nccl_emu

using namespace nccl_emu;

extern "C" {

ncclResult_t ncclGetVersion(int* version) {
  if (!version) return report(ncclInvalidArgument, "ncclGetVersion: version is NULL");
  *version = NCCL_VERSION_CODE;
  return ncclSuccess;
}

const char* ncclGetErrorString(ncclResult_t result) {
  switch (result) {
    case ncclSuccess: return "no error";
    case ncclUnhandledCudaError: return "unhandled CUDA error (see ncclGetLastError)";
    case ncclSystemError: return "system error (see ncclGetLastError)";
    case ncclInternalError: return "internal error";
    case ncclInvalidArgument: return "invalid argument (see ncclGetLastError)";
    case ncclInvalidUsage: return "invalid usage (see ncclGetLastError)";
    case ncclRemoteError: return "a peer rank failed or left (see ncclGetLastError)";
    case ncclInProgress: return "operation in progress";
    default: return "unknown result code";
  }
}

// The calling thread's latest error; like NCCL, the communicator argument is not consulted.
const char* ncclGetLastError(ncclComm_t) { return last_error.c_str(); }

ncclResult_t ncclGetUniqueId(ncclUniqueId* uniqueId) {
  if (!uniqueId) return report(ncclInvalidArgument, "ncclGetUniqueId: uniqueId is NULL");
  Registry& reg = registry();
  std::lock_guard<std::mutex> lock(reg.m);
  const uint64_t key = reg.next_key++;
  std::memset(uniqueId->internal, 0, sizeof uniqueId->internal);
  std::memcpy(uniqueId->internal, kIdMagic, sizeof kIdMagic);
  std::memcpy(uniqueId->internal + sizeof kIdMagic, &key, sizeof key);
  return ncclSuccess;
}

ncclResult_t ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId commId, int rank) {
  if (!comm) return in_group(report(ncclInvalidArgument, "ncclCommInitRank: comm is NULL"));
  *comm = nullptr;
  if (nranks < 1 || rank < 0 || rank >= nranks)
    return in_group(report(ncclInvalidArgument, "ncclCommInitRank: rank " + std::to_string(rank) +
                                                    " of nranks " + std::to_string(nranks) + " is out of range"));
  const int device = cuda_emu::current_device();
  std::shared_ptr<Clique> c;
  if (ncclResult_t e = join(commId, nranks, rank, device, &c)) return in_group(e);
  if (group.depth > 0) {  // ncclGroupEnd waits for the other ranks
    group.inits.emplace_back(c, rank);
  } else if (ncclResult_t e = await_members(*c, rank, true)) {
    return e;
  }
  *comm = new ncclComm{std::move(c), rank, device};
  return ncclSuccess;
}

ncclResult_t ncclCommInitAll(ncclComm_t* comms, int ndev, const int* devlist) {
  if (!comms) return report(ncclInvalidArgument, "ncclCommInitAll: comms is NULL");
  if (ndev < 1) return report(ncclInvalidArgument, "ncclCommInitAll: ndev " + std::to_string(ndev) + " is not positive");
  auto c = std::make_shared<Clique>(ndev);
  std::set<int> seen;
  for (int i = 0; i < ndev; ++i) {
    const int d = devlist ? devlist[i] : i;
    if (!cuda_emu::valid_device(d))
      return report(ncclInvalidArgument, "ncclCommInitAll: device " + std::to_string(d) + " does not exist (" +
                                             plural(cuda_emu::device_count(), "device") + ", BNAS_EMU_DEVICES)");
    if (!seen.insert(d).second)
      return report(ncclInvalidUsage, "ncclCommInitAll: " + device_name(d) +
                                          " is listed twice; each rank of a communicator needs its own device");
    c->ranks[i].joined = true;
    c->ranks[i].device = d;
  }
  c->joined = ndev;
  for (int i = 0; i < ndev; ++i) comms[i] = new ncclComm{c, i, c->ranks[i].device};
  return ncclSuccess;
}

ncclResult_t ncclCommDestroy(ncclComm_t comm) { return leave(comm, "ncclCommDestroy", "destroyed (ncclCommDestroy)"); }

ncclResult_t ncclCommAbort(ncclComm_t comm) { return leave(comm, "ncclCommAbort", "aborted (ncclCommAbort)"); }

ncclResult_t ncclCommGetAsyncError(ncclComm_t comm, ncclResult_t* asyncError) {
  if (!comm || !asyncError) return report(ncclInvalidArgument, "ncclCommGetAsyncError: comm or asyncError is NULL");
  std::lock_guard<std::mutex> lock(comm->clique->m);
  *asyncError = comm->clique->ranks[comm->rank].async;
  return ncclSuccess;
}

ncclResult_t ncclCommCount(const ncclComm_t comm, int* count) {
  if (!comm || !count) return report(ncclInvalidArgument, "ncclCommCount: comm or count is NULL");
  *count = comm->clique->nranks;
  return ncclSuccess;
}

ncclResult_t ncclCommCuDevice(const ncclComm_t comm, int* device) {
  if (!comm || !device) return report(ncclInvalidArgument, "ncclCommCuDevice: comm or device is NULL");
  *device = comm->device;
  return ncclSuccess;
}

ncclResult_t ncclCommUserRank(const ncclComm_t comm, int* rank) {
  if (!comm || !rank) return report(ncclInvalidArgument, "ncclCommUserRank: comm or rank is NULL");
  *rank = comm->rank;
  return ncclSuccess;
}

ncclResult_t ncclReduce(const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype, ncclRedOp_t op,
                        int root, ncclComm_t comm, cudaStream_t stream) {
  return in_group(
      collective(request(Kind::Reduce, "ncclReduce", sendbuff, recvbuff, count, datatype, op, root), comm, stream));
}

ncclResult_t ncclBcast(void* buff, size_t count, ncclDataType_t datatype, int root, ncclComm_t comm,
                       cudaStream_t stream) {
  return in_group(
      collective(request(Kind::Broadcast, "ncclBcast", buff, buff, count, datatype, ncclSum, root), comm, stream));
}

ncclResult_t ncclBroadcast(const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype, int root,
                           ncclComm_t comm, cudaStream_t stream) {
  return in_group(collective(
      request(Kind::Broadcast, "ncclBroadcast", sendbuff, recvbuff, count, datatype, ncclSum, root), comm, stream));
}

ncclResult_t ncclAllReduce(const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype,
                           ncclRedOp_t op, ncclComm_t comm, cudaStream_t stream) {
  return in_group(collective(request(Kind::AllReduce, "ncclAllReduce", sendbuff, recvbuff, count, datatype, op, 0),
                             comm, stream));
}

ncclResult_t ncclReduceScatter(const void* sendbuff, void* recvbuff, size_t recvcount, ncclDataType_t datatype,
                               ncclRedOp_t op, ncclComm_t comm, cudaStream_t stream) {
  return in_group(collective(
      request(Kind::ReduceScatter, "ncclReduceScatter", sendbuff, recvbuff, recvcount, datatype, op, 0), comm,
      stream));
}

ncclResult_t ncclAllGather(const void* sendbuff, void* recvbuff, size_t sendcount, ncclDataType_t datatype,
                           ncclComm_t comm, cudaStream_t stream) {
  return in_group(collective(
      request(Kind::AllGather, "ncclAllGather", sendbuff, recvbuff, sendcount, datatype, ncclSum, 0), comm, stream));
}

ncclResult_t ncclGroupStart(void) {
  ++group.depth;
  return ncclSuccess;
}

// Closes the outermost group: waits for grouped initialisations, then submits every queued
// call with an operation that only arrives (or, when its stream captures, arrives and waits at
// replay), and only then waits, so that one thread can be every rank of a communicator.
ncclResult_t ncclGroupEnd(void) {
  if (group.depth == 0) return report(ncclInvalidUsage, "ncclGroupEnd without a matching ncclGroupStart");
  if (--group.depth > 0) return ncclSuccess;
  const Group g = std::move(group);
  group = Group{};
  if (g.error != ncclSuccess) return g.error;  // nothing launched; last_error names the failed call

  ncclResult_t result = ncclSuccess;
  auto keep_first = [&result](ncclResult_t e) {
    if (result == ncclSuccess) result = e;
  };
  for (const auto& init : g.inits) keep_first(await_members(*init.first, init.second, false));
  if (result != ncclSuccess) return result;

  std::set<int> devices;
  bool capturing = false;
  for (const Part& p : g.calls) {
    devices.insert(p.device);
    OnDevice on(p.device);
    capturing = capturing || cuda_emu::stream_capturing(p.stream);
  }
  if (capturing && devices.size() > 1) {
    std::string list;
    for (int d : devices) list += (list.empty() ? "" : ", ") + device_name(d);
    return report(ncclInvalidUsage,
                  "ncclGroupEnd: the group's calls span " + list +
                      " and a stream of theirs is capturing; the CUDA emulator cannot capture such a group (one "
                      "thread replaying the graph would wait inside it for ranks only it drives): capture from one "
                      "host thread per device");
  }

  std::vector<std::pair<const Part*, std::shared_ptr<Outcome>>> arrived;
  for (const Part& p : g.calls) {
    OnDevice on(p.device);
    const bool captured = cuda_emu::stream_capturing(p.stream);
    auto out = std::make_shared<Outcome>();
    if (ncclResult_t e = launch(p, captured, false, out)) {
      keep_first(e);  // the others go ahead: their peers on other threads are waiting for them
      continue;
    }
    if (!captured) arrived.emplace_back(&p, out);
  }
  for (const auto& a : arrived) {
    const Outcome& out = *a.second;
    keep_first(out.result == ncclSuccess ? await_instance(*a.first->clique, a.first->rank, out.inst, false) : out.result);
  }
  return result;
}

}  // extern "C"
