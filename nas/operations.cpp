// Candidate operations on the engine ops. Everything here is composition; the speed lives in the
// engine kernels (and, for the search network's mixed op, in the fused kernel of issue 4;
// FactorizedReduce is one fused op, ops::factorized_reduce).
#include "nas/operations.h"

#include <cmath>

#include "engine/check.h"
#include "engine/factorized_reduce.h"

namespace bnas::nas {

namespace {

void check_channels(int c, const char* what) {
  BNAS_CHECK(c > 0, what, " needs a positive channel count, got ", c);
}

}  // namespace

// ---- leaves -----------------------------------------------------------------------------------

Conv2d::Conv2d(int cin, int cout, int kernel, const ops::Conv2dArgs& a, const ParamOptions& o)
    : args(a) {
  check_channels(cin, "Conv2d");
  check_channels(cout, "Conv2d");
  BNAS_CHECK(a.groups >= 1 && cin % a.groups == 0 && cout % a.groups == 0, "Conv2d: ", cin, " -> ",
             cout, " channels cannot be split into ", a.groups, " groups");
  BNAS_CHECK(kernel >= 1, "Conv2d: the kernel size must be positive, got ", kernel);
  const int fan_in = cin / a.groups * kernel * kernel;
  // PyTorch's kaiming_uniform_(a=sqrt(5)) bound: sqrt(6 / ((1 + 5) fan_in)) = 1 / sqrt(fan_in).
  weight = uniform_parameter({cout, cin / a.groups, kernel, kernel}, 1.0 / std::sqrt(double(fan_in)), o);
  register_parameter("weight", &weight);
}

Tensor Conv2d::forward(const Tensor& x, bool) { return ops::conv2d(x, weight, args); }

BatchNorm2d::BatchNorm2d(int channels, bool aff, const ParamOptions& o) : affine(aff) {
  check_channels(channels, "BatchNorm2d");
  if (affine) {
    weight = constant_parameter({channels}, 1.0, o);
    bias = constant_parameter({channels}, 0.0, o);
    register_parameter("weight", &weight);
    register_parameter("bias", &bias);
  }
  running_mean = constant_buffer({channels}, 0.0, o);
  running_var = constant_buffer({channels}, 1.0, o);
  register_buffer("running_mean", &running_mean);
  register_buffer("running_var", &running_var);
}

Tensor BatchNorm2d::forward(const Tensor& x, bool training) {
  ops::BatchNormArgs a;
  a.training = training;
  a.momentum = 0.1;
  a.eps = 1e-5;
  return ops::batch_norm(x, weight, bias, running_mean, running_var, a);
}

// ---- blocks -----------------------------------------------------------------------------------

ReLUConvBN::ReLUConvBN(int cin, int cout, int kernel, int stride, int padding, bool affine,
                       const ParamOptions& o) {
  ops::Conv2dArgs a;
  a.stride = stride;
  a.padding = padding;
  conv = std::make_unique<Conv2d>(cin, cout, kernel, a, o);
  bn = std::make_unique<BatchNorm2d>(cout, affine, o);
  register_module("op.1", conv.get());
  register_module("op.2", bn.get());
}

Tensor ReLUConvBN::forward(const Tensor& x, bool training) { return forward_relu_applied(ops::relu(x), training); }

Tensor ReLUConvBN::forward_relu_applied(const Tensor& relu_x, bool training) {
  return bn->forward(conv->forward(relu_x, training), training);
}

DilConv::DilConv(int cin, int cout, int kernel, int stride, int padding, int dilation, bool affine,
                 const ParamOptions& o) {
  ops::Conv2dArgs dw;
  dw.stride = stride;
  dw.padding = padding;
  dw.dilation = dilation;
  dw.groups = cin;
  depthwise = std::make_unique<Conv2d>(cin, cin, kernel, dw, o);
  pointwise = std::make_unique<Conv2d>(cin, cout, 1, ops::Conv2dArgs{}, o);
  bn = std::make_unique<BatchNorm2d>(cout, affine, o);
  register_module("op.1", depthwise.get());
  register_module("op.2", pointwise.get());
  register_module("op.3", bn.get());
}

Tensor DilConv::forward(const Tensor& x, bool training) {
  const Tensor y = depthwise->forward(ops::relu(x), training);
  return bn->forward(pointwise->forward(y, training), training);
}

SepConv::SepConv(int cin, int cout, int kernel, int stride, int padding, bool affine,
                 const ParamOptions& o) {
  ops::Conv2dArgs dw1;
  dw1.stride = stride;
  dw1.padding = padding;
  dw1.groups = cin;
  ops::Conv2dArgs dw2 = dw1;
  dw2.stride = 1;
  depthwise1 = std::make_unique<Conv2d>(cin, cin, kernel, dw1, o);
  pointwise1 = std::make_unique<Conv2d>(cin, cin, 1, ops::Conv2dArgs{}, o);
  bn1 = std::make_unique<BatchNorm2d>(cin, affine, o);
  depthwise2 = std::make_unique<Conv2d>(cin, cin, kernel, dw2, o);
  pointwise2 = std::make_unique<Conv2d>(cin, cout, 1, ops::Conv2dArgs{}, o);
  bn2 = std::make_unique<BatchNorm2d>(cout, affine, o);
  register_module("op.1", depthwise1.get());
  register_module("op.2", pointwise1.get());
  register_module("op.3", bn1.get());
  register_module("op.5", depthwise2.get());
  register_module("op.6", pointwise2.get());
  register_module("op.7", bn2.get());
}

Tensor SepConv::forward(const Tensor& x, bool training) {
  Tensor y = depthwise1->forward(ops::relu(x), training);
  y = bn1->forward(pointwise1->forward(y, training), training);
  y = depthwise2->forward(ops::relu(y), training);
  return bn2->forward(pointwise2->forward(y, training), training);
}

FactorizedReduce::FactorizedReduce(int cin, int cout, bool affine, const ParamOptions& o) {
  BNAS_CHECK(cout > 0 && cout % 2 == 0, "FactorizedReduce needs an even, positive output channel count, got ", cout);
  ops::Conv2dArgs a;
  a.stride = 2;
  conv_1 = std::make_unique<Conv2d>(cin, cout / 2, 1, a, o);
  conv_2 = std::make_unique<Conv2d>(cin, cout / 2, 1, a, o);
  bn = std::make_unique<BatchNorm2d>(cout, affine, o);
  register_module("conv_1", conv_1.get());
  register_module("conv_2", conv_2.get());
  register_module("bn", bn.get());
}

Tensor FactorizedReduce::forward(const Tensor& x, bool training) { return run(x, Tensor(), true, training); }

Tensor FactorizedReduce::forward_relu_applied(const Tensor& relu_x, bool training) {
  return run(relu_x, Tensor(), false, training);
}

Tensor FactorizedReduce::forward_selected(const Tensor& x, const Tensor& selected, bool training) {
  return run(x, selected, true, training, false);
}

Tensor FactorizedReduce::run(const Tensor& x, const Tensor& selected, bool relu, bool training, bool whole) {
  const int64_t cin = conv_1->weight.size(1);
  BNAS_CHECK(!whole || x.ndim() != 4 || x.size(1) == cin, "FactorizedReduce: expected an input of ", cin,
             " channels, got ", x.shape().str());
  ops::FactorizedReduceArgs a;
  a.relu = relu;
  a.training = training;
  return ops::factorized_reduce(x, selected, cin, conv_1->weight, conv_2->weight, bn->weight, bn->bias,
                                bn->running_mean, bn->running_var, a);
}

Tensor Zero::forward(const Tensor& x, bool) { return ops::strided_zero(x, stride); }

Pool3x3::Pool3x3(Kind k, int s, int bn_channels, const ParamOptions& o) : kind(k), stride(s) {
  if (bn_channels > 0) {
    bn = std::make_unique<BatchNorm2d>(bn_channels, false, o);
    register_module("1", bn.get());
  }
}

Tensor Pool3x3::forward(const Tensor& x, bool training) {
  ops::Pool2dArgs a;
  a.kernel = 3;
  a.stride = stride;
  a.padding = 1;
  Tensor y = kind == Kind::kMax ? ops::max_pool2d(x, a) : ops::avg_pool2d(x, a);
  return bn ? bn->forward(y, training) : y;
}

// ---- OPS --------------------------------------------------------------------------------------

std::unique_ptr<Op> make_operation(Primitive p, int c, int stride, OpForm form, const ParamOptions& o) {
  check_channels(c, primitive_name(p));
  BNAS_CHECK(stride == 1 || stride == 2, "candidate operations take stride 1 or 2, got ", stride);
  const bool affine = form == OpForm::kEval;
  const int pool_bn = form == OpForm::kSearch ? c : 0;
  switch (p) {
    case Primitive::kNone: return std::make_unique<Zero>(stride);
    case Primitive::kMaxPool3x3: return std::make_unique<Pool3x3>(Pool3x3::Kind::kMax, stride, pool_bn, o);
    case Primitive::kAvgPool3x3: return std::make_unique<Pool3x3>(Pool3x3::Kind::kAvg, stride, pool_bn, o);
    case Primitive::kSkipConnect:
      if (stride == 1) return std::make_unique<Identity>();
      return std::make_unique<FactorizedReduce>(c, c, affine, o);
    case Primitive::kSepConv3x3: return std::make_unique<SepConv>(c, c, 3, stride, 1, affine, o);
    case Primitive::kSepConv5x5: return std::make_unique<SepConv>(c, c, 5, stride, 2, affine, o);
    case Primitive::kDilConv3x3: return std::make_unique<DilConv>(c, c, 3, stride, 2, 2, affine, o);
    case Primitive::kDilConv5x5: return std::make_unique<DilConv>(c, c, 5, stride, 4, 2, affine, o);
  }
  BNAS_FAIL("unknown primitive code ", static_cast<int>(p));
}

}  // namespace bnas::nas
