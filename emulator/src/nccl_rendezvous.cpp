// The emulated NCCL's rendezvous: how the ranks of a collective meet and compute its result
// (see nccl.cpp for communicators, calls and groups, and nccl_clique.h for the shared state).
//
// A collective meets its peers when it runs on its stream, not when it is called: each rank's
// call is one cuda_emu::submit on that rank's stream, whose operation runs at once on the calling
// thread, or at every launch of a graph that captured it, on the launching thread. Running, it
// *arrives*: it takes the rank's next sequence number (the k-th collective a rank runs on a
// communicator is the k-th of every rank) and registers its buffers with the Instance of that
// number, checking that the collective, count, type, reduction and root agree with the ranks
// already there. The last rank to arrive computes the result for everyone, reducing in rank order
// (deterministic and identical on every rank) into a temporary first, so in-place calls are
// safe; it is inside its own submit's DeviceAccess window, which opens every device's memory.
// The others *wait* on the condition variable, with a deadline (BNAS_EMU_NCCL_TIMEOUT seconds,
// read at each wait) after which the instance fails naming the ranks that never arrived.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "nccl_clique.h"

namespace nccl_emu {

// ---- types and reductions -------------------------------------------------------------------

const char* type_name(ncclDataType_t t) {
  switch (t) {
    case ncclInt8: return "ncclInt8";
    case ncclUint8: return "ncclUint8";
    case ncclInt32: return "ncclInt32";
    case ncclUint32: return "ncclUint32";
    case ncclInt64: return "ncclInt64";
    case ncclUint64: return "ncclUint64";
    case ncclFloat16: return "ncclFloat16";
    case ncclFloat32: return "ncclFloat32";
    case ncclFloat64: return "ncclFloat64";
    case ncclBfloat16: return "ncclBfloat16";
    case ncclFloat8e4m3: return "ncclFloat8e4m3";
    case ncclFloat8e5m2: return "ncclFloat8e5m2";
    default: return "an unknown ncclDataType_t";
  }
}

// Bytes per element of the types the emulator reduces; 0 for the others (the host has no
// arithmetic of its own for half, bfloat16 and 8-bit floats).
size_t type_size(ncclDataType_t t) {
  switch (t) {
    case ncclInt8:
    case ncclUint8: return 1;
    case ncclInt32:
    case ncclUint32:
    case ncclFloat32: return 4;
    case ncclInt64:
    case ncclUint64:
    case ncclFloat64: return 8;
    default: return 0;
  }
}

namespace {

const char* op_name(ncclRedOp_t op) {
  switch (op) {
    case ncclSum: return "ncclSum";
    case ncclProd: return "ncclProd";
    case ncclMax: return "ncclMax";
    case ncclMin: return "ncclMin";
    case ncclAvg: return "ncclAvg";
    default: return "an unknown ncclRedOp_t";
  }
}

}  // namespace

bool reduces(Kind k) { return k == Kind::AllReduce || k == Kind::Reduce || k == Kind::ReduceScatter; }
bool rooted(Kind k) { return k == Kind::Broadcast || k == Kind::Reduce; }

namespace {

template <class T> void combine(T* acc, const T* in, size_t n, ncclRedOp_t op) {
  for (size_t i = 0; i < n; ++i) {
    switch (op) {
      case ncclSum:
      case ncclAvg: acc[i] = static_cast<T>(acc[i] + in[i]); break;
      case ncclProd: acc[i] = static_cast<T>(acc[i] * in[i]); break;
      case ncclMax: acc[i] = acc[i] < in[i] ? in[i] : acc[i]; break;
      case ncclMin: acc[i] = in[i] < acc[i] ? in[i] : acc[i]; break;
      default: break;
    }
  }
}

// Reduces n elements of every rank's buffer, rank 0 first. Each buffer is copied into an aligned
// host vector first: nothing makes callers align their pointers to the element type.
template <class T>
std::vector<unsigned char> reduce_as(const std::vector<const void*>& sends, size_t n, ncclRedOp_t op) {
  std::vector<T> acc(n), in(n);
  std::memcpy(acc.data(), sends[0], n * sizeof(T));
  for (size_t r = 1; r < sends.size(); ++r) {
    std::memcpy(in.data(), sends[r], n * sizeof(T));
    combine(acc.data(), in.data(), n, op);
  }
  if (op == ncclAvg)
    for (T& v : acc) v = static_cast<T>(v / static_cast<T>(sends.size()));
  std::vector<unsigned char> out(n * sizeof(T));
  std::memcpy(out.data(), acc.data(), out.size());
  return out;
}

std::vector<unsigned char> reduce(ncclDataType_t t, ncclRedOp_t op, const std::vector<const void*>& sends, size_t n) {
  switch (t) {
    case ncclInt8: return reduce_as<int8_t>(sends, n, op);
    case ncclUint8: return reduce_as<uint8_t>(sends, n, op);
    case ncclInt32: return reduce_as<int32_t>(sends, n, op);
    case ncclUint32: return reduce_as<uint32_t>(sends, n, op);
    case ncclInt64: return reduce_as<int64_t>(sends, n, op);
    case ncclUint64: return reduce_as<uint64_t>(sends, n, op);
    case ncclFloat32: return reduce_as<float>(sends, n, op);
    default: return reduce_as<double>(sends, n, op);  // ncclFloat64: the calls admit no other type
  }
}

// Computes the collective for every rank once all have arrived.
void compute(const Instance& in, int nranks) {
  const Request& r = in.req;
  const size_t block = r.count * type_size(r.type);
  std::vector<unsigned char> result;
  switch (r.kind) {
    case Kind::AllReduce:
    case Kind::Reduce: result = reduce(r.type, r.op, in.send, r.count); break;
    case Kind::ReduceScatter: result = reduce(r.type, r.op, in.send, r.count * nranks); break;
    case Kind::Broadcast: {
      const auto* src = static_cast<const unsigned char*>(in.send[r.root]);
      result.assign(src, src + block);
      break;
    }
    case Kind::AllGather:
      result.resize(block * nranks);
      for (int q = 0; q < nranks; ++q) std::memcpy(result.data() + block * q, in.send[q], block);
      break;
  }
  for (int q = 0; q < nranks; ++q) {
    if (!in.recv[q]) continue;
    if (r.kind == Kind::ReduceScatter) std::memcpy(in.recv[q], result.data() + block * q, block);
    else std::memcpy(in.recv[q], result.data(), result.size());
  }
}

}  // namespace

// ---- rendezvous -----------------------------------------------------------------------------

std::string label(const char* call, int nranks) {
  return std::string(call) + " on a communicator of " + plural(nranks, "rank");
}

namespace {

std::string signature(const Request& r) {
  std::string s = std::string(r.call) + "(" +
                  (r.kind == Kind::AllGather       ? "sendcount "
                   : r.kind == Kind::ReduceScatter ? "recvcount "
                                                   : "count ") +
                  std::to_string(r.count) + ", " + type_name(r.type);
  if (reduces(r.kind)) s += std::string(", ") + op_name(r.op);
  if (rooted(r.kind)) s += ", root " + std::to_string(r.root);
  return s + ")";
}

std::string differences(const Request& a, const Request& b) {
  std::vector<std::string> d;
  if (a.kind != b.kind) d.push_back("collective");
  if (a.count != b.count) d.push_back("count");
  if (a.type != b.type) d.push_back("datatype");
  if (a.op != b.op) d.push_back("reduction");
  if (a.root != b.root) d.push_back("root");
  std::string s;
  for (size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + d[i];
  return s;
}

}  // namespace

// Fails an instance that is still open and wakes its waiters. Caller holds c.m.
void fail_instance(Clique& c, Instance& in, ncclResult_t code, const std::string& msg) {
  if (in.done || in.result != ncclSuccess) return;
  in.result = code;
  in.error = msg;
  std::fprintf(stderr, "NCCL emulator: %s\n", msg.c_str());
  c.cv.notify_all();
}

namespace {

// What a failed instance means for `rank`: the instance's error, except that a rank whose own
// communicator was aborted under it learns that as a system error. Becomes the rank's async
// error (the first one sticks). Caller holds c.m.
ncclResult_t settle(Clique& c, int rank, const Instance& in) {
  RankState& me = c.ranks[rank];
  const ncclResult_t code = me.gone.empty() ? in.result : ncclSystemError;
  if (me.async == ncclSuccess) {
    me.async = code;
    me.async_msg = in.error;
  }
  return note(code, in.error);
}

}  // namespace

// Registers rank's part of its next collective; completes the instance when rank is the last.
// Runs as (part of) the submitted operation, so inside a DeviceAccess window.
ncclResult_t arrive(Clique& c, int rank, const Request& r, std::shared_ptr<Instance>* out) {
  std::lock_guard<std::mutex> lock(c.m);
  RankState& me = c.ranks[rank];
  if (!me.gone.empty())
    return note(ncclInvalidUsage, label(r.call, c.nranks) + ": rank " + std::to_string(rank) +
                                      "'s communicator was " + me.gone + " (a graph replayed after it?)");
  if (me.async != ncclSuccess)
    return note(me.async, label(r.call, c.nranks) + ": the communicator of rank " + std::to_string(rank) +
                              " failed earlier: " + me.async_msg);
  const uint64_t seq = me.next_seq++;
  std::shared_ptr<Instance>& slot = c.pending[seq];
  if (!slot) slot = std::make_shared<Instance>(r, rank, seq, c.nranks);
  *out = slot;
  Instance& in = *slot;
  in.arrived[rank] = true;
  ++in.arrivals;
  in.send[rank] = r.send;
  in.recv[rank] = r.recv;
  const std::string diff = differences(in.req, r);
  if (!diff.empty())
    fail_instance(c, in, ncclInvalidUsage,
                  label(in.req.call, c.nranks) + ": collective #" + std::to_string(seq) + " differs between ranks (" +
                      diff + "): rank " + std::to_string(rank) + " called " + signature(r) + " but rank " +
                      std::to_string(in.first_rank) + " called " + signature(in.req) +
                      "; every rank must make the same collective calls in the same order");
  for (int q = 0; q < c.nranks; ++q)
    if (!c.ranks[q].gone.empty() && !in.arrived[q])
      fail_instance(c, in, ncclRemoteError,
                    label(in.req.call, c.nranks) + ": rank " + std::to_string(q) + "'s communicator was " +
                        c.ranks[q].gone);
  if (in.result == ncclSuccess && in.arrivals == c.nranks) {
    compute(in, c.nranks);
    in.done = true;
    c.cv.notify_all();
  }
  if (in.arrivals == c.nranks) c.pending.erase(seq);
  return in.result == ncclSuccess ? ncclSuccess : settle(c, rank, in);
}

const char* const kGroupHint =
    "; one host thread driving several ranks must wrap their calls in ncclGroupStart/ncclGroupEnd";

// Waits until the instance completes or fails; fails it when the deadline passes first.
ncclResult_t await_instance(Clique& c, int rank, const std::shared_ptr<Instance>& inst, bool hint) {
  std::unique_lock<std::mutex> lock(c.m);
  Instance& in = *inst;
  const double seconds = timeout_seconds();
  const auto deadline = deadline_after(seconds);
  while (!in.done && in.result == ncclSuccess) {
    if (c.cv.wait_until(lock, deadline) != std::cv_status::timeout || in.done || in.result != ncclSuccess) continue;
    std::vector<int> missing;
    for (int q = 0; q < c.nranks; ++q)
      if (!in.arrived[q]) missing.push_back(q);
    fail_instance(c, in, ncclSystemError,
                  label(in.req.call, c.nranks) + ": " + rank_list(missing) + " never joined within " +
                      seconds_text(seconds) + (hint ? kGroupHint : ""));
  }
  return in.done ? ncclSuccess : settle(c, rank, in);
}

}  // namespace nccl_emu
