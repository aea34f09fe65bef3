#include "nas/architect.h"

#include <string>

#include "engine/autograd.h"
#include "engine/check.h"
#include "engine/ops.h"

namespace bnas::nas {

namespace {
bool contains(const std::vector<Tensor>& ts, const Tensor& t) {
  for (const Tensor& x : ts)
    if (x.same_as(t) || (x.raw() == t.raw() && x.shape() == t.shape())) return true;
  return false;
}
}  // namespace

Architect::Architect(SearchModel& model, const ArchitectOptions& options, SGD* weight_optimizer)
    : model_(model), options_(options), wopt_(weight_optimizer) {
  for (const auto& [name, t] : model.arch_parameters()) arch_.push_back(t);
  BNAS_CHECK(!arch_.empty(), "the model has no architecture parameters to search");
  AdamOptions ao;
  ao.lr = options.lr;
  ao.beta1 = options.beta1;
  ao.beta2 = options.beta2;
  ao.eps = options.eps;
  ao.weight_decay = options.weight_decay;
  opt_ = std::make_unique<Adam>(arch_, ao);
  last_val_loss_ = Tensor::zeros(Shape{1}, arch_.front().dtype(), arch_.front().device());
  val_loss_scale_ = Tensor::full(Shape{1}, 1.0, arch_.front().dtype(), arch_.front().device());
  BNAS_CHECK(options.fd_radius > 0, "the finite-difference radius must be positive, got ", options.fd_radius);
  if (!options.unrolled) return;

  BNAS_CHECK(wopt_ != nullptr, "the unrolled (second-order) architecture step needs the weight optimizer");
  weights_ = model.weights();
  const auto& wp = wopt_->params();
  BNAS_CHECK(wp.size() == weights_.size(), "the weight optimizer holds ", wp.size(),
             " tensors but the model has ", weights_.size(), " weights");
  for (size_t i = 0; i < wp.size(); ++i)
    BNAS_CHECK(wp[i].raw() == weights_[i].raw(), "the weight optimizer's tensor ", i,
               " is not the model's weight ", i, " (they must be the same tensors, in order)");
  std::vector<Tensor> buffers;
  for (const auto& [name, t] : model.state_dict())
    if (!contains(weights_, t) && (t.dtype() == DType::F32 || t.dtype() == DType::F64)) buffers.push_back(t);
  unroll_ = std::make_unique<WeightUnroll>(*wopt_, buffers);
}

Tensor Architect::loss(const data::Batch& b) {
  return ops::cross_entropy(model_.forward(b.images, true), b.labels);
}

Tensor Architect::val_loss(const data::Batch& valid) {
  const Tensor l = loss(valid);
  last_val_loss_.copy_(l.detach());
  // scale * L_val with the scale read on the device (weighted_sum of one term).
  return options_.scale_val_loss ? ops::weighted_sum({l}, val_loss_scale_) : l;
}

void Architect::set_val_loss_scale(double scale) {
  BNAS_CHECK(options_.scale_val_loss, "the validation loss of this architect is not scaled (scale_val_loss is off), ",
             "so its scale cannot be set to ", scale);
  val_loss_scale_.fill_(scale);
}

void Architect::compute_gradient(const data::Batch& train, const data::Batch& valid) {
  if (options_.unrolled)
    unrolled(train, valid);
  else
    first_order(valid);
}

void Architect::first_order(const data::Batch& valid) {
  opt_->zero_grad();
  backward(val_loss(valid), arch_);
}

void Architect::unrolled(const data::Batch& train, const data::Batch& valid) {
  // The weight moves (WeightUnroll) and the in-place adds below are never recorded by autograd.
  // The weight optimizer's gradient buffers are scratch here (g, then v): the weight step zeroes
  // them before its own backward.
  const double r = options_.fd_radius;
  const Tensor& xi = wopt_->lr_tensor();  // [1], read on the device

  // w' = w - xi (mu m + grad_w L_train(w) + lambda w), in place, w backed up.
  wopt_->zero_grad();
  backward(loss(train), weights_);
  unroll_->virtual_step();
  unroll_->save_buffers();

  // dalpha = grad_alpha L_val(w') into the Adam gradients and v = grad_w' L_val(w') into the
  // weight gradients, in one backward.
  opt_->zero_grad();
  wopt_->zero_grad();
  std::vector<Tensor> leaves = arch_;
  leaves.insert(leaves.end(), weights_.begin(), weights_.end());
  backward(val_loss(valid), leaves);
  unroll_->restore_buffers();
  const Tensor& vnorm = wopt_->grad_norm();  // ||v||, [1] on the device, never read back

  // grad_alpha L_train at w + sign * eps * v, eps = r / ||v|| (nothing added when v == 0).
  auto arch_grad_at = [&](double sign) {
    unroll_->perturb(vnorm, sign * r);
    return grad(loss(train), arch_);
  };
  const std::vector<Tensor> gp = arch_grad_at(+1.0);
  const std::vector<Tensor> gn = arch_grad_at(-1.0);
  unroll_->restore();

  // g = dalpha - xi (gp - gn) / (2 eps) = dalpha - xi ||v|| / (2 r) (gp - gn), xi ||v|| formed
  // on the device (a weighted sum of one term).
  const Tensor xi_vnorm = ops::weighted_sum({vnorm}, xi);
  const std::vector<Tensor>& ga = opt_->grads();
  for (size_t j = 0; j < arch_.size(); ++j) {
    Tensor out = ga[j];
    ops::add_scaled_(out, gp[j], xi_vnorm, -1.0 / (2 * r));
    ops::add_scaled_(out, gn[j], xi_vnorm, 1.0 / (2 * r));
  }
}

void Architect::apply() {
  if (options_.grad_clip > 0) opt_->clip_grad_norm(options_.grad_clip);
  opt_->step();
}

}  // namespace bnas::nas
