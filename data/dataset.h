// In-memory image datasets and the index arithmetic on them. An ImageSet holds a whole small
// dataset as uint8 [N, C, H, W] pixels plus int32 [N] labels on the host, the form every reader
// of a small format (CIFAR, IDX) produces and the form the loader uploads to the device once.
// Subsets, train/validation splits, epoch shuffles and per-rank shards are index lists into
// it (no pixel copies), so the search's two halves of CIFAR-10 share one device copy.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace bnas::data {

struct ImageSet {
  int64_t n = 0;
  int c = 0, h = 0, w = 0;
  int num_classes = 0;
  std::vector<std::string> class_names;  // may be empty (then classes are 0..num_classes-1)
  std::vector<uint8_t> pixels;           // [n, c, h, w]
  std::vector<int32_t> labels;           // [n], each in [0, num_classes)

  int64_t image_bytes() const { return static_cast<int64_t>(c) * h * w; }
  const uint8_t* image(int64_t i) const { return pixels.data() + i * image_bytes(); }
  // Images per class (length num_classes).
  std::vector<int64_t> class_counts() const;
  // Throws bnas::Error unless sizes agree and every label is in range; `what` names the source.
  void validate(const std::string& what) const;
};

// Appends b to a (same image shape and class count), e.g. the five CIFAR-10 training batches.
void append(ImageSet& a, const ImageSet& b);

// Indices [begin, end) of n items as fractions of n (floor): split_range(50000, 0, 0.5) is the
// search's first half, split_range(50000, 0.5, 1) its second half.
std::vector<int32_t> split_range(int64_t n, double begin, double end);

// The order of `indices` for one epoch: a Fisher-Yates permutation from the DataOrder stream of
// `seed`, at a Philox offset fixed by the epoch, so epoch e's order depends on (seed, e) only.
std::vector<int32_t> epoch_order(const std::vector<int32_t>& indices, uint64_t seed, int64_t epoch);

// Rank `rank`'s share of an epoch order: positions rank, rank + world, ... of the first
// floor(n / world) * world items, so every rank gets the same number of items.
std::vector<int32_t> shard(const std::vector<int32_t>& order, int rank, int world_size);

}  // namespace bnas::data
