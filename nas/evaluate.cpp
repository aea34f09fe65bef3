#include "nas/evaluate.h"

#include "engine/autograd.h"
#include "engine/ops.h"

namespace bnas::nas {

LossAccuracy evaluate(const std::function<Tensor(const Tensor&)>& logits_of, data::Loader& loader,
                      int64_t epoch, DType dtype, Device device) {
  return Evaluator(logits_of, dtype, device, false).run(loader, epoch);
}

Evaluator::Evaluator(std::function<Tensor(const Tensor&)> logits_of, DType dtype, Device device, bool graph)
    : logits_of_(std::move(logits_of)),
      loss_(Tensor::zeros(Shape{1}, dtype, device)),
      correct_(Tensor::zeros(Shape{1}, DType::F32, device)),
      graph_on_(graph && device.is_cuda()),
      graph_(device) {}

void Evaluator::add_batch(const data::Batch& b) {
  const Tensor logits = logits_of_(b.images);
  ops::add_(loss_, ops::cross_entropy(logits, b.labels), static_cast<double>(b.labels.numel()));
  ops::add_(correct_, ops::count_correct(logits, b.labels));
}

LossAccuracy Evaluator::run(data::Loader& loader, int64_t epoch) {
  NoGradGuard no_grad;
  loader.restore({epoch, 0});
  loss_.zero_();
  correct_.zero_();
  LossAccuracy r;
  for (int64_t i = 0; i < loader.batches_per_epoch(); ++i) {
    const data::Batch batch = loader.next_batch();
    if (graph_on_) {
      const data::Batch b = input_.stage(batch, graph_);
      graph_.run("evaluation of " + b.images.shape().str(), [&] { add_batch(b); });
    } else {
      add_batch(batch);
    }
    r.count += batch.labels.numel();
  }
  if (r.count > 0) {
    r.loss = loss_.item() / static_cast<double>(r.count);
    r.accuracy = correct_.item() / static_cast<double>(r.count);
  }
  return r;
}

}  // namespace bnas::nas
