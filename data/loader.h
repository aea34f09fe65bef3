// Loaders: batches of (images float [B, C, H, W], labels int32 [B]) on a device, epoch after
// epoch, with a persistent position so that a checkpoint can resume the exact data order.
//
// Epoch bookkeeping (EpochCursor, shared by both loaders): the epoch's order is the loader's
// index list, shuffled by epoch_order(seed, epoch) when shuffle is on, then sharded by rank
// (dataset.h). Batches walk that order; with drop_last a final partial batch is skipped,
// without it the final batch is smaller. After the last batch of an epoch the next call starts
// the next epoch. state() = {epoch, position}: position is how many samples of this rank's
// epoch order were already delivered; restore(state) continues from there.
//
// DeviceLoader (CIFAR, MNIST family): the whole uint8 dataset is uploaded once (DeviceImageSet,
// shareable by several loaders, e.g. the search's two halves); the epoch's index order is
// uploaded once per epoch; a batch is one kernel launch (gather + crop/flip/cutout/normalise +
// label gather) with no host work per step on a GPU, and the same math in an OpenMP loop on
// the CPU.
//
// DecodeLoader (ImageNet folders and packs): a pool of worker threads, each building whole
// batches (read, decode, resample/jitter/normalise into a host slot), `prefetch` slots ahead of
// the consumer. On a GPU the slots are pinned (cudaHostAlloc) and copied with cudaMemcpyAsync
// on the engine stream; a slot is refilled only after its copy's event has completed. Batches
// are delivered in order and are bit-identical whatever the number of workers.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "data/augment.h"
#include "data/dataset.h"
#include "data/encoded_source.h"
#include "engine/tensor.h"

namespace bnas::data {

struct Batch {
  Tensor images;  // float [B, C, H, W]
  Tensor labels;  // int32 [B]
};

struct LoaderState {
  int64_t epoch = 0;
  int64_t position = 0;  // samples of this rank's epoch order already delivered
};

struct LoaderOptions {
  int batch_size = 64;
  bool shuffle = true;
  bool drop_last = false;
  uint64_t seed = 0;
  int rank = 0, world_size = 1;
  Device device = Device::cpu();
};

// Epoch, position and the per-epoch order of one loader.
class EpochCursor {
 public:
  EpochCursor(std::vector<int32_t> indices, const LoaderOptions& options);
  int64_t samples_per_epoch() const { return per_epoch_; }
  int64_t batches_per_epoch() const;
  // This rank's order for an epoch.
  std::vector<int32_t> order(int64_t epoch) const;
  // Where the next batch starts and how many samples it has; rolls over to the next epoch.
  void next(int64_t* epoch, int64_t* position, int64_t* count);
  LoaderState state() const { return state_; }
  void restore(const LoaderState& s);

 private:
  std::vector<int32_t> indices_;
  LoaderOptions options_;
  int64_t per_epoch_;
  LoaderState state_;
};

class Loader {
 public:
  virtual ~Loader() = default;
  virtual Batch next_batch() = 0;
  virtual LoaderState state() const = 0;
  virtual void restore(const LoaderState& s) = 0;
  virtual int64_t batches_per_epoch() const = 0;
  virtual int64_t samples_per_epoch() const = 0;
};

struct DeviceImageSet {
  Tensor images;  // uint8 [N, C, H, W]
  Tensor labels;  // int32 [N]
  int c = 0, h = 0, w = 0, num_classes = 0;
};
std::shared_ptr<const DeviceImageSet> upload(const ImageSet& set, Device device);

class DeviceLoader : public Loader {
 public:
  // indices: which images of `data` this loader walks (e.g. split_range(n, 0, 0.5)).
  DeviceLoader(std::shared_ptr<const DeviceImageSet> data, std::vector<int32_t> indices,
               const CropAugment& augment, const LoaderOptions& options);
  Batch next_batch() override;
  LoaderState state() const override { return cursor_.state(); }
  void restore(const LoaderState& s) override { cursor_.restore(s); }
  int64_t batches_per_epoch() const override { return cursor_.batches_per_epoch(); }
  int64_t samples_per_epoch() const override { return cursor_.samples_per_epoch(); }

 private:
  std::shared_ptr<const DeviceImageSet> data_;
  CropAugment augment_;
  LoaderOptions options_;
  EpochCursor cursor_;
  int64_t order_epoch_ = -1;
  Tensor order_;  // int32 [samples_per_epoch] on the device: this rank's order for order_epoch_
};

class DecodeLoader : public Loader {
 public:
  // indices: which records of `source` (all when empty). workers 0: hardware threads.
  DecodeLoader(std::shared_ptr<const EncodedSource> source, std::vector<int32_t> indices,
               const ImageAugment& augment, const LoaderOptions& options, int workers = 0,
               int prefetch = 0);
  ~DecodeLoader() override;
  Batch next_batch() override;
  LoaderState state() const override;
  void restore(const LoaderState& s) override;
  int64_t batches_per_epoch() const override { return cursor_.batches_per_epoch(); }
  int64_t samples_per_epoch() const override { return cursor_.samples_per_epoch(); }

 private:
  struct Slot;
  struct Job {
    int64_t seq, epoch, position, count;
  };
  void start();
  void stop();
  void work();
  void fill(Slot& slot, const Job& job);
  std::shared_ptr<const std::vector<int32_t>> order_for(int64_t epoch);  // under mu_

  std::shared_ptr<const EncodedSource> source_;
  ImageAugment augment_;
  LoaderOptions options_;
  EpochCursor cursor_;
  int workers_, prefetch_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  EpochCursor jobs_;        // the workers' cursor, ahead of cursor_ (the consumer's)
  int64_t next_seq_ = 0;    // sequence number of the next job a worker takes
  int64_t consumed_ = 0;    // sequence number of the next batch the consumer returns
  std::vector<std::pair<int64_t, std::shared_ptr<const std::vector<int32_t>>>> orders_;  // epoch cache
};

}  // namespace bnas::data
