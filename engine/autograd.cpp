#include "engine/autograd.h"

#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "engine/ops.h"

namespace bnas {

namespace {
thread_local bool g_grad_enabled = true;
}

bool grad_enabled() { return g_grad_enabled; }
NoGradGuard::NoGradGuard() : prev_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = prev_; }

bool any_requires_grad(std::initializer_list<const Tensor*> inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor* t : inputs)
    if (t && t->defined() && t->requires_grad()) return true;
  return false;
}
bool any_requires_grad(const std::vector<Tensor>& inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

void record(Tensor& out, std::shared_ptr<Node> node, const std::vector<const Tensor*>& ins) {
  node->inputs.clear();
  for (const Tensor* t : ins) {
    Edge e;
    if (t && t->defined() && t->requires_grad()) {
      if (t->grad_fn())
        e.fn = t->grad_fn();
      else
        e.leaf = t->autograd_meta();
    }
    node->inputs.push_back(std::move(e));
  }
  node->needs_grad.assign(node->inputs.size(), false);
  out.set_grad_fn(std::move(node));
}

namespace {

// The sum of the gradients that reached one tensor, added in the order they arrived: one launch
// for up to 8 of them (ops::sum), none for one.
Tensor total(const std::vector<Tensor>& parts) { return parts.size() == 1 ? parts[0] : ops::sum(parts); }

// Runs the part of the graph below `out` that reaches a target leaf; returns d out / d target.
// With into_grads (backward()), nodes may add a target's gradient into its grad() buffer
// themselves; what they return is still collected, and a target nothing returned for stays
// undefined. Without (grad()), every target gets a defined tensor (zeros when unreached).
std::vector<Tensor> run_backward(const Tensor& out, const std::vector<Tensor>& leaves, Tensor seed, bool into_grads) {
  BNAS_CHECK(out.defined(), "backward from an undefined tensor");
  std::unordered_map<const AutogradMeta*, size_t> target;
  for (size_t i = 0; i < leaves.size(); ++i) {
    BNAS_CHECK(leaves[i].defined() && leaves[i].is_leaf() && leaves[i].requires_grad(),
               "gradients can only be taken with respect to leaf tensors that require grad");
    target.emplace(leaves[i].autograd_meta().get(), i);
  }
  if (!seed.defined()) {
    BNAS_CHECK(out.numel() == 1, "backward without a seed gradient needs a one-element output, got ",
               out.shape().str());
    seed = Tensor::full(out.shape(), 1.0, out.dtype(), out.device());
  }
  BNAS_CHECK(seed.shape() == out.shape(), "seed gradient shape ", seed.shape().str(),
             " does not match output shape ", out.shape().str());

  std::vector<Tensor> result(leaves.size());
  NoGradGuard no_grad;
  if (!out.grad_fn()) {
    auto it = target.find(out.autograd_meta().get());
    if (it != target.end()) result[it->second] = seed;
  } else {
    // Post-order DFS: `order` lists every node after all nodes it feeds into have been seen
    // from the root; reversed, it is a valid processing order. `reaches` marks nodes with a
    // path to a target leaf.
    std::vector<Node*> order;
    std::unordered_map<Node*, bool> reaches;
    std::vector<std::pair<Node*, size_t>> stack{{out.grad_fn().get(), 0}};
    reaches[out.grad_fn().get()] = false;
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      if (next < node->inputs.size()) {
        const Edge& e = node->inputs[next++];
        if (e.fn && !reaches.count(e.fn.get())) {
          reaches[e.fn.get()] = false;
          stack.push_back({e.fn.get(), 0});
        }
        continue;
      }
      bool r = false;
      for (const Edge& e : node->inputs)
        r = r || (e.leaf && target.count(e.leaf.get())) || (e.fn && reaches[e.fn.get()]);
      reaches[node] = r;
      order.push_back(node);
      stack.pop_back();
    }
    // The gradients that reached each node's output (and each target leaf), summed once, when the
    // node runs (and at the end), instead of one add per arrival.
    std::unordered_map<Node*, std::vector<Tensor>> grads;
    std::vector<std::vector<Tensor>> leaf_parts(leaves.size());
    grads[out.grad_fn().get()] = {seed};
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
      Node* node = *it;
      auto g = grads.find(node);
      if (!reaches[node] || g == grads.end()) continue;
      const Tensor grad_out = total(g->second);
      grads.erase(g);
      node->accumulate_into.assign(node->inputs.size(), Tensor());
      for (size_t i = 0; i < node->inputs.size(); ++i) {
        const Edge& e = node->inputs[i];
        const bool leaf_target = e.leaf && target.count(e.leaf.get());
        node->needs_grad[i] = leaf_target || (e.fn && reaches[e.fn.get()]);
        if (into_grads && leaf_target) node->accumulate_into[i] = e.leaf->grad;
      }
      std::vector<Tensor> in_grads = node->backward(grad_out);
      node->accumulate_into.clear();
      BNAS_CHECK(in_grads.size() == node->inputs.size(), "internal: ", node->name(),
                 " returned ", in_grads.size(), " gradients for ", node->inputs.size(), " inputs");
      for (size_t i = 0; i < node->inputs.size(); ++i) {
        if (!node->needs_grad[i] || !in_grads[i].defined()) continue;
        const Edge& e = node->inputs[i];
        if (e.fn)
          grads[e.fn.get()].push_back(in_grads[i]);
        else
          leaf_parts[target.at(e.leaf.get())].push_back(in_grads[i]);
      }
    }
    for (size_t k = 0; k < leaves.size(); ++k)
      if (!leaf_parts[k].empty()) result[k] = total(leaf_parts[k]);
  }
  if (!into_grads)
    for (size_t i = 0; i < leaves.size(); ++i)
      if (!result[i].defined()) result[i] = Tensor::zeros(leaves[i].shape(), leaves[i].dtype(), leaves[i].device());
  return result;
}

}  // namespace

std::vector<Tensor> grad(const Tensor& out, const std::vector<Tensor>& leaves, const Tensor& grad_out) {
  return run_backward(out, leaves, grad_out, false);
}

void backward(const Tensor& out, const std::vector<Tensor>& leaves, const Tensor& grad_out) {
  NoGradGuard no_grad;
  for (const Tensor& l : leaves) {
    Tensor leaf = l;
    BNAS_CHECK(leaf.defined() && leaf.is_leaf() && leaf.requires_grad(),
               "gradients can only be taken with respect to leaf tensors that require grad");
    if (!leaf.grad().defined()) leaf.set_grad(Tensor::zeros(leaf.shape(), leaf.dtype(), leaf.device()));
  }
  const std::vector<Tensor> g = run_backward(out, leaves, grad_out, true);
  for (size_t i = 0; i < leaves.size(); ++i) {
    if (!g[i].defined()) continue;
    Tensor acc = leaves[i].grad();
    ops::add_(acc, g[i]);
  }
}

}  // namespace bnas
