// Internal declarations shared by the emulated NCCL's parts: the state of a communicator (its
// clique, its ranks and their pending collective instances), a rank's handle on it, and the
// helpers that nccl.cpp (communicators, calls, groups, the C API) and nccl_rendezvous.cpp (the
// types and reductions, arriving and waiting) use from each other.
#pragma once

#include <nccl.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "emu.h"

namespace nccl_emu {

enum class Kind { AllReduce, Broadcast, Reduce, AllGather, ReduceScatter };

// One rank's collective call. `op` is ncclSum where the collective does not reduce and `root` 0
// where it has none, so that ranks can be compared field by field.
struct Request {
  Kind kind;
  const char* call;
  const void* send;  // nullptr where this rank's send buffer is not read (broadcast off root)
  void* recv;        // nullptr where this rank's receive buffer is not written (reduce off root)
  size_t count;      // per rank: sendcount of ncclAllGather, recvcount of ncclReduceScatter
  ncclDataType_t type;
  ncclRedOp_t op;
  int root;
};

// The k-th collective of a communicator, as its ranks arrive at it.
struct Instance {
  Instance(const Request& r, int rank, uint64_t s, int nranks)
      : req(r), first_rank(rank), seq(s), send(nranks), recv(nranks), arrived(nranks) {}
  Request req;  // the first arriver's call, which the others must match
  int first_rank;
  uint64_t seq;
  std::vector<const void*> send;
  std::vector<void*> recv;
  std::vector<bool> arrived;
  int arrivals = 0;
  bool done = false;
  ncclResult_t result = ncclSuccess;  // anything else: failed, with `error` saying why
  std::string error;
};

struct RankState {
  bool joined = false;
  int device = -1;
  uint64_t next_seq = 0;
  ncclResult_t async = ncclSuccess;
  std::string async_msg;
  std::string gone;  // how the rank left ("aborted (ncclCommAbort)"); empty while it takes part
};

struct Clique {
  explicit Clique(int n) : nranks(n), ranks(n) {}
  const int nranks;
  std::mutex m;
  std::condition_variable cv;
  std::vector<RankState> ranks;
  int joined = 0;
  std::string init_error;  // set when initialisation timed out: late joiners fail with it
  std::map<uint64_t, std::shared_ptr<Instance>> pending;  // by sequence number, until all arrived
};

}  // namespace nccl_emu

// A rank's handle. Operations in flight and graphs hold the clique themselves, so that a handle
// destroyed or aborted under them leaves them a clique to report the departure in.
struct ncclComm {
  std::shared_ptr<nccl_emu::Clique> clique;
  int rank;
  int device;
};

namespace nccl_emu {

// ---- shared helpers (nccl.cpp) --------------------------------------------------------------

// Keeps msg as the calling thread's latest error (ncclGetLastError) and returns code.
ncclResult_t note(ncclResult_t code, const std::string& msg);
// note, after writing msg to stderr.
ncclResult_t report(ncclResult_t code, const std::string& msg);
std::string device_name(int device);
std::string plural(int n, const char* word);
std::string rank_list(const std::vector<int>& ranks);
// BNAS_EMU_NCCL_TIMEOUT, read at each call; 60 when unset or invalid.
double timeout_seconds();
std::string seconds_text(double s);
std::chrono::steady_clock::time_point deadline_after(double seconds);

// ---- types, reductions and rendezvous (nccl_rendezvous.cpp) ---------------------------------

const char* type_name(ncclDataType_t t);
size_t type_size(ncclDataType_t t);
bool reduces(Kind k);
bool rooted(Kind k);
std::string label(const char* call, int nranks);
void fail_instance(Clique& c, Instance& in, ncclResult_t code, const std::string& msg);
ncclResult_t arrive(Clique& c, int rank, const Request& r, std::shared_ptr<Instance>* out);
ncclResult_t await_instance(Clique& c, int rank, const std::shared_ptr<Instance>& inst, bool hint);

}  // namespace nccl_emu
