// StepGraph (cuda_graph.h): stream capture on the device's stream in thread-local mode (other
// threads, such as data loaders, may keep calling CUDA), one executable graph per key; an
// AllocationLedger (memory.h) checks what the captured step allocates and frees.
#include "engine/cuda_graph.h"

#include <exception>

#include "engine/memory.h"

#if BNAS_WITH_CUDA
#include "engine/cuda_check.h"
#include "engine/cuda_context.h"
#endif

namespace bnas {

struct StepGraph::Graph {
  Graph() = default;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  size_t nodes = 0;
#if BNAS_WITH_CUDA
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  ~Graph() {
    if (exec) CUDA_CHECK_CLEANUP(cudaGraphExecDestroy(exec));
    if (graph) CUDA_CHECK_CLEANUP(cudaGraphDestroy(graph));
  }
#endif
};

StepGraph::StepGraph(Device device) : device_(device) {}

StepGraph::~StepGraph() = default;

size_t StepGraph::nodes(const std::string& key) const {
  const auto it = graphs_.find(key);
  return it == graphs_.end() ? 0 : it->second->nodes;
}

void StepGraph::clear() { graphs_.clear(); }

void StepGraph::run(const std::string& key, const std::function<void()>& step) {
  const auto it = graphs_.find(key);
  if (!device_.is_cuda() || it == graphs_.end()) {
    step();
    if (device_.is_cuda()) capture(key, step);
    return;
  }
#if BNAS_WITH_CUDA
  set_cuda_device(device_);
  CUDA_CHECK(cudaGraphLaunch(it->second->exec, cuda_stream(device_)));
#endif
}

void StepGraph::capture(const std::string& key, const std::function<void()>& step) {
#if BNAS_WITH_CUDA
  set_cuda_device(device_);
  const cudaStream_t s = cuda_stream(device_);
  auto g = std::make_unique<Graph>();
  std::string failure;
  {
    const AllocationLedger ledger;
    CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
    try {
      step();  // its temporaries are freed (captured as graph memory frees) before the capture ends
    } catch (const Error& e) {
      failure = std::string(e.what()) + " (at " + e.where() + ")";  // the call that broke the capture
    } catch (const std::exception& e) {
      failure = e.what();
    }
    const cudaError_t ended = cudaStreamEndCapture(s, &g->graph);
    (void)cudaGetLastError();  // the capture's error is said below, not by the next launch's check
    if (failure.empty() && ended != cudaSuccess)
      failure = std::string("cudaStreamEndCapture: ") + cudaGetErrorString(ended);
    if (failure.empty() && ledger.kept_bytes() > 0)
      failure = std::to_string(ledger.kept_bytes()) + " bytes of tensors it allocated are still alive after it " +
                "(state that outlives a captured step must be allocated once, outside it)";
    if (failure.empty() && ledger.foreign_bytes() > 0)
      failure = "it freed " + std::to_string(ledger.foreign_bytes()) + " bytes of tensors allocated before it (a " +
                "captured free would run again at every replay)";
  }
  if (!failure.empty())  // g, and with it the graph's memory, goes as this unwinds
    throw GraphCaptureError("capturing the step '" + key + "' as a CUDA graph on " + device_.str() +
                                " failed: " + failure,
                            std::string(__FILE__) + ":" + std::to_string(__LINE__));
  CUDA_CHECK(cudaGraphGetNodes(g->graph, nullptr, &g->nodes));
  CUDA_CHECK(cudaGraphInstantiate(&g->exec, g->graph, 0));
  graphs_[key] = std::move(g);
#else
  (void)key, (void)step;
#endif
}

}  // namespace bnas
