// softmax, log_softmax, cross_entropy (with label smoothing) and count_correct.
// Rows are the last dim of a 1-D or 2-D tensor. Labels are int32 [N] on the logits' device.
// Out-of-range labels: on the CPU the op throws (labels are readable there); on the GPU, where
// checking would need a device-to-host sync, such a row contributes 0 to the loss (the mean
// still divides by N) and a zero gradient row, and never counts as correct.
#include "engine/ops.h"
#include "engine/ops/dispatch.h"
#include "kernels/cpu/softmax.h"

#if BNAS_WITH_CUDA
#include "kernels/cuda/softmax.cuh"
#endif

namespace bnas::ops {
using detail::check_same;

namespace {

int64_t rows_of(const Tensor& x) { return x.ndim() == 1 ? 1 : x.size(0); }

void check_rows(const char* op, const Tensor& x) {
  check_same(op, {&x});
  BNAS_CHECK(x.ndim() == 1 || x.ndim() == 2, op, ": expected a 1-D or 2-D tensor, got shape ", x.shape().str());
}

void softmax_backward_into(const Tensor& y, const Tensor& gy, Tensor& gx, bool log) {
  const int64_t rows = rows_of(y), K = y.size(-1);
  if (gx.is_cuda()) {
    BNAS_ON_CUDA(kernels::cuda::softmax_backward(y.data<float>(), gy.data<float>(), gx.data<float>(), rows, K, log,
                                                 detail::cuda_launch(log ? "log_softmax" : "softmax", gx)));
  } else {
    BNAS_DISPATCH_FLOAT(gx.dtype(), T,
                        kernels::cpu::softmax_backward(y.data<T>(), gy.data<T>(), gx.data<T>(), rows, K, log));
  }
}

struct SoftmaxNode : Node {
  Tensor y;  // output
  bool log = false;
  const char* name() const override { return log ? "log_softmax" : "softmax"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    if (!needs_grad[0]) return {Tensor()};
    const Tensor gy = g.contiguous();
    Tensor gx = Tensor::empty(y.shape(), y.dtype(), y.device());
    softmax_backward_into(y, gy, gx, log);
    return {gx};
  }
};

Tensor softmax_impl(const Tensor& x_in, bool log) {
  const char* op = log ? "log_softmax" : "softmax";
  check_rows(op, x_in);
  const Tensor x = x_in.contiguous();
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  const int64_t rows = rows_of(x), K = x.size(-1);
  if (y.numel() > 0) {
    if (y.is_cuda()) {
      BNAS_ON_CUDA(kernels::cuda::softmax_forward(x.data<float>(), y.data<float>(), rows, K, log,
                                                  detail::cuda_launch(op, y)));
    } else {
      BNAS_DISPATCH_FLOAT(y.dtype(), T, kernels::cpu::softmax_forward(x.data<T>(), y.data<T>(), rows, K, log));
    }
  }
  if (any_requires_grad({&x_in})) {
    auto node = std::make_shared<SoftmaxNode>();
    node->y = y.detach();
    node->log = log;
    record(y, node, {&x_in});
  }
  return y;
}

// Checks logits (N x K float) and labels (int32 [N], same device); on the CPU also the label
// values. Returns the labels made contiguous.
Tensor check_labels(const char* op, const Tensor& logits, const Tensor& labels_in) {
  check_same(op, {&logits});
  BNAS_CHECK(logits.ndim() == 2, op, ": expected N x K logits, got shape ", logits.shape().str());
  BNAS_CHECK(labels_in.defined(), op, ": the labels are undefined");
  BNAS_CHECK(labels_in.dtype() == DType::I32, op, ": labels must be int32, got ", dtype_name(labels_in.dtype()));
  BNAS_CHECK(labels_in.device() == logits.device(), op, ": labels on ", labels_in.device().str(),
             " but logits on ", logits.device().str());
  BNAS_CHECK(labels_in.ndim() == 1 && labels_in.size(0) == logits.size(0), op, ": ", logits.size(0),
             " rows of logits need labels of shape [", logits.size(0), "], got ", labels_in.shape().str());
  const Tensor labels = labels_in.contiguous();
  if (!labels.is_cuda()) {
    const int32_t* l = labels.data<int32_t>();
    const int64_t K = logits.size(1);
    for (int64_t r = 0; r < labels.numel(); ++r)
      BNAS_CHECK(l[r] >= 0 && l[r] < K, op, ": label ", l[r], " of row ", r, " is outside the ", K,
                 " classes [0, ", K, ")");
  }
  return labels;
}

struct CrossEntropyNode : Node {
  Tensor logp;    // log_softmax of the logits
  Tensor labels;  // int32, contiguous
  double smoothing = 0;
  const char* name() const override { return "cross_entropy"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    std::vector<Tensor> out(2);
    if (!needs_grad[0]) return out;
    const Tensor gl = g.contiguous();
    Tensor gx = Tensor::empty(logp.shape(), logp.dtype(), logp.device());
    const int64_t rows = logp.size(0), K = logp.size(1);
    if (gx.is_cuda()) {
      BNAS_ON_CUDA(kernels::cuda::cross_entropy_backward(logp.data<float>(), labels.data<int32_t>(), gl.data<float>(),
                                                         gx.data<float>(), rows, K, static_cast<float>(smoothing),
                                                         detail::cuda_launch("cross_entropy", gx)));
    } else {
      BNAS_DISPATCH_FLOAT(gx.dtype(), T,
                          kernels::cpu::cross_entropy_backward(logp.data<T>(), labels.data<int32_t>(), gl.data<T>(),
                                                               gx.data<T>(), rows, K, static_cast<T>(smoothing)));
    }
    out[0] = gx;
    return out;
  }
};

}  // namespace

Tensor softmax(const Tensor& x) { return softmax_impl(x, false); }
Tensor log_softmax(const Tensor& x) { return softmax_impl(x, true); }

Tensor cross_entropy(const Tensor& logits_in, const Tensor& labels_in, double label_smoothing) {
  const Tensor labels = check_labels("cross_entropy", logits_in, labels_in);
  BNAS_CHECK(label_smoothing >= 0.0 && label_smoothing <= 1.0,
             "cross_entropy: label smoothing must be in [0, 1], got ", label_smoothing);
  BNAS_CHECK(logits_in.size(1) > 0, "cross_entropy: the logits have no classes");
  const Tensor x = logits_in.contiguous();
  const int64_t rows = x.size(0), K = x.size(1);
  Tensor logp = Tensor::empty(x.shape(), x.dtype(), x.device());
  Tensor loss = Tensor::empty({1}, x.dtype(), x.device());
  if (x.is_cuda()) {
    BNAS_ON_CUDA({
      Tensor row_loss = Tensor::empty({rows}, DType::F32, x.device());
      kernels::cuda::cross_entropy_forward(x.data<float>(), labels.data<int32_t>(), logp.data<float>(),
                                           row_loss.data<float>(), loss.data<float>(), rows, K,
                                           static_cast<float>(label_smoothing),
                                           detail::cuda_launch("cross_entropy", x));
    });
  } else {
    BNAS_DISPATCH_FLOAT(x.dtype(), T,
                        kernels::cpu::cross_entropy_forward(x.data<T>(), labels.data<int32_t>(), logp.data<T>(),
                                                            loss.data<T>(), rows, K, static_cast<T>(label_smoothing)));
  }
  if (any_requires_grad({&logits_in})) {
    auto node = std::make_shared<CrossEntropyNode>();
    node->logp = logp.detach();
    node->labels = labels.detach();
    node->smoothing = label_smoothing;
    record(loss, node, {&logits_in, &labels_in});
  }
  return loss;
}

Tensor count_correct(const Tensor& logits_in, const Tensor& labels_in) {
  const Tensor labels = check_labels("count_correct", logits_in, labels_in);
  const Tensor x = logits_in.contiguous();
  const int64_t rows = x.size(0), K = x.size(1);
  Tensor out = Tensor::empty({1}, DType::F32, x.device());
  if (K == 0) {
    out.zero_();
    return out;
  }
  if (x.is_cuda()) {
    BNAS_ON_CUDA(kernels::cuda::count_correct(x.data<float>(), labels.data<int32_t>(), out.data<float>(), rows, K,
                                              detail::cuda_launch("count_correct", x)));
  } else {
    BNAS_DISPATCH_FLOAT(x.dtype(), T,
                        kernels::cpu::count_correct(x.data<T>(), labels.data<int32_t>(), out.data<float>(), rows, K));
  }
  return out;
}

}  // namespace bnas::ops
