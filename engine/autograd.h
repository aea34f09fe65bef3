// Reverse-mode autograd over a recorded graph (the tape): each differentiable op that sees an
// input requiring a gradient records a Node holding what its backward needs. Backward walks the
// nodes in reverse topological order and runs only those that lead to the requested leaves, and
// each node is told which of its inputs need a gradient (needs_grad), so the architecture step
// pays for no weight gradients and the weight step for no architecture gradients. The gradients
// that reach one tensor from several consumers are kept until its node runs and then summed in
// one launch (ops::sum, in arrival order), not added pairwise on arrival: fewer launches for a
// little more memory held during backward.
//
// Saved tensors are stored detach()ed, so a node never owns the autograd state of its output
// (no reference cycles). Gradients accumulate into leaves' grad() buffers, which are allocated
// once and reused (zero_grad() zeroes in place), keeping pointers stable for CUDA graphs.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace bnas {

struct AutogradMeta {
  bool requires_grad = false;
  std::shared_ptr<Node> grad_fn;  // null for leaves
  Tensor grad;                    // leaves only
};

// Where an input's gradient goes: the node that produced it, or a leaf's autograd state.
struct Edge {
  std::shared_ptr<Node> fn;
  std::shared_ptr<AutogradMeta> leaf;
  bool live() const { return fn || leaf; }
};

struct Node {
  virtual ~Node() = default;
  virtual const char* name() const = 0;
  // grad_out has the output's shape, dtype and device. Returns one tensor per input: the
  // gradient for inputs with needs_grad[i], an undefined tensor otherwise.
  virtual std::vector<Tensor> backward(const Tensor& grad_out) = 0;

  std::vector<Edge> inputs;
  std::vector<bool> needs_grad;  // set by the engine before each backward call
  // Set by backward() (not grad()) before each backward call: for an input that is a target leaf,
  // the leaf's grad() buffer, else undefined. A node may add its gradient for input i into
  // accumulate_into[i] itself (a GEMM or reduction epilogue with beta = 1) and return an undefined
  // tensor for it, which saves the separate accumulation launch per parameter.
  std::vector<Tensor> accumulate_into;
};

// Grad mode (thread-local). NoGradGuard turns recording off for its scope.
bool grad_enabled();
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

// True when grad mode is on and any of the inputs requires a gradient.
bool any_requires_grad(std::initializer_list<const Tensor*> inputs);
bool any_requires_grad(const std::vector<Tensor>& inputs);

// Connects `out` to a new node whose inputs are `ins` (call only when any_requires_grad).
void record(Tensor& out, std::shared_ptr<Node> node, const std::vector<const Tensor*>& ins);

// Gradients of `out` with respect to `leaves` (which must be leaves requiring grad), seeded with
// grad_out (ones when undefined; out must then have one element). Leaves' grad() is untouched.
std::vector<Tensor> grad(const Tensor& out, const std::vector<Tensor>& leaves,
                         const Tensor& grad_out = Tensor());

// Accumulates d out / d leaf into each leaf's grad() (allocating it zeroed on first use), with no
// launch for leaves the graph does not reach and none for gradients a node adds in place
// (Node::accumulate_into). Only the part of the graph leading to `leaves` is evaluated.
void backward(const Tensor& out, const std::vector<Tensor>& leaves, const Tensor& grad_out = Tensor());

}  // namespace bnas
