#include "nas/mixed_op.h"

#include <string>

#include "engine/check.h"
#include "engine/conv_branches.h"
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
  // The six stages of ops::conv_branches: the first halves of sep 3x3 and 5x5, dil 3x3 and 5x5,
  // then the second halves of sep 3x3 and 5x5.
  const std::pair<Conv2d*, Conv2d*> convs[] = {{sep3_->depthwise1.get(), sep3_->pointwise1.get()},
                                               {sep5_->depthwise1.get(), sep5_->pointwise1.get()},
                                               {dil3_->depthwise.get(), dil3_->pointwise.get()},
                                               {dil5_->depthwise.get(), dil5_->pointwise.get()},
                                               {sep3_->depthwise2.get(), sep3_->pointwise2.get()},
                                               {sep5_->depthwise2.get(), sep5_->pointwise2.get()}};
  const BatchNorm2d* bns[] = {sep3_->bn1.get(), sep5_->bn1.get(), dil3_->bn.get(), dil5_->bn.get(), sep3_->bn2.get(),
                              sep5_->bn2.get()};
  for (int s = 0; s < ops::kConvBranchStages; ++s) {
    conv_weights_.push_back(convs[s].first->weight);
    conv_weights_.push_back(convs[s].second->weight);
    conv_running_.push_back(bns[s]->running_mean);
    conv_running_.push_back(bns[s]->running_var);
  }
}

Tensor MixedOp::forward(const Tensor& x, const Tensor& weights, const Tensor& edge_weight, bool training,
                        const Tensor& selected) {
  BNAS_CHECK(x.ndim() == 4 && x.size(1) == channels, "MixedOp: expected N x ", channels,
             " x H x W input, got ", x.shape().str());
  const int64_t cs = channels / k;
  // The four convolution branches in one fused op, reading relu(x[:, selected]) in place.
  ops::ConvBranchesArgs ca;
  ca.stride = stride;
  ca.training = training;
  std::vector<Tensor> branches{ops::conv_branches(x, selected, cs, conv_weights_, conv_running_, ca)};
  // skip's FactorizedReduce on stride-2 edges, also reading relu(x[:, selected]) in place.
  if (stride == 2) branches.push_back(reduce_->forward_selected(x, selected, training));
  ops::MixedEdgeArgs a;
  a.stride = stride;
  a.k = k;
  a.training = training;
  return ops::mixed_edge(x, selected, branches, weights, edge_weight, max_pool_->bn->running_mean,
                         max_pool_->bn->running_var, avg_pool_->bn->running_mean, avg_pool_->bn->running_var, a);
}

}  // namespace bnas::nas
