// The engine's view of the cuDNN algorithm registry (conv_algorithms.h).
#include "engine/conv_algorithms.h"

#if BNAS_WITH_CUDA
#include "kernels/cuda/conv_cudnn.h"
#endif

namespace bnas {

std::vector<ConvAlgorithm> conv_algorithms() {
  std::vector<ConvAlgorithm> out;
#if BNAS_WITH_CUDA
  static const char* const kDirections[] = {"fwd", "bwd_data", "bwd_filter"};
  for (const kernels::cuda::ConvAlgorithmChoice& c : kernels::cuda::conv_algorithm_choices()) {
    ConvAlgorithm a;
    a.device = c.device;
    a.shape = c.shape;
    a.direction = c.direction >= 0 && c.direction < 3 ? kDirections[c.direction] : "?";
    a.deterministic = c.deterministic;
    a.algo = c.algo;
    a.name = c.name;
    a.workspace_bytes = c.workspace_bytes;
    a.fallback = c.fallback;
    a.fallback_reason = c.fallback_reason;
    out.push_back(std::move(a));
  }
#endif
  return out;
}

std::string format_conv_algorithm(const ConvAlgorithm& a) {
  std::string t = "cuda:" + std::to_string(a.device) + " " + a.direction + " " + kernels::conv_shape_text(a.shape) + ": " +
                  a.name + " (algo " + std::to_string(a.algo) + "), " + std::to_string(a.workspace_bytes) +
                  " B workspace";
  if (a.deterministic) t += ", deterministic";
  if (a.fallback)
    t += ", fallback: " + (a.fallback_reason.empty() ? std::string("no qualifying candidate") : a.fallback_reason);
  return t;
}

std::vector<std::string> conv_algorithm_lines(const std::vector<ConvAlgorithm>& all) {
  std::vector<std::string> lines;
  lines.reserve(all.size());
  for (const ConvAlgorithm& a : all) lines.push_back(format_conv_algorithm(a));
  return lines;
}

int conv_algorithm_fallbacks(const std::vector<ConvAlgorithm>& all) {
  int n = 0;
  for (const ConvAlgorithm& a : all) n += a.fallback ? 1 : 0;
  return n;
}

}  // namespace bnas
