// Op cases: conv2d (1x1 batched and direct, 3x3 stride 1/2, dilated, depthwise, grouped, the
// FactorizedReduce 1x1 stride 2 on an odd-sized input, channel-slice inputs) and linear.
#include "tests/ops/harness.h"

namespace bnas::testing {
namespace {
using V = std::vector<Tensor>;

ops::Conv2dArgs conv(int stride, int padding, int dilation = 1, int groups = 1) {
  ops::Conv2dArgs a;
  a.stride = stride, a.padding = padding, a.dilation = dilation, a.groups = groups;
  return a;
}
// Case applying conv2d(in[0], in[1], a).
OpCase conv_case(std::string name, Shape x, Shape w, ops::Conv2dArgs a) {
  return {std::move(name), {normal(x), normal(w)}, [a](const V& in) { return ops::conv2d(in[0], in[1], a); }};
}
// conv2d on the channel slice x[:, c0:c1] of a constant input (read in place through its batch
// stride; the slice view carries no autograd history, so only w is differentiable).
OpCase slice_case(std::string name, Shape x, int64_t c0, int64_t c1, Shape w, ops::Conv2dArgs a) {
  return {std::move(name), {constant(x), normal(w)},
          [=](const V& in) { return ops::conv2d(in[0].channel_slice(c0, c1), in[1], a); }};
}

BNAS_OP_CASES({
    conv_case("conv1x1", {2, 4, 3, 3}, {6, 4, 1, 1}, conv(1, 0)),
    // 16 x 16 planes take the direct GEMM path (no im2col).
    conv_case("conv1x1_direct", {1, 2, 16, 16}, {3, 2, 1, 1}, conv(1, 0)),
    conv_case("conv3x3_s1", {2, 3, 5, 5}, {4, 3, 3, 3}, conv(1, 1)),
    conv_case("conv3x3_s2", {2, 3, 6, 6}, {4, 3, 3, 3}, conv(2, 1)),
    conv_case("conv3x3_d2", {2, 3, 6, 6}, {4, 3, 3, 3}, conv(1, 2, 2)),
    conv_case("conv5x5_d2", {1, 3, 8, 8}, {2, 3, 5, 5}, conv(1, 4, 2)),
    conv_case("conv3x3_groups2", {2, 4, 5, 5}, {6, 2, 3, 3}, conv(1, 1, 1, 2)),
    // FactorizedReduce's second path: 1x1 stride 2 on x[:, :, 1:, 1:] (an odd-sized plane).
    conv_case("conv1x1_s2_odd", {2, 4, 7, 7}, {4, 4, 1, 1}, conv(2, 0)),
    conv_case("dwconv3x3_s2", {2, 4, 7, 7}, {4, 1, 3, 3}, conv(2, 1, 1, 4)),
    conv_case("dwconv5x5_s2", {2, 3, 8, 8}, {3, 1, 5, 5}, conv(2, 2, 1, 3)),
    conv_case("dwconv3x3_d2", {2, 3, 6, 6}, {3, 1, 3, 3}, conv(1, 2, 2, 3)),
    conv_case("dwconv5x5_d2_s2", {1, 3, 9, 9}, {3, 1, 5, 5}, conv(2, 4, 2, 3)),
    slice_case("conv3x3_channel_slice", {2, 6, 4, 4}, 1, 4, {2, 3, 3, 3}, conv(1, 1)),
    slice_case("dwconv3x3_channel_slice", {2, 6, 5, 5}, 2, 5, {3, 1, 3, 3}, conv(1, 1, 1, 3)),
    {"linear", {normal({4, 6}), normal({5, 6}), normal({5})},
     [](const V& in) { return ops::linear(in[0], in[1], in[2]); }},
    {"linear_nobias", {normal({4, 6}), normal({5, 6})},
     [](const V& in) { return ops::linear(in[0], in[1], Tensor()); }},
});

}  // namespace
}  // namespace bnas::testing
