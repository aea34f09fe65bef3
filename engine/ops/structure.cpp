// Structure ops: weighted_sum, concat_channels, narrow, reshape, channel_shuffle, strided_zero,
// drop_path. They move or combine whole tensors, so their kernels (kernels/{cpu,cuda}/structure)
// read "sample-planar" inputs directly: a tensor whose dims 1.. are contiguous while samples
// may lie further apart, which is exactly a channel-slice view (x[:, c0:c1]). Anything else is
// made contiguous first.
//
// Views: narrow returns a view of its input (a channel slice for dim 1; for dim 0 when the
// input is contiguous) and reshape a view of a contiguous input, like their PyTorch namesakes;
// both are recorded with autograd. Writing into such a view in place writes into the input.
// Every other op returns a fresh contiguous tensor.
#include <numeric>

#include "engine/ops.h"
#include "engine/ops/dispatch.h"
#include "kernels/cpu/structure.h"

#if BNAS_WITH_CUDA
#include "kernels/cuda/structure.cuh"
#endif

namespace bnas::ops {
using detail::check_same;
using kernels::ChannelBlock;

namespace {

// Elements of one sample (dims 1..), 1 for a 1-D tensor.
int64_t per_sample(const Tensor& x) { return x.size(0) == 0 ? 0 : x.numel() / x.size(0); }
// Product of dims 2.. (1 for a 2-D tensor).
int64_t inner_of(const Tensor& x) {
  int64_t n = 1;
  for (int i = 2; i < x.ndim(); ++i) n *= x.size(i);
  return n;
}

// True when dims 1.. are laid out contiguously (samples may be any distance apart).
bool sample_planar(const Tensor& x) {
  int64_t expect = 1;
  for (int i = x.ndim() - 1; i >= 1; --i) {
    if (x.size(i) != 1 && x.stride(i) != expect) return false;
    expect *= x.size(i);
  }
  return true;
}
// x itself when sample-planar, else a contiguous copy.
Tensor planar(const Tensor& x) { return sample_planar(x) ? x : x.contiguous(); }
// Distance between samples of a sample-planar tensor, in elements.
int64_t nstride(const Tensor& x) { return x.size(0) > 1 ? x.stride(0) : per_sample(x); }

template <class T> ChannelBlock<const T> cblock(const Tensor& t, int64_t c0) {
  ChannelBlock<const T> b;
  b.ptr = t.data<T>();
  b.nstride = nstride(t);
  b.c0 = c0;
  b.channels = t.size(1);
  return b;
}
template <class T> ChannelBlock<T> mblock(const Tensor& t, int64_t c0) {
  ChannelBlock<T> b;
  b.ptr = t.data<T>();
  b.nstride = nstride(t);
  b.c0 = c0;
  b.channels = t.size(1);
  return b;
}

// wide[:, c0_k : c0_k + C_k] = parts[k] for each k (wide contiguous, parts sample-planar).
void gather_channels(const std::vector<Tensor>& parts, const std::vector<int64_t>& c0, Tensor& wide) {
  const int64_t N = wide.size(0), inner = inner_of(wide), wstride = per_sample(wide);
  if (wide.is_cuda()) {
    BNAS_ON_CUDA({
      std::vector<ChannelBlock<const float>> b;
      for (size_t k = 0; k < parts.size(); ++k) b.push_back(cblock<float>(parts[k], c0[k]));
      kernels::cuda::channel_gather(b.data(), static_cast<int>(b.size()), wide.data<float>(), wstride, N, inner,
                                    detail::cuda_launch("concat_channels", wide));
    });
  } else {
    BNAS_DISPATCH_FLOAT(wide.dtype(), T, {
      std::vector<ChannelBlock<const T>> b;
      for (size_t k = 0; k < parts.size(); ++k) b.push_back(cblock<T>(parts[k], c0[k]));
      kernels::cpu::channel_gather(b.data(), static_cast<int>(b.size()), wide.data<T>(), wstride, N, inner);
    });
  }
}

// parts[k] = wide[:, c0_k : c0_k + C_k] (wide sample-planar, parts contiguous).
void scatter_channels(const Tensor& wide, const std::vector<Tensor>& parts, const std::vector<int64_t>& c0) {
  const int64_t N = wide.size(0), inner = inner_of(wide), wstride = nstride(wide);
  if (wide.is_cuda()) {
    BNAS_ON_CUDA({
      std::vector<ChannelBlock<float>> b;
      for (size_t k = 0; k < parts.size(); ++k) b.push_back(mblock<float>(parts[k], c0[k]));
      kernels::cuda::channel_scatter(wide.data<float>(), wstride, b.data(), static_cast<int>(b.size()), N, inner,
                                     detail::cuda_launch("concat_channels", wide));
    });
  } else {
    BNAS_DISPATCH_FLOAT(wide.dtype(), T, {
      std::vector<ChannelBlock<T>> b;
      for (size_t k = 0; k < parts.size(); ++k) b.push_back(mblock<T>(parts[k], c0[k]));
      kernels::cpu::channel_scatter(wide.data<T>(), wstride, b.data(), static_cast<int>(b.size()), N, inner);
    });
  }
}

// Sample n of dst (from element dst_off, samples dst_ns apart) = sample n of src (from src_off,
// samples src_ns apart), for n < N, ps elements each: a one-channel gather.
void copy_samples(const Tensor& src, int64_t src_off, int64_t src_ns, Tensor& dst, int64_t dst_off, int64_t dst_ns,
                  int64_t N, int64_t ps) {
  if (N == 0 || ps == 0) return;
  if (dst.is_cuda()) {
    BNAS_ON_CUDA({
      ChannelBlock<const float> b;
      b.ptr = src.data<float>() + src_off;
      b.nstride = src_ns;
      b.channels = 1;
      kernels::cuda::channel_gather(&b, 1, dst.data<float>() + dst_off, dst_ns, N, ps,
                                    detail::cuda_launch("narrow", dst));
    });
  } else {
    BNAS_DISPATCH_FLOAT(dst.dtype(), T, {
      ChannelBlock<const T> b;
      b.ptr = src.data<T>() + src_off;
      b.nstride = src_ns;
      b.channels = 1;
      kernels::cpu::channel_gather(&b, 1, dst.data<T>() + dst_off, dst_ns, N, ps);
    });
  }
}

// ---- weighted_sum ----------------------------------------------------------------------------
struct WeightedSumNode : Node {
  std::vector<Tensor> xs;  // contiguous inputs (saved only when the weights need a gradient)
  Tensor w;                // weights (saved only when an input needs a gradient)
  Shape shape;
  DType dtype = DType::F32;
  Device device;
  const char* name() const override { return "weighted_sum"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    const Tensor gy = g.contiguous();
    const int n = static_cast<int>(needs_grad.size()) - 1;
    const int64_t numel = shape.numel();
    std::vector<Tensor> out(needs_grad.size());
    std::vector<int> which;
    for (int i = 0; i < n; ++i)
      if (needs_grad[i]) {
        which.push_back(i);
        out[i] = Tensor::empty(shape, dtype, device);
      }
    const bool want_w = needs_grad[n];
    if (want_w) out[n] = Tensor::empty({n}, dtype, device);
    if (device.is_cuda()) {
      BNAS_ON_CUDA({
        cudaStream_t s = detail::cuda_launch("weighted_sum", gy);
        if (!which.empty()) {
          std::vector<float*> gx;
          for (int i : which) gx.push_back(out[i].data<float>());
          kernels::cuda::weighted_sum_backward_inputs(w.data<float>(), which.data(), gx.data(),
                                                      static_cast<int>(which.size()), gy.data<float>(), numel, s);
        }
        if (want_w) {
          std::vector<const float*> px;
          for (const Tensor& x : xs) px.push_back(x.data<float>());
          Tensor scratch = Tensor::empty({kernels::cuda::weighted_sum_scratch(n, numel)}, DType::F32, device);
          kernels::cuda::weighted_sum_backward_weights(px.data(), n, gy.data<float>(), out[n].data<float>(), numel,
                                                       scratch.data<float>(), s);
        }
      });
    } else {
      BNAS_DISPATCH_FLOAT(dtype, T, {
        if (!which.empty()) {
          std::vector<T*> gx;
          for (int i : which) gx.push_back(out[i].data<T>());
          kernels::cpu::weighted_sum_backward_inputs(w.data<T>(), which.data(), gx.data(),
                                                     static_cast<int>(which.size()), gy.data<T>(), numel);
        }
        if (want_w) {
          std::vector<const T*> px;
          for (const Tensor& x : xs) px.push_back(x.data<T>());
          kernels::cpu::weighted_sum_backward_weights(px.data(), n, gy.data<T>(), out[n].data<T>(), numel);
        }
      });
    }
    return out;
  }
};

// ---- concat / narrow / reshape / shuffle -----------------------------------------------------
struct ConcatNode : Node {
  std::vector<Shape> shapes;
  std::vector<int64_t> c0;
  DType dtype = DType::F32;
  Device device;
  const char* name() const override { return "concat_channels"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    const Tensor gy = planar(g);
    std::vector<Tensor> out(shapes.size()), parts;
    std::vector<int64_t> offsets;
    for (size_t i = 0; i < shapes.size(); ++i) {
      if (!needs_grad[i]) continue;
      out[i] = Tensor::empty(shapes[i], dtype, device);
      parts.push_back(out[i]);
      offsets.push_back(c0[i]);
    }
    if (!parts.empty()) scatter_channels(gy, parts, offsets);
    return out;
  }
};

struct NarrowNode : Node {
  Shape in_shape;
  DType dtype = DType::F32;
  Device device;
  int dim = 0;
  int64_t start = 0;
  const char* name() const override { return "narrow"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    if (!needs_grad[0]) return {Tensor()};
    Tensor gx = Tensor::zeros(in_shape, dtype, device);
    if (g.numel() == 0) return {gx};
    const Tensor gy = planar(g);
    if (dim == 1) {
      gather_channels({gy}, {start}, gx);
    } else {
      const int64_t ps = per_sample(gx);
      copy_samples(gy, 0, nstride(gy), gx, start * ps, ps, gy.size(0), ps);
    }
    return {gx};
  }
};

struct ReshapeNode : Node {
  Shape in_shape;
  const char* name() const override { return "reshape"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    if (!needs_grad[0]) return {Tensor()};
    return {g.contiguous().view(in_shape)};
  }
};

void shuffle_into(const Tensor& x, Tensor& y, int64_t groups) {
  const int64_t N = x.size(0), C = x.size(1), inner = inner_of(x), xs = nstride(x);
  if (y.is_cuda()) {
    BNAS_ON_CUDA(kernels::cuda::channel_shuffle(x.data<float>(), xs, y.data<float>(), N, C, inner, groups,
                                                detail::cuda_launch("channel_shuffle", y)));
  } else {
    BNAS_DISPATCH_FLOAT(y.dtype(), T,
                        kernels::cpu::channel_shuffle(x.data<T>(), xs, y.data<T>(), N, C, inner, groups));
  }
}

struct ShuffleNode : Node {
  int64_t groups = 1;
  const char* name() const override { return "channel_shuffle"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    if (!needs_grad[0]) return {Tensor()};
    const Tensor gy = planar(g);
    Tensor gx = Tensor::empty(gy.shape(), gy.dtype(), gy.device());
    shuffle_into(gy, gx, gy.size(1) / groups);  // the inverse permutation
    return {gx};
  }
};

struct StridedZeroNode : Node {
  Shape in_shape;
  DType dtype = DType::F32;
  Device device;
  const char* name() const override { return "strided_zero"; }
  std::vector<Tensor> backward(const Tensor&) override {
    if (!needs_grad[0]) return {Tensor()};
    return {Tensor::zeros(in_shape, dtype, device)};
  }
};

// ---- drop_path -------------------------------------------------------------------------------
void drop_path_into(const Tensor& x, Tensor& y, const RandomRange& r, double p) {
  const int64_t N = x.size(0), ps = per_sample(x);
  const double scale = 1.0 / (1.0 - p);
  if (y.is_cuda()) {
    BNAS_ON_CUDA(kernels::cuda::drop_path(x.data<float>(), y.data<float>(), N, ps, r.seed, r.stream, r.offset, p,
                                          static_cast<float>(scale), detail::cuda_launch("drop_path", y)));
  } else {
    BNAS_DISPATCH_FLOAT(y.dtype(), T,
                        kernels::cpu::drop_path(x.data<T>(), y.data<T>(), N, ps, r.seed, r.stream, r.offset, p,
                                                static_cast<T>(scale)));
  }
}

struct DropPathNode : Node {
  RandomRange range;
  double p = 0;
  const char* name() const override { return "drop_path"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    if (!needs_grad[0]) return {Tensor()};
    const Tensor gy = g.contiguous();
    Tensor gx = Tensor::empty(gy.shape(), gy.dtype(), gy.device());
    drop_path_into(gy, gx, range, p);
    return {gx};
  }
};

}  // namespace

namespace {
// Checks xs (one shape, on w's device when w is defined) and returns sum_i w[i] xs[i] (the plain
// sum when w is undefined) with xs made contiguous into *xs_out.
Tensor sum_forward(const char* what, const std::vector<Tensor>& xs_in, const Tensor& w, std::vector<Tensor>* xs_out) {
  BNAS_CHECK(!xs_in.empty(), what, ": needs at least one tensor");
  const int n = static_cast<int>(xs_in.size());
  for (const Tensor& x : xs_in) {
    check_same(what, {&xs_in[0], &x, &w});
    BNAS_CHECK(x.shape() == xs_in[0].shape(), what, ": all tensors must share one shape, got ",
               xs_in[0].shape().str(), " and ", x.shape().str());
  }
  std::vector<Tensor>& xs = *xs_out;
  for (const Tensor& x : xs_in) xs.push_back(x.contiguous());
  Tensor y = Tensor::empty(xs[0].shape(), xs[0].dtype(), xs[0].device());
  const int64_t numel = y.numel();
  if (y.is_cuda()) {
    BNAS_ON_CUDA({
      std::vector<const float*> px;
      for (const Tensor& x : xs) px.push_back(x.data<float>());
      kernels::cuda::weighted_sum_forward(px.data(), n, w.defined() ? w.data<float>() : nullptr, y.data<float>(),
                                          numel, detail::cuda_launch(what, y));
    });
  } else {
    BNAS_DISPATCH_FLOAT(y.dtype(), T, {
      std::vector<const T*> px;
      for (const Tensor& x : xs) px.push_back(x.data<T>());
      kernels::cpu::weighted_sum_forward(px.data(), n, w.defined() ? w.data<T>() : nullptr, y.data<T>(), numel);
    });
  }
  return y;
}

struct SumNode : Node {
  const char* name() const override { return "sum"; }
  std::vector<Tensor> backward(const Tensor& gy) override {
    std::vector<Tensor> out(inputs.size());
    for (size_t i = 0; i < out.size(); ++i)
      if (needs_grad[i]) out[i] = gy;
    return out;
  }
};
}  // namespace

Tensor weighted_sum(const std::vector<Tensor>& xs_in, const Tensor& weights) {
  BNAS_CHECK(!xs_in.empty(), "weighted_sum: needs at least one tensor");
  BNAS_CHECK(weights.defined(), "weighted_sum: the weights are undefined");
  const int64_t n = static_cast<int64_t>(xs_in.size());
  BNAS_CHECK(weights.ndim() == 1 && weights.size(0) == n, "weighted_sum: ", n,
             " tensors need a weight vector of shape [", n, "], got ", weights.shape().str());
  const Tensor w = weights.contiguous();
  std::vector<Tensor> xs;
  Tensor y = sum_forward("weighted_sum", xs_in, w, &xs);
  std::vector<const Tensor*> ins;
  for (const Tensor& x : xs_in) ins.push_back(&x);
  ins.push_back(&weights);
  if (any_requires_grad(xs_in) || any_requires_grad({&weights})) {
    auto node = std::make_shared<WeightedSumNode>();
    if (weights.requires_grad())
      for (const Tensor& x : xs) node->xs.push_back(x.detach());
    if (any_requires_grad(xs_in)) node->w = w.detach();
    node->shape = y.shape();
    node->dtype = y.dtype();
    node->device = y.device();
    record(y, node, ins);
  }
  return y;
}

Tensor sum(const std::vector<Tensor>& xs_in) {
  std::vector<Tensor> xs;
  Tensor y = sum_forward("sum", xs_in, Tensor(), &xs);
  if (any_requires_grad(xs_in)) {
    std::vector<const Tensor*> ins;
    for (const Tensor& x : xs_in) ins.push_back(&x);
    record(y, std::make_shared<SumNode>(), ins);
  }
  return y;
}

Tensor concat_channels(const std::vector<Tensor>& xs_in) {
  BNAS_CHECK(!xs_in.empty(), "concat_channels: needs at least one tensor");
  const Tensor& first = xs_in[0];
  BNAS_CHECK(first.ndim() >= 2, "concat_channels: tensors need a channel dimension, got shape ",
             first.shape().str());
  Shape out_shape = first.shape();
  int64_t channels = 0;
  std::vector<Tensor> parts;
  std::vector<int64_t> c0;
  for (const Tensor& x : xs_in) {
    check_same("concat_channels", {&first, &x});
    bool same = x.ndim() == first.ndim() && x.size(0) == first.size(0);
    for (int i = 2; same && i < x.ndim(); ++i) same = x.size(i) == first.size(i);
    BNAS_CHECK(same, "concat_channels: shapes ", first.shape().str(), " and ", x.shape().str(),
               " differ outside the channel dimension");
    parts.push_back(planar(x));
    c0.push_back(channels);
    channels += x.size(1);
  }
  out_shape[1] = channels;
  Tensor y = Tensor::empty(out_shape, first.dtype(), first.device());
  gather_channels(parts, c0, y);
  if (any_requires_grad(xs_in)) {
    auto node = std::make_shared<ConcatNode>();
    std::vector<const Tensor*> ins;
    for (const Tensor& x : xs_in) {
      node->shapes.push_back(x.shape());
      ins.push_back(&x);
    }
    node->c0 = c0;
    node->dtype = y.dtype();
    node->device = y.device();
    record(y, node, ins);
  }
  return y;
}

Tensor narrow(const Tensor& x, int dim, int64_t start, int64_t length) {
  BNAS_CHECK(dim == 0 || dim == 1, "narrow: only dims 0 and 1 are supported, got dim ", dim);
  BNAS_CHECK(x.ndim() > dim, "narrow: dim ", dim, " does not exist in shape ", x.shape().str());
  BNAS_CHECK(start >= 0 && length >= 0 && start + length <= x.size(dim), "narrow: [", start, ", ", start + length,
             ") is out of range for dim ", dim, " of shape ", x.shape().str());
  Tensor y;
  if (dim == 1) {
    y = x.detach().channel_slice(start, start + length);
  } else {
    Shape s = x.shape();
    s[0] = length;
    const int64_t ps = per_sample(x);
    if (x.is_contiguous() && ps > 0) {
      y = x.detach().view({1, x.size(0), ps}).channel_slice(start, start + length).view(s);
    } else {
      const Tensor xp = planar(x);
      y = Tensor::empty(s, x.dtype(), x.device());
      if (y.numel() > 0) copy_samples(xp, start * nstride(xp), nstride(xp), y, 0, ps, length, ps);
    }
  }
  if (any_requires_grad({&x})) {
    auto node = std::make_shared<NarrowNode>();
    node->in_shape = x.shape();
    node->dtype = x.dtype();
    node->device = x.device();
    node->dim = dim;
    node->start = start;
    record(y, node, {&x});
  }
  return y;
}

Tensor reshape(const Tensor& x, const Shape& shape) {
  BNAS_CHECK(shape.numel() == x.numel(), "reshape: cannot reshape ", x.shape().str(), " (", x.numel(),
             " elements) into ", shape.str());
  Tensor y = x.detach().contiguous().view(shape);
  if (any_requires_grad({&x})) {
    auto node = std::make_shared<ReshapeNode>();
    node->in_shape = x.shape();
    record(y, node, {&x});
  }
  return y;
}

Tensor channel_shuffle(const Tensor& x_in, int groups) {
  check_same("channel_shuffle", {&x_in});
  BNAS_CHECK(x_in.ndim() >= 2, "channel_shuffle: needs a channel dimension, got shape ", x_in.shape().str());
  BNAS_CHECK(groups >= 1 && x_in.size(1) % groups == 0, "channel_shuffle: ", x_in.size(1),
             " channels cannot be split into ", groups, " groups");
  const Tensor x = planar(x_in);
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (y.numel() > 0) shuffle_into(x, y, groups);
  if (any_requires_grad({&x_in})) {
    auto node = std::make_shared<ShuffleNode>();
    node->groups = groups;
    record(y, node, {&x_in});
  }
  return y;
}

Tensor strided_zero(const Tensor& x, int stride) {
  check_same("strided_zero", {&x});
  detail::check_ndim("strided_zero", x, 4);
  BNAS_CHECK(stride >= 1, "strided_zero: the stride must be at least 1, got ", stride);
  const Shape s{x.size(0), x.size(1), (x.size(2) + stride - 1) / stride, (x.size(3) + stride - 1) / stride};
  Tensor y = Tensor::zeros(s, x.dtype(), x.device());
  if (any_requires_grad({&x})) {
    auto node = std::make_shared<StridedZeroNode>();
    node->in_shape = x.shape();
    node->dtype = x.dtype();
    node->device = x.device();
    record(y, node, {&x});
  }
  return y;
}

Tensor drop_path(const Tensor& x_in, double drop_prob, Generator& gen) {
  check_same("drop_path", {&x_in});
  BNAS_CHECK(x_in.ndim() >= 1, "drop_path: needs a batch dimension");
  BNAS_CHECK(drop_prob >= 0.0 && drop_prob < 1.0, "drop_path: the drop probability must be in [0, 1), got ",
             drop_prob);
  const Tensor x = x_in.contiguous();
  const RandomRange r = gen.take(static_cast<uint64_t>(x.size(0)));
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (y.numel() > 0) drop_path_into(x, y, r, drop_prob);
  if (any_requires_grad({&x_in})) {
    auto node = std::make_shared<DropPathNode>();
    node->range = r;
    node->p = drop_prob;
    record(y, node, {&x_in});
  }
  return y;
}

}  // namespace bnas::ops
