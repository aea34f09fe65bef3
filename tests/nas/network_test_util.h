// Helpers shared by the tests of the search and evaluation networks (test_broad_network.cpp,
// test_eval_network.cpp): seeded random images, the shapes a forward traces, and the activation
// memory a training forward keeps for backward.
#pragma once
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/memory.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "engine/tensor.h"

namespace bnas::nas::testing {

// n x c x hw x hw standard-normal images.
inline Tensor random_images(int64_t n, int64_t c, int64_t hw, uint64_t seed, DType dt = DType::F32) {
  Generator g(seed, RngStream::Test);
  return Tensor::from_vector(g.normal(static_cast<uint64_t>(n * c * hw * hw)), {n, c, hw, hw}, dt);
}

// The shape of every intermediate the network's trace reports in one forward (no gradients).
template <class Net>
std::map<std::string, Shape> trace_shapes(Net& net, const Tensor& images, bool training = true) {
  std::map<std::string, Shape> shapes;
  net.trace = [&](const std::string& name, const Tensor& t) { shapes[name] = t.shape(); };
  NoGradGuard no_grad;
  net.forward(images, training);
  net.trace = nullptr;
  return shapes;
}

// Every expected intermediate was traced, with its shape.
inline void expect_shapes(const std::map<std::string, Shape>& traced, const std::map<std::string, Shape>& expected) {
  for (const auto& [name, shape] : expected) {
    const auto it = traced.find(name);
    ASSERT_NE(it, traced.end()) << name << " was not traced";
    EXPECT_EQ(it->second, shape) << name;
  }
}

// MiB kept alive for backward per image by a training forward and the loss on `images`; checks
// that the graph is freed with the loss.
template <class Net>
double activation_mib_per_image(Net& net, const Tensor& images) {
  const int64_t batch = images.size(0);
  const Tensor labels = Tensor::from_ints(std::vector<int32_t>(static_cast<size_t>(batch), 1), {batch});
  const size_t before = memory_stats(Device::cpu()).current;
  double mib;
  {
    const Tensor loss = ops::cross_entropy(net.forward(images, true), labels);
    mib = static_cast<double>(memory_stats(Device::cpu()).current - before) / batch / (1024.0 * 1024.0);
  }
  EXPECT_EQ(memory_stats(Device::cpu()).current, before);
  return mib;
}

}  // namespace bnas::nas::testing
