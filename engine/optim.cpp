#include "engine/optim.h"

#include <algorithm>

#include "engine/ops/dispatch.h"
#include "kernels/cpu/optim.h"

#if BNAS_WITH_CUDA
#include "kernels/cuda/optim.cuh"
#endif

namespace bnas {
namespace {

// Cuts tensors (all contiguous, of type T) into chunks of at most kOptimChunk elements.
template <class T> std::vector<kernels::NormChunk<T>> norm_chunks(const std::vector<Tensor>& ts) {
  std::vector<kernels::NormChunk<T>> out;
  for (const Tensor& t : ts) {
    T* x = t.data<T>();
    for (int64_t b = 0; b < t.numel(); b += kernels::kOptimChunk)
      out.push_back({x + b, std::min(kernels::kOptimChunk, t.numel() - b)});
  }
  return out;
}

void check_norm_inputs(const char* what, const std::vector<Tensor>& ts) {
  const Tensor& a = ts.front();
  for (size_t i = 0; i < ts.size(); ++i) {
    const Tensor& t = ts[i];
    BNAS_CHECK(t.defined(), what, ": tensor ", i, " is undefined");
    BNAS_CHECK(is_floating(t.dtype()), what, ": tensor ", i, " holds ", dtype_name(t.dtype()),
               ", but norms need float32 or float64");
    BNAS_CHECK(t.device() == a.device() && t.dtype() == a.dtype(), what, ": tensor ", i, " is ", t.str(),
               " but tensor 0 is ", a.str(), "; all must share one device and dtype");
  }
}

// Sum of squares into a fresh [1] tensor; the tensors must be contiguous.
Tensor norm_of(const std::vector<Tensor>& ts) {
  const Tensor& a = ts.front();
  Tensor norm = Tensor::empty(Shape{1}, a.dtype(), a.device());
  if (a.is_cuda()) {
    BNAS_ON_CUDA(
        cudaStream_t s = ops::detail::cuda_launch("global_norm", a);
        const auto chunks = norm_chunks<float>(ts);
        const int64_t n = static_cast<int64_t>(chunks.size());
        Tensor partials = Tensor::empty(Shape{std::max<int64_t>(n, 1)}, DType::F64, a.device());
        if (n == 0) partials.zero_();
        kernels::cuda::sum_squares(chunks.data(), n, partials.data<double>(), s);
        kernels::cuda::finish_norm(partials.data<double>(), std::max<int64_t>(n, 1), norm.data<float>(), s));
  } else {
    BNAS_DISPATCH_FLOAT(a.dtype(), T, {
      const auto chunks = norm_chunks<T>(ts);
      std::vector<double> partials(chunks.size());
      kernels::cpu::sum_squares(chunks.data(), static_cast<int64_t>(chunks.size()), partials.data());
      kernels::cpu::finish_norm(partials.data(), static_cast<int64_t>(partials.size()), norm.data<T>());
    });
  }
  return norm;
}

}  // namespace

Tensor global_norm(const std::vector<Tensor>& tensors) {
  BNAS_CHECK(!tensors.empty(), "global_norm needs at least one tensor");
  check_norm_inputs("global_norm", tensors);
  std::vector<Tensor> cs;
  cs.reserve(tensors.size());
  for (const Tensor& t : tensors) cs.push_back(t.contiguous());
  return norm_of(cs);
}

Tensor clip_grad_norm(const std::vector<Tensor>& params, double max_norm) {
  BNAS_CHECK(max_norm > 0, "clip_grad_norm: max_norm must be positive, got ", max_norm);
  std::vector<Tensor> grads;
  for (const Tensor& p : params)
    if (p.defined() && p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) {
    return params.empty() || !params.front().defined()
               ? Tensor::zeros(Shape{1})
               : Tensor::zeros(Shape{1}, params.front().dtype(), params.front().device());
  }
  check_norm_inputs("clip_grad_norm", grads);
  for (size_t i = 0; i < grads.size(); ++i)
    BNAS_CHECK(grads[i].is_contiguous(), "clip_grad_norm: gradient ", i, " is not contiguous, so it cannot be scaled in place");
  Tensor norm = norm_of(grads);
  const Tensor& a = grads.front();
  if (a.is_cuda()) {
    BNAS_ON_CUDA(
        cudaStream_t s = ops::detail::cuda_launch("clip_grad_norm", a);
        const auto chunks = norm_chunks<float>(grads);
        kernels::cuda::clip_scale(chunks.data(), static_cast<int64_t>(chunks.size()), norm.data<float>(),
                                  static_cast<float>(max_norm), s));
  } else {
    BNAS_DISPATCH_FLOAT(a.dtype(), T, {
      const auto chunks = norm_chunks<T>(grads);
      kernels::cpu::clip_scale(chunks.data(), static_cast<int64_t>(chunks.size()), norm.data<T>(),
                               static_cast<T>(max_norm));
    });
  }
  return norm;
}

// ---- Optimizer --------------------------------------------------------------------------------

Optimizer::Optimizer(const char* name, std::vector<Tensor> params, double lr, int nstates)
    : name_(name), params_(std::move(params)) {
  BNAS_CHECK(!params_.empty(), name_, ": the parameter group is empty");
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i];
    BNAS_CHECK(p.defined(), name_, ": parameter ", i, " is undefined");
    BNAS_CHECK(p.is_leaf(), name_, ": parameter ", i, " is not a leaf tensor (it was computed by an op)");
    BNAS_CHECK(is_floating(p.dtype()), name_, ": parameter ", i, " holds ", dtype_name(p.dtype()),
               ", but parameters must be float32 or float64");
    BNAS_CHECK(p.device() == params_[0].device() && p.dtype() == params_[0].dtype(), name_, ": parameter ",
               i, " is ", p.str(), " but parameter 0 is ", params_[0].str(),
               "; a group shares one device and dtype");
    BNAS_CHECK(!p.is_cuda() || p.dtype() == DType::F32, name_, ": parameters on the GPU must be float32, got ",
               dtype_name(p.dtype()));
    BNAS_CHECK(p.is_contiguous(), name_, ": parameter ", i, " is a strided view; parameters must be contiguous");
    for (size_t j = 0; j < i; ++j)
      BNAS_CHECK(!p.same_as(params_[j]) && (p.numel() == 0 || p.raw() != params_[j].raw()), name_,
                 ": parameters ", j, " and ", i, " are the same tensor; it would be updated twice");
  }
  const Device dev = params_[0].device();
  const DType dt = params_[0].dtype();
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i];
    if (!p.grad().defined()) p.set_grad(Tensor::zeros(p.shape(), dt, dev));
    const Tensor& g = p.grad();
    BNAS_CHECK(g.device() == dev && g.dtype() == dt && g.is_contiguous(), name_, ": the gradient of parameter ",
               i, " is ", g.str(), " but must be a contiguous ", dtype_name(dt), " tensor on ", dev.str());
    grads_.push_back(g);
  }
  states_.resize(nstates);
  for (auto& st : states_)
    for (const Tensor& p : params_) st.push_back(Tensor::zeros(p.shape(), dt, dev));
  lr_t_ = Tensor::empty(Shape{1}, dt, dev);
  step_ = Tensor::zeros(Shape{1}, DType::I32, dev);
  set_lr(lr);

  table_ = ChunkTable(name_, params_, grads_, nstates > 0 ? states_[0] : std::vector<Tensor>{},
                      nstates > 1 ? states_[1] : std::vector<Tensor>{});
  partials_ = Tensor::zeros(Shape{std::max<int64_t>(table_.count(), 1)}, DType::F64, dev);
  grad_norm_ = Tensor::zeros(Shape{1}, dt, dev);
}

void Optimizer::check_grads_unchanged() const {
  for (size_t i = 0; i < params_.size(); ++i)
    BNAS_CHECK(params_[i].grad().defined() && params_[i].grad().raw() == grads_[i].raw(), name_,
               ": the gradient buffer of parameter ", i, " was replaced after the optimizer was built; copy new ",
               "gradients into grads() (or zero them with zero_grad()) instead of calling set_grad()");
}

void Optimizer::set_lr(double lr) {
  BNAS_CHECK(lr >= 0, name_, ": the learning rate must not be negative, got ", lr);
  lr_ = lr;
  lr_t_.fill_(lr);
}

void Optimizer::zero_grad() {
  check_grads_unchanged();
  if (device().is_cuda()) {
    BNAS_ON_CUDA(kernels::cuda::zero_grads(chunks<float>(), chunk_count(),
                                           ops::detail::cuda_launch("zero_grad", params_.front())));
  } else {
    BNAS_DISPATCH_FLOAT(dtype(), T, kernels::cpu::zero_grads(chunks<T>(), chunk_count()));
  }
}

const Tensor& Optimizer::grad_norm() {
  check_grads_unchanged();
  if (device().is_cuda()) {
    BNAS_ON_CUDA(
        cudaStream_t s = ops::detail::cuda_launch("grad_norm", params_.front());
        kernels::cuda::sum_squares_table(table_.grad_chunks<float>(), table_.count(), partials_.data<double>(), s);
        kernels::cuda::finish_norm(partials_.data<double>(), partials_.numel(), grad_norm_.data<float>(), s));
  } else {
    BNAS_DISPATCH_FLOAT(dtype(), T, {
      kernels::cpu::sum_squares(table_.grad_chunks<T>(), table_.count(), partials_.data<double>());
      kernels::cpu::finish_norm(partials_.data<double>(), partials_.numel(), grad_norm_.data<T>());
    });
  }
  return grad_norm_;
}

const Tensor& Optimizer::clip_grad_norm(double max_norm) {
  BNAS_CHECK(max_norm > 0, name_, ": clip_grad_norm needs a positive max_norm, got ", max_norm);
  grad_norm();
  if (device().is_cuda()) {
    BNAS_ON_CUDA(kernels::cuda::clip_scale_table(table_.grad_chunks<float>(), table_.count(), grad_norm_.data<float>(),
                                                 static_cast<float>(max_norm),
                                                 ops::detail::cuda_launch("clip_grad_norm", params_.front())));
  } else {
    BNAS_DISPATCH_FLOAT(dtype(), T, {
      kernels::cpu::clip_scale(table_.grad_chunks<T>(), table_.count(), grad_norm_.data<T>(), static_cast<T>(max_norm));
    });
  }
  return grad_norm_;
}

// ---- SGD --------------------------------------------------------------------------------------

SGD::SGD(std::vector<Tensor> params, const SgdOptions& o)
    : Optimizer("SGD", std::move(params), o.lr, o.momentum != 0 ? 1 : 0), opt_(o) {
  BNAS_CHECK(o.momentum >= 0, "SGD: momentum must not be negative, got ", o.momentum);
  BNAS_CHECK(o.weight_decay >= 0, "SGD: weight_decay must not be negative, got ", o.weight_decay);
}

void SGD::step() {
  check_grads_unchanged();
  if (device().is_cuda()) {
    BNAS_ON_CUDA(
        cudaStream_t s = ops::detail::cuda_launch("SGD", params_.front());
        kernels::cuda::advance_step(step_.data<int32_t>(), s);
        kernels::cuda::sgd_step(chunks<float>(), chunk_count(), lr_t_.data<float>(), step_.data<int32_t>(),
                                kernels::SgdHyper<float>{static_cast<float>(opt_.momentum),
                                                         static_cast<float>(opt_.weight_decay)},
                                s));
  } else {
    BNAS_DISPATCH_FLOAT(dtype(), T, {
      kernels::cpu::advance_step(step_.data<int32_t>());
      kernels::cpu::sgd_step(chunks<T>(), chunk_count(), lr_t_.data<T>(), step_.data<int32_t>(),
                             kernels::SgdHyper<T>{static_cast<T>(opt_.momentum), static_cast<T>(opt_.weight_decay)});
    });
  }
}

const std::vector<Tensor>& SGD::momentum_buffers() const {
  static const std::vector<Tensor> none;
  return states_.empty() ? none : states_[0];
}

NamedTensors SGD::state() const {
  NamedTensors out{{"step", step_}};
  if (!states_.empty())
    for (size_t i = 0; i < params_.size(); ++i) out.emplace_back("momentum." + std::to_string(i), states_[0][i]);
  return out;
}

// ---- Adam -------------------------------------------------------------------------------------

Adam::Adam(std::vector<Tensor> params, const AdamOptions& o) : Optimizer("Adam", std::move(params), o.lr, 2), opt_(o) {
  BNAS_CHECK(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1, "Adam: betas must lie in [0, 1), got (",
             o.beta1, ", ", o.beta2, ")");
  BNAS_CHECK(o.eps >= 0, "Adam: eps must not be negative, got ", o.eps);
  BNAS_CHECK(o.weight_decay >= 0, "Adam: weight_decay must not be negative, got ", o.weight_decay);
  scalars_ = Tensor::zeros(Shape{2}, dtype(), device());
}

namespace {
template <class T> kernels::AdamHyper<T> adam_hyper(const AdamOptions& o) {
  // 1 - beta is formed in double, as Python forms it, then rounded.
  return {static_cast<T>(o.beta1),       static_cast<T>(o.beta2),   static_cast<T>(1.0 - o.beta1),
          static_cast<T>(1.0 - o.beta2), static_cast<T>(o.eps),     static_cast<T>(o.weight_decay)};
}
}  // namespace

void Adam::step() {
  check_grads_unchanged();
  if (device().is_cuda()) {
    BNAS_ON_CUDA(
        cudaStream_t s = ops::detail::cuda_launch("Adam", params_.front());
        kernels::cuda::adam_prologue(step_.data<int32_t>(), lr_t_.data<float>(), scalars_.data<float>(), opt_.beta1,
                                     opt_.beta2, s);
        kernels::cuda::adam_step(chunks<float>(), chunk_count(), scalars_.data<float>(), adam_hyper<float>(opt_), s));
  } else {
    BNAS_DISPATCH_FLOAT(dtype(), T, {
      kernels::cpu::adam_prologue(step_.data<int32_t>(), lr_t_.data<T>(), scalars_.data<T>(), opt_.beta1, opt_.beta2);
      kernels::cpu::adam_step(chunks<T>(), chunk_count(), scalars_.data<T>(), adam_hyper<T>(opt_));
    });
  }
}

NamedTensors Adam::state() const {
  NamedTensors out{{"step", step_}};
  for (size_t i = 0; i < params_.size(); ++i) out.emplace_back("exp_avg." + std::to_string(i), states_[0][i]);
  for (size_t i = 0; i < params_.size(); ++i) out.emplace_back("exp_avg_sq." + std::to_string(i), states_[1][i]);
  return out;
}

}  // namespace bnas
