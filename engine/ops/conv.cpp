// conv2d: argument checks, backend dispatch and the autograd node. The CPU kernels are im2col +
// OpenBLAS GEMM (direct loops for depthwise), the CUDA ones cuDNN. On the CPU a channel-slice
// view of x is read in place through its batch stride. On the GPU it is made contiguous first:
// the cuDNN callers accept a batch stride too, but several cuDNN algorithms (FFT, Winograd) want
// fully packed tensors, and in the search network a conv's input is almost always a fresh ReLU
// output anyway, so the copy is rare and buys the well-trodden packed path.
#include "engine/ops.h"
#include "engine/ops/dispatch.h"
#include "kernels/conv_shape.h"
#include "kernels/cpu/conv.h"

#if BNAS_WITH_CUDA
#include "kernels/cuda/conv_cudnn.h"
#endif

namespace bnas::ops {
namespace {

// True when x's channels, rows and columns are packed (contiguous, or a channel slice of a
// contiguous tensor), so the kernels can read it with a batch stride alone.
bool packed_but_batch(const Tensor& x) {
  return x.stride(3) == 1 && x.stride(2) == x.size(3) && x.stride(1) == x.size(2) * x.size(3) &&
         x.stride(0) >= x.size(1) * x.stride(1);
}

kernels::ConvShape conv_shape(const Tensor& x, const Tensor& w, const Conv2dArgs& a) {
  detail::check_same("conv2d", {&x, &w});
  BNAS_CHECK(x.ndim() == 4, "conv2d: the input must be 4-D (N x C x H x W), got shape ", x.shape().str());
  BNAS_CHECK(w.ndim() == 4, "conv2d: the weight must be 4-D (Cout x Cin/groups x kh x kw), got shape ",
             w.shape().str());
  BNAS_CHECK(a.stride >= 1 && a.padding >= 0 && a.dilation >= 1 && a.groups >= 1,
             "conv2d: needs stride >= 1, padding >= 0, dilation >= 1 and groups >= 1, got stride ",
             a.stride, ", padding ", a.padding, ", dilation ", a.dilation, ", groups ", a.groups);
  kernels::ConvShape s;
  s.n = x.size(0), s.cin = x.size(1), s.h = x.size(2), s.w = x.size(3);
  s.cout = w.size(0), s.kh = w.size(2), s.kw = w.size(3);
  s.stride = a.stride, s.pad = a.padding, s.dilation = a.dilation, s.groups = a.groups;
  BNAS_CHECK(s.cin % s.groups == 0 && s.cout % s.groups == 0, "conv2d: groups = ", s.groups,
             " must divide both the input channels (", s.cin, ") and the output channels (", s.cout, ")");
  BNAS_CHECK(w.size(1) == s.cin_g(), "conv2d: the weight ", w.shape().str(), " expects ", w.size(1),
             " input channels per group, but the input ", x.shape().str(), " with groups = ", s.groups,
             " has ", s.cin_g());
  BNAS_CHECK(s.cin >= 1, "conv2d: the input ", x.shape().str(), " has no channels");
  BNAS_CHECK(s.kh >= 1 && s.kw >= 1 && s.cout >= 1, "conv2d: the weight ", w.shape().str(), " is empty");
  const int64_t eh = s.dilation * (s.kh - 1) + 1, ew = s.dilation * (s.kw - 1) + 1;
  BNAS_CHECK(s.h + 2 * s.pad >= eh && s.w + 2 * s.pad >= ew, "conv2d: the padded input (",
             s.h + 2 * s.pad, " x ", s.w + 2 * s.pad, ") is smaller than the dilated kernel (", eh,
             " x ", ew, ")");
  s.ho = kernels::conv_out_size(s.h, s.kh, s.stride, s.pad, s.dilation);
  s.wo = kernels::conv_out_size(s.w, s.kw, s.stride, s.pad, s.dilation);
  return s;
}

struct Conv2dNode : Node {
  Tensor x, w;  // x is kept only when w needs a gradient, w only when x does
  kernels::ConvShape s;
  const char* name() const override { return "conv2d"; }
  std::vector<Tensor> backward(const Tensor& gy_in) override {
    const Tensor gy = gy_in.contiguous();
    Tensor gx, gw;
    if (needs_grad[0]) gx = Tensor::empty({s.n, s.cin, s.h, s.w}, gy.dtype(), gy.device());
    // On CUDA the weight gradient goes straight into the parameter's grad() buffer when backward()
    // offers it (Node::accumulate_into): cuDNN adds it with beta = 1, and nothing is returned.
    const bool accumulate = gy.is_cuda() && needs_grad[1] && accumulate_into.size() == 2 && accumulate_into[1].defined();
    if (needs_grad[1]) gw = accumulate ? accumulate_into[1] : Tensor::empty({s.cout, s.cin_g(), s.kh, s.kw}, gy.dtype(), gy.device());
    if (!gx.defined() && !gw.defined()) return {gx, gw};
    if (gy.numel() == 0) {  // empty batch: nothing reaches x, and w's gradient is zero
      if (gw.defined() && !accumulate) gw.zero_();
      return {gx, accumulate ? Tensor() : gw};
    }
    if (gy.is_cuda()) {
      BNAS_ON_CUDA({
        cudaStream_t st = detail::cuda_launch("conv2d", gy);
        cudnnHandle_t h = cudnn_handle(gy.device());
        if (gx.defined())
          kernels::cuda::conv2d_backward_data(h, st, s, w.data<float>(), gy.data<float>(), gx.data<float>(),
                                              deterministic());
        if (gw.defined())
          kernels::cuda::conv2d_backward_filter(h, st, s, x.data<float>(), gy.data<float>(), gw.data<float>(),
                                                accumulate, deterministic());
      });
      if (accumulate) return {gx, Tensor()};
    } else {
      BNAS_DISPATCH_FLOAT(gy.dtype(), T,
                          kernels::cpu::conv2d_backward<T>(
                              s, gw.defined() ? x.data<T>() : nullptr, gx.defined() ? w.data<T>() : nullptr,
                              gy.data<T>(), gx.defined() ? gx.data<T>() : nullptr,
                              gw.defined() ? gw.data<T>() : nullptr));
    }
    return {gx, gw};
  }
};

}  // namespace

Tensor conv2d(const Tensor& x_in, const Tensor& w_in, const Conv2dArgs& a) {
  kernels::ConvShape s = conv_shape(x_in, w_in, a);
  const Tensor x = (packed_but_batch(x_in) && !x_in.is_cuda()) ? x_in : x_in.contiguous();
  const Tensor w = w_in.contiguous();
  s.x_batch_stride = x.stride(0);
  Tensor y = Tensor::empty({s.n, s.cout, s.ho, s.wo}, x.dtype(), x.device());
  if (y.numel() > 0) {
    if (y.is_cuda()) {
      BNAS_ON_CUDA(kernels::cuda::conv2d_forward(cudnn_handle(y.device()), detail::cuda_launch("conv2d", y), s,
                                                 x.data<float>(), w.data<float>(), y.data<float>(),
                                                 deterministic()));
    } else {
      BNAS_DISPATCH_FLOAT(y.dtype(), T, kernels::cpu::conv2d_forward<T>(s, x.data<T>(), w.data<T>(), y.data<T>()));
    }
  }
  if (any_requires_grad({&x_in, &w_in})) {
    auto node = std::make_shared<Conv2dNode>();
    node->s = s;
    if (w_in.requires_grad()) node->x = x.detach();
    if (x_in.requires_grad()) node->w = w.detach();
    record(y, node, {&x_in, &w_in});
  }
  return y;
}

}  // namespace bnas::ops
