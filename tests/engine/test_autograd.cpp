// Autograd: chosen-leaf gradients, accumulation, no-grad scope, pruning of unneeded branches.
#include <gtest/gtest.h>

#include "engine/autograd.h"
#include "engine/ops.h"

namespace bnas {
namespace {

struct CountingNode : Node {
  int* calls;
  explicit CountingNode(int* c) : calls(c) {}
  const char* name() const override { return "counting"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    ++*calls;
    return {g};
  }
};

// y = identity(x) through a node that counts its backward calls.
Tensor counted(const Tensor& x, int* calls) {
  Tensor y = x.detach().clone();
  record(y, std::make_shared<CountingNode>(calls), {&x});
  return y;
}

TEST(Autograd, GradOfSharedSubexpressionAccumulates) {
  Tensor a = Tensor::from_vector({1, -2, 3}, {3}, DType::F64).set_requires_grad(true);
  Tensor b = Tensor::from_vector({0.5, 0.5, 0.5}, {3}, DType::F64).set_requires_grad(true);
  // y = relu(a) + 2 * (a + b) -> dy/da = [1,0,1] + 2, dy/db = 2
  Tensor y = ops::add(ops::relu(a), ops::scale(ops::add(a, b), 2.0));
  Tensor ones = Tensor::full({3}, 1.0, DType::F64);
  std::vector<Tensor> g = grad(y, {a, b}, ones);
  EXPECT_EQ(g[0].to_doubles(), (std::vector<double>{3, 2, 3}));
  EXPECT_EQ(g[1].to_doubles(), (std::vector<double>{2, 2, 2}));
}

TEST(Autograd, OnlyBranchesLeadingToChosenLeavesRun) {
  int arch_calls = 0, weight_calls = 0;
  Tensor w = Tensor::full({2}, 1.0, DType::F64).set_requires_grad(true);
  Tensor alpha = Tensor::full({2}, 2.0, DType::F64).set_requires_grad(true);
  Tensor y = ops::add(counted(w, &weight_calls), counted(alpha, &arch_calls));
  Tensor ones = Tensor::full({2}, 1.0, DType::F64);
  grad(y, {alpha}, ones);
  EXPECT_EQ(arch_calls, 1);
  EXPECT_EQ(weight_calls, 0);  // the weight branch was not evaluated
  grad(y, {w}, ones);
  EXPECT_EQ(weight_calls, 1);
  EXPECT_EQ(arch_calls, 1);
}

TEST(Autograd, BackwardAccumulatesIntoStableGradBuffers) {
  Tensor w = Tensor::from_vector({1, 2}, {2}).set_requires_grad(true);
  Tensor ones = Tensor::full({2}, 1.0);
  backward(ops::scale(w, 3.0), {w}, ones);
  const void* buffer = w.grad().raw();
  backward(ops::scale(w, 3.0), {w}, ones);
  EXPECT_EQ(w.grad().to_doubles(), (std::vector<double>{6, 6}));
  EXPECT_EQ(w.grad().raw(), buffer);
  w.zero_grad();
  EXPECT_EQ(w.grad().to_doubles(), (std::vector<double>{0, 0}));
  EXPECT_EQ(w.grad().raw(), buffer);
}

TEST(Autograd, NoGradScopeRecordsNothing) {
  Tensor w = Tensor::from_vector({1, 2}, {2}).set_requires_grad(true);
  {
    NoGradGuard guard;
    EXPECT_FALSE(grad_enabled());
    Tensor y = ops::relu(w);
    EXPECT_FALSE(y.requires_grad());
    EXPECT_EQ(y.grad_fn(), nullptr);
  }
  EXPECT_TRUE(grad_enabled());
  EXPECT_TRUE(ops::relu(w).requires_grad());
}

TEST(Autograd, UnreachedLeafGetsZerosAndBadRequestsThrow) {
  Tensor a = Tensor::from_vector({1}, {1}).set_requires_grad(true);
  Tensor b = Tensor::from_vector({1}, {1}).set_requires_grad(true);
  Tensor y = ops::scale(a, 2.0);
  std::vector<Tensor> g = grad(y, {a, b});
  EXPECT_EQ(g[0].to_doubles(), (std::vector<double>{2}));
  EXPECT_EQ(g[1].to_doubles(), (std::vector<double>{0}));
  EXPECT_THROW(grad(y, {y}), Error);  // not a leaf
  EXPECT_THROW(grad(ops::relu(Tensor::zeros({2}).set_requires_grad(true)), {a}), Error);  // no seed for 2 elements
  EXPECT_THROW(Tensor::zeros({1}, DType::I32).set_requires_grad(true), Error);
}

TEST(Autograd, GradientOfALeafOutputIsTheSeed) {
  Tensor a = Tensor::from_vector({4, 5}, {2}).set_requires_grad(true);
  Tensor seed = Tensor::from_vector({1, 2}, {2});
  EXPECT_EQ(grad(a, {a}, seed)[0].to_doubles(), (std::vector<double>{1, 2}));
}

}  // namespace
}  // namespace bnas
