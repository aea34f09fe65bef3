// EpochCursor, DeviceLoader and DecodeLoader (design in loader.h).
#include "data/loader.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "data/image.h"
#include "engine/check.h"
#include "kernels/augment.h"
#if BNAS_WITH_CUDA
#include "engine/cuda_check.h"
#include "engine/cuda_context.h"
#include "kernels/cuda/augment.cuh"
#endif

namespace bnas::data {

// ---------------------------------------------------------------------------------------------
// EpochCursor

EpochCursor::EpochCursor(std::vector<int32_t> indices, const LoaderOptions& options)
    : indices_(std::move(indices)), options_(options) {
  BNAS_CHECK(options.batch_size >= 1, "the batch size must be >= 1, got ", options.batch_size, ".");
  per_epoch_ = static_cast<int64_t>(shard(std::vector<int32_t>(indices_.size()), options.rank, options.world_size).size());
  BNAS_CHECK(batches_per_epoch() > 0, "a loader over ", indices_.size(), " samples shared by ", options.world_size,
             " ranks gives no ", options.drop_last ? "full " : "", "batch of ", options.batch_size, ".");
}

int64_t EpochCursor::batches_per_epoch() const {
  const int64_t b = options_.batch_size;
  return options_.drop_last ? per_epoch_ / b : (per_epoch_ + b - 1) / b;
}

std::vector<int32_t> EpochCursor::order(int64_t epoch) const {
  return shard(options_.shuffle ? epoch_order(indices_, options_.seed, epoch) : indices_, options_.rank,
               options_.world_size);
}

void EpochCursor::next(int64_t* epoch, int64_t* position, int64_t* count) {
  const int64_t b = options_.batch_size;
  const int64_t left = per_epoch_ - state_.position;
  if (left <= 0 || (options_.drop_last && left < b)) state_ = {state_.epoch + 1, 0};
  *epoch = state_.epoch;
  *position = state_.position;
  *count = std::min(b, per_epoch_ - state_.position);
  state_.position += *count;
}

void EpochCursor::restore(const LoaderState& s) {
  BNAS_CHECK(s.epoch >= 0 && s.position >= 0 && s.position <= per_epoch_, "loader state {epoch ", s.epoch,
             ", position ", s.position, "} does not fit an epoch of ", per_epoch_, " samples.");
  state_ = s;
}

// ---------------------------------------------------------------------------------------------
// DeviceLoader

std::shared_ptr<const DeviceImageSet> upload(const ImageSet& set, Device device) {
  set.validate("the dataset");
  auto d = std::make_shared<DeviceImageSet>();
  d->images = Tensor::empty(Shape{set.n, set.c, set.h, set.w}, DType::U8, Device::cpu());
  std::memcpy(d->images.data<uint8_t>(), set.pixels.data(), set.pixels.size());
  d->images = d->images.to(device);
  d->labels = Tensor::from_ints(set.labels, Shape{set.n}, device);
  d->c = set.c;
  d->h = set.h;
  d->w = set.w;
  d->num_classes = set.num_classes;
  return d;
}

DeviceLoader::DeviceLoader(std::shared_ptr<const DeviceImageSet> data, std::vector<int32_t> indices,
                           const CropAugment& augment, const LoaderOptions& options)
    : data_(std::move(data)), augment_(augment), options_(options), cursor_(std::move(indices), options) {
  const int64_t n = data_->images.size(0);
  for (int32_t i : cursor_.order(0))
    BNAS_CHECK(i >= 0 && i < n, "loader index ", i, " is outside a dataset of ", n, " images.");
  BNAS_CHECK(data_->images.device() == options.device, "the dataset lives on ", data_->images.device().str(),
             " but the loader was asked for ", options.device.str(), ".");
  crop_params(augment_, data_->c, data_->h, data_->w, {});  // validates the settings now
}

Batch DeviceLoader::next_batch() {
  int64_t epoch, position, count;
  cursor_.next(&epoch, &position, &count);
  if (epoch != order_epoch_) {  // one host-to-device copy per epoch
    const std::vector<int32_t> order = cursor_.order(epoch);
    order_ = Tensor::from_ints(order, Shape{static_cast<int64_t>(order.size())}, options_.device);
    order_epoch_ = epoch;
  }
  const kernels::CropFlipCutout p = crop_params(augment_, data_->c, data_->h, data_->w,
                                                augment_range(options_.seed, epoch, position, kernels::CropFlipCutout::kLanes));
  Batch b{Tensor::empty(Shape{count, p.c, p.out_h, p.out_w}, DType::F32, options_.device),
          Tensor::empty(Shape{count}, DType::I32, options_.device)};
  const int32_t* idx = order_.data<int32_t>() + position;
  if (options_.device.is_cuda()) {
#if BNAS_WITH_CUDA
    set_cuda_device(options_.device);
    kernels::cuda::augment_batch(data_->images.data<uint8_t>(), data_->labels.data<int32_t>(), idx, count, p,
                                 b.images.data<float>(), b.labels.data<int32_t>(), cuda_stream(options_.device));
#endif
  } else {
    kernels::cpu::augment_batch(data_->images.data<uint8_t>(), data_->labels.data<int32_t>(), idx, count, p,
                                b.images.data<float>(), b.labels.data<int32_t>());
  }
  return b;
}

// ---------------------------------------------------------------------------------------------
// DecodeLoader

struct DecodeLoader::Slot {
  Device device;
  size_t image_floats = 0;
  float* host = nullptr;  // images float [B, 3, S, S] then labels int32 [B]; pinned on a GPU
  Job job{-1, 0, 0, 0};
  bool ready = false;
  std::exception_ptr error;
#if BNAS_WITH_CUDA
  cudaEvent_t copied = nullptr;  // recorded after the slot's last device copy
#endif

  Slot(Device d, int batch, int size) : device(d), image_floats(static_cast<size_t>(batch) * 3 * size * size) {
    const size_t bytes = image_floats * sizeof(float) + static_cast<size_t>(batch) * sizeof(int32_t);
#if BNAS_WITH_CUDA
    if (device.is_cuda()) {
      set_cuda_device(device);
      CUDA_CHECK(cudaHostAlloc(reinterpret_cast<void**>(&host), bytes, cudaHostAllocDefault));
      const cudaError_t err = cudaEventCreateWithFlags(&copied, cudaEventDisableTiming);
      if (err != cudaSuccess) {  // the destructor does not run for a constructor that throws
        CUDA_CHECK_CLEANUP(cudaFreeHost(host));
        CUDA_CHECK(err);
      }
      return;
    }
#endif
    host = static_cast<float*>(std::malloc(bytes));
    BNAS_CHECK(host != nullptr, "cannot allocate ", bytes, " bytes for a prefetch buffer.");
  }
  ~Slot() {  // must not throw: a failing cleanup call is said on stderr (once per call)
#if BNAS_WITH_CUDA
    if (device.is_cuda()) {
      // The pinned buffer may still be read by the last copy out of it: wait before freeing.
      if (copied) CUDA_CHECK_CLEANUP(cudaEventSynchronize(copied));
      if (copied) CUDA_CHECK_CLEANUP(cudaEventDestroy(copied));
      if (host) CUDA_CHECK_CLEANUP(cudaFreeHost(host));
      return;
    }
#endif
    std::free(host);
  }
  int32_t* labels() const { return reinterpret_cast<int32_t*>(host + image_floats); }
  // Blocks until the previous device copy out of this slot has finished.
  void wait_copied() const {
#if BNAS_WITH_CUDA
    if (device.is_cuda()) CUDA_CHECK(cudaEventSynchronize(copied));
#endif
  }
};

DecodeLoader::DecodeLoader(std::shared_ptr<const EncodedSource> source, std::vector<int32_t> indices,
                           const ImageAugment& augment, const LoaderOptions& options, int workers, int prefetch)
    : source_(std::move(source)),
      augment_(augment),
      options_(options),
      cursor_([&] {
        if (indices.empty())
          for (size_t i = 0; i < source_->size(); ++i) indices.push_back(static_cast<int32_t>(i));
        for (int32_t i : indices)
          BNAS_CHECK(i >= 0 && static_cast<size_t>(i) < source_->size(), "loader index ", i,
                     " is outside a source of ", source_->size(), " records.");
        return indices;
      }(), options),
      workers_(workers > 0 ? workers : std::max(1u, std::thread::hardware_concurrency())),
      prefetch_(prefetch > 0 ? prefetch : 2 * workers_),
      jobs_(cursor_) {
  resample_params(augment_, {});  // validates the settings now
  for (int i = 0; i < prefetch_; ++i)
    slots_.push_back(std::make_unique<Slot>(options_.device, options_.batch_size, augment_.size));
}

DecodeLoader::~DecodeLoader() { stop(); }

void DecodeLoader::start() {
  jobs_ = cursor_;
  next_seq_ = consumed_ = 0;
  stopping_ = false;
  orders_.clear();
  for (auto& s : slots_) {
    s->job.seq = -1;
    s->ready = false;
    s->error = nullptr;
  }
  for (int i = 0; i < workers_; ++i) threads_.emplace_back([this] { work(); });
}

void DecodeLoader::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

std::shared_ptr<const std::vector<int32_t>> DecodeLoader::order_for(int64_t epoch) {
  for (const auto& [e, order] : orders_)
    if (e == epoch) return order;
  auto order = std::make_shared<const std::vector<int32_t>>(jobs_.order(epoch));  // jobs_ is guarded by mu_
  if (orders_.size() >= 2) orders_.erase(orders_.begin());
  orders_.emplace_back(epoch, order);
  return order;
}

void DecodeLoader::work() {
  for (;;) {
    Job job;
    std::shared_ptr<const std::vector<int32_t>> order;
    Slot* slot;
    {
      std::unique_lock<std::mutex> lock(mu_);
      // Take the next job once its slot's previous batch has been consumed.
      cv_.wait(lock, [&] { return stopping_ || next_seq_ - consumed_ < prefetch_; });
      if (stopping_) return;
      job.seq = next_seq_++;
      jobs_.next(&job.epoch, &job.position, &job.count);
      order = order_for(job.epoch);
      slot = slots_[static_cast<size_t>(job.seq % prefetch_)].get();
    }
    std::exception_ptr error;
    try {
      slot->wait_copied();
      const kernels::ResampleJitter p = resample_params(
          augment_, augment_range(options_.seed, job.epoch, job.position, kernels::ResampleJitter::kLanes));
      const size_t per_image = static_cast<size_t>(3) * p.size * p.size;
      for (int64_t k = 0; k < job.count; ++k) {
        const auto record = static_cast<size_t>((*order)[static_cast<size_t>(job.position + k)]);
        const std::vector<uint8_t> bytes = source_->bytes(record);
        const DecodedImage img = decode_image(bytes.data(), bytes.size(), source_->name(record));
        kernels::cpu::resample_jitter(img.rgb.data(), img.h, img.w, p, k, slot->host + k * per_image);
        slot->labels()[k] = source_->label(record);
      }
    } catch (...) {
      error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      slot->job = job;
      slot->error = error;
      slot->ready = true;
    }
    cv_.notify_all();
  }
}

Batch DecodeLoader::next_batch() {
  if (threads_.empty()) start();
  Slot* slot = slots_[static_cast<size_t>(consumed_ % prefetch_)].get();
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return slot->ready && slot->job.seq == consumed_; });
    if (slot->error) std::rethrow_exception(slot->error);
  }
  const Job& job = slot->job;
  const int s = augment_.size;
  Batch b{Tensor::empty(Shape{job.count, 3, s, s}, DType::F32, options_.device),
          Tensor::empty(Shape{job.count}, DType::I32, options_.device)};
  const size_t image_bytes = static_cast<size_t>(job.count) * 3 * s * s * sizeof(float);
  const size_t label_bytes = static_cast<size_t>(job.count) * sizeof(int32_t);
  if (options_.device.is_cuda()) {
#if BNAS_WITH_CUDA
    set_cuda_device(options_.device);
    const cudaStream_t stream = cuda_stream(options_.device);
    CUDA_CHECK(cudaMemcpyAsync(b.images.raw(), slot->host, image_bytes, cudaMemcpyHostToDevice, stream));
    CUDA_CHECK(cudaMemcpyAsync(b.labels.raw(), slot->labels(), label_bytes, cudaMemcpyHostToDevice, stream));
    CUDA_CHECK(cudaEventRecord(slot->copied, stream));
#endif
  } else {
    std::memcpy(b.images.raw(), slot->host, image_bytes);
    std::memcpy(b.labels.raw(), slot->labels(), label_bytes);
  }
  int64_t epoch, position, count;
  cursor_.next(&epoch, &position, &count);
  {
    std::lock_guard<std::mutex> lock(mu_);
    slot->ready = false;
    ++consumed_;
  }
  cv_.notify_all();
  return b;
}

LoaderState DecodeLoader::state() const { return cursor_.state(); }

void DecodeLoader::restore(const LoaderState& s) {
  stop();
  cursor_.restore(s);
}

}  // namespace bnas::data
