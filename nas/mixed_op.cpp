#include "nas/mixed_op.h"

#include <string>

#include "engine/check.h"
#include "engine/mixed_edge.h"
#include "engine/ops.h"

namespace bnas::nas {

MixedOp::MixedOp(int c, int s, int kk, const ParamOptions& o) : channels(c), stride(s), k(kk) {
  BNAS_CHECK(k >= 1 && c % k == 0, "MixedOp: ", c, " channels cannot be split into k = ", k, " groups");
  const int cs = c / k;
  for (int p = 0; p < kNumPrimitives; ++p) {
    ops.push_back(make_operation(static_cast<Primitive>(p), cs, stride, OpForm::kSearch, o));
    register_module("_ops." + std::to_string(p), ops.back().get());
  }
  max_pool_ = dynamic_cast<Pool3x3*>(ops[static_cast<int>(Primitive::kMaxPool3x3)].get());
  avg_pool_ = dynamic_cast<Pool3x3*>(ops[static_cast<int>(Primitive::kAvgPool3x3)].get());
  BNAS_CHECK(max_pool_ && max_pool_->bn && avg_pool_ && avg_pool_->bn,
             "MixedOp: the search-form pooling ops must carry their BatchNorm");
  sep3_ = dynamic_cast<SepConv*>(ops[static_cast<int>(Primitive::kSepConv3x3)].get());
  sep5_ = dynamic_cast<SepConv*>(ops[static_cast<int>(Primitive::kSepConv5x5)].get());
  dil3_ = dynamic_cast<DilConv*>(ops[static_cast<int>(Primitive::kDilConv3x3)].get());
  dil5_ = dynamic_cast<DilConv*>(ops[static_cast<int>(Primitive::kDilConv5x5)].get());
  reduce_ = dynamic_cast<FactorizedReduce*>(ops[static_cast<int>(Primitive::kSkipConnect)].get());
  BNAS_CHECK(sep3_ && sep5_ && dil3_ && dil5_ && (stride == 1 || reduce_),
             "MixedOp: unexpected candidate operation types");
}

Tensor MixedOp::forward(const Tensor& x, const Tensor& weights, const Tensor& edge_weight, bool training,
                        const std::vector<int32_t>& selected) {
  BNAS_CHECK(x.ndim() == 4 && x.size(1) == channels, "MixedOp: expected N x ", channels,
             " x H x W input, got ", x.shape().str());
  const int64_t cs = channels / k;
  Tensor sel_dev;
  Tensor xs;
  if (selected.empty() || k == 1) {
    xs = k == 1 ? x : ops::narrow(x, 1, 0, cs);
  } else {
    BNAS_CHECK(static_cast<int64_t>(selected.size()) == cs, "MixedOp: expected ", cs,
               " selected channels, got ", selected.size());
    sel_dev = Tensor::from_ints(selected, {cs}, x.device());
    xs = ops::select_channels(x, sel_dev);
  }
  // Every parametric branch starts with a ReLU of the same input: compute (and keep for
  // backward) relu(xs) once per edge instead of once per branch.
  const Tensor r = ops::relu(xs);
  std::vector<Tensor> branches{sep3_->forward_relu_applied(r, training), sep5_->forward_relu_applied(r, training),
                               dil3_->forward_relu_applied(r, training), dil5_->forward_relu_applied(r, training)};
  if (stride == 2) branches.push_back(reduce_->forward_relu_applied(r, training));
  ops::MixedEdgeArgs a;
  a.stride = stride;
  a.k = k;
  a.training = training;
  return ops::mixed_edge(x, sel_dev, branches, weights, edge_weight, max_pool_->bn->running_mean,
                         max_pool_->bn->running_var, avg_pool_->bn->running_mean, avg_pool_->bn->running_var, a);
}

}  // namespace bnas::nas
