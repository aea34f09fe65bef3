// Op cases: batch_norm (train / eval, affine or not, with or without running statistics, 4-D and
// 2-D) and the running-statistics update itself (bn_running_*: the output is the updated
// statistic plus the weight, so the case stays differentiable while checking the in-place update).
#include "tests/ops/harness.h"

namespace bnas::testing {
namespace {
using V = std::vector<Tensor>;
const Shape X{4, 3, 3, 3}, X2{8, 5};
const Shape C3{3}, C5{5};
ops::BatchNormArgs train(double momentum = 0.1) { return {true, momentum, 1e-5}; }
ops::BatchNormArgs eval() { return {false, 0.1, 1e-5}; }

BNAS_OP_CASES({
    {"bn_train_affine", {normal(X), normal(C3), normal(C3), constant(C3), positive(C3)},
     [](const V& in) { return ops::batch_norm(in[0], in[1], in[2], in[3], in[4], train()); }},
    {"bn_train_noaffine_running", {normal(X), constant(C3), positive(C3)},
     [](const V& in) { return ops::batch_norm(in[0], Tensor(), Tensor(), in[1], in[2], train()); }},
    {"bn_train_noaffine_nostats", {normal(X)},
     [](const V& in) { return ops::batch_norm(in[0], Tensor(), Tensor(), Tensor(), Tensor(), train()); }},
    {"bn_train_weight_only", {normal(X), normal(C3)},
     [](const V& in) { return ops::batch_norm(in[0], in[1], Tensor(), Tensor(), Tensor(), train()); }},
    {"bn_eval_affine", {normal(X), normal(C3), normal(C3), constant(C3), positive(C3)},
     [](const V& in) { return ops::batch_norm(in[0], in[1], in[2], in[3], in[4], eval()); }},
    {"bn_eval_noaffine", {normal(X), constant(C3), positive(C3)},
     [](const V& in) { return ops::batch_norm(in[0], Tensor(), Tensor(), in[1], in[2], eval()); }},
    {"bn_train_2d_affine", {normal(X2), normal(C5), normal(C5), constant(C5), positive(C5)},
     [](const V& in) { return ops::batch_norm(in[0], in[1], in[2], in[3], in[4], train()); }},
    {"bn_eval_2d_affine", {normal(X2), normal(C5), normal(C5), constant(C5), positive(C5)},
     [](const V& in) { return ops::batch_norm(in[0], in[1], in[2], in[3], in[4], eval()); }},
    // x is a constant here: the running statistics depend on it without a gradient.
    {"bn_running_mean", {constant(X), normal(C3), constant(C3), positive(C3)},
     [](const V& in) {
       ops::batch_norm(in[0], in[1], Tensor(), in[2], in[3], train());
       return ops::add(in[2], in[1]);
     }},
    {"bn_running_var", {constant(X), normal(C3), constant(C3), positive(C3)},
     [](const V& in) {
       ops::batch_norm(in[0], in[1], Tensor(), in[2], in[3], train(0.3));
       return ops::add(in[3], in[1]);
     }},
    {"bn_running_var_2d", {constant(X2), normal(C5), constant(C5), positive(C5)},
     [](const V& in) {
       ops::batch_norm(in[0], Tensor(), Tensor(), in[2], in[3], train());
       return ops::add(in[3], in[1]);
     }},
});
}  // namespace
}  // namespace bnas::testing
