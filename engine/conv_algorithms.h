// The cuDNN convolution algorithms the engine has chosen, one per (GPU, shape, direction,
// determinism), for run logs and benchmark output. kernels/cuda/conv_cudnn.cpp makes and keeps
// the choices (cuDNN's heuristics restricted to FMA math, or a fallback when none qualifies) and
// formats its shapes with kernels::conv_shape_text (kernels/conv_shape.h); this is the engine-level view of that
// registry, empty in a CPU-only build or before the first convolution on a GPU. A line reads
//   cuda:0 fwd 64 x 16 x 32 x 32 -> 16 k3 s1 p1 d1 g16: IMPLICIT_PRECOMP_GEMM (algo 1), 1024 B workspace
// with ", deterministic" when the choice was restricted to deterministic algorithms and
// ", fallback: <why>" when no candidate of the heuristics qualified.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "kernels/conv_shape.h"

namespace bnas {

struct ConvAlgorithm {
  int device = 0;  // CUDA device index
  kernels::ConvShape shape;
  std::string direction;  // "fwd", "bwd_data" or "bwd_filter"
  bool deterministic = false;
  int algo = 0;      // the cudnnConvolution*Algo_t value
  std::string name;  // its name: IMPLICIT_GEMM, ALGO_1, ...
  size_t workspace_bytes = 0;
  bool fallback = false;
  std::string fallback_reason;
};

// Every choice made so far in this process, in the order made (empty without CUDA).
std::vector<ConvAlgorithm> conv_algorithms();


// One line per choice (the format above); log.jsonl and summary.json hold them as a JSON array.
std::string format_conv_algorithm(const ConvAlgorithm& a);
std::vector<std::string> conv_algorithm_lines(const std::vector<ConvAlgorithm>& all = conv_algorithms());
// How many of the choices are fallbacks.
int conv_algorithm_fallbacks(const std::vector<ConvAlgorithm>& all = conv_algorithms());

}  // namespace bnas
