// CUDA graphs of a repeated step (docs/DESIGN.md rule 2). A step is a callable that only queues
// work on its device's stream: no host synchronisation, no cudaMalloc/cudaFree, no copy to or
// from pageable host memory, no host decision on a device value. StepGraph captures it once per
// key (what fixes the step's kernels: input shapes, mode) and replays it with one graph launch.
//
// run(key, step) the first time for a key: step runs eagerly, which is its warm-up (lazily
// created state, cuDNN algorithm choices and workspaces happen outside any capture), and is then
// captured into a graph on the device's stream and instantiated. Capture queues nothing, so the
// call's effect on the device is the eager run's. Every later run(key, ...) launches the graph
// (the callable is not called). A step's graph reads and writes the addresses it was captured
// with, so everything it touches must live at fixed addresses: its inputs copied into fixed
// buffers before run, state allocated once outside it. Tensors it allocates (stream-ordered
// allocations, captured as graph memory) must be freed within it, and it must free nothing
// allocated before it; capture checks both (AllocationLedger, engine/memory.h).
//
// A capture that fails (a forbidden call inside the step, a tensor outliving it) throws a
// GraphCaptureError (a bnas::Error) naming the key and the reason; the eager run has happened,
// the stream stays usable and no graph is kept for the key, so a caller may go on eagerly. An
// error of the eager run is thrown as it is. On the CPU, run calls the step every time.
#pragma once
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "engine/check.h"
#include "engine/device.h"

namespace bnas {

class GraphCaptureError : public Error {
 public:
  using Error::Error;
};

class StepGraph {
 public:
  explicit StepGraph(Device device);
  ~StepGraph();
  StepGraph(const StepGraph&) = delete;
  StepGraph& operator=(const StepGraph&) = delete;

  // The step for `key`: eagerly and then captured the first time, a graph launch after.
  void run(const std::string& key, const std::function<void()>& step);
  // Whether key has a graph (run captured it).
  bool captured(const std::string& key) const { return graphs_.count(key) != 0; }
  // The nodes of key's graph (kernels, copies, memsets, allocations); 0 without one.
  size_t nodes(const std::string& key) const;
  // Destroys every graph (when the buffers they read are reallocated).
  void clear();
  Device device() const { return device_; }

 private:
  struct Graph;
  void capture(const std::string& key, const std::function<void()>& step);

  Device device_;
  std::map<std::string, std::unique_ptr<Graph>> graphs_;
};

}  // namespace bnas
