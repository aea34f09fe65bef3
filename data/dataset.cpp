// ImageSet checks and index lists (see dataset.h).
#include "data/dataset.h"

#include "engine/check.h"
#include "engine/rng.h"

namespace bnas::data {

std::vector<int64_t> ImageSet::class_counts() const {
  std::vector<int64_t> counts(static_cast<size_t>(num_classes), 0);
  for (int32_t l : labels) ++counts[static_cast<size_t>(l)];
  return counts;
}

void ImageSet::validate(const std::string& what) const {
  BNAS_CHECK(c > 0 && h > 0 && w > 0, what, " has an empty image shape ", c, "x", h, "x", w, ".");
  BNAS_CHECK(static_cast<int64_t>(pixels.size()) == n * image_bytes(),
             what, " holds ", pixels.size(), " pixel bytes but ", n, " images of ", c, "x", h, "x", w,
             " need ", n * image_bytes(), ".");
  BNAS_CHECK(static_cast<int64_t>(labels.size()) == n, what, " holds ", labels.size(),
             " labels for ", n, " images.");
  BNAS_CHECK(num_classes > 0, what, " has no classes.");
  for (int64_t i = 0; i < n; ++i)
    BNAS_CHECK(labels[i] >= 0 && labels[i] < num_classes, what, ": label ", labels[i], " of image ",
               i, " is outside [0, ", num_classes, ").");
}

void append(ImageSet& a, const ImageSet& b) {
  if (a.n == 0 && a.pixels.empty()) {
    a = b;
    return;
  }
  BNAS_CHECK(a.c == b.c && a.h == b.h && a.w == b.w && a.num_classes == b.num_classes,
             "cannot join datasets of ", a.c, "x", a.h, "x", a.w, " images in ", a.num_classes,
             " classes and ", b.c, "x", b.h, "x", b.w, " images in ", b.num_classes, " classes.");
  a.pixels.insert(a.pixels.end(), b.pixels.begin(), b.pixels.end());
  a.labels.insert(a.labels.end(), b.labels.begin(), b.labels.end());
  a.n += b.n;
}

std::vector<int32_t> split_range(int64_t n, double begin, double end) {
  BNAS_CHECK(0 <= begin && begin <= end && end <= 1, "a split range must satisfy 0 <= begin <= end <= 1, got [",
             begin, ", ", end, ").");
  const auto b = static_cast<int64_t>(begin * n), e = static_cast<int64_t>(end * n);
  std::vector<int32_t> idx;
  idx.reserve(static_cast<size_t>(e - b));
  for (int64_t i = b; i < e; ++i) idx.push_back(static_cast<int32_t>(i));
  return idx;
}

std::vector<int32_t> epoch_order(const std::vector<int32_t>& indices, uint64_t seed, int64_t epoch) {
  BNAS_CHECK(epoch >= 0, "the epoch must be >= 0, got ", epoch, ".");
  Generator g(seed, RngStream::DataOrder);
  g.set_offset(static_cast<uint64_t>(epoch) << 32);  // 2^34 draws per epoch before any overlap
  const std::vector<uint32_t> perm = g.permutation(static_cast<uint32_t>(indices.size()));
  std::vector<int32_t> order(indices.size());
  for (size_t i = 0; i < perm.size(); ++i) order[i] = indices[perm[i]];
  return order;
}

std::vector<int32_t> shard(const std::vector<int32_t>& order, int rank, int world_size) {
  BNAS_CHECK(world_size >= 1 && rank >= 0 && rank < world_size, "rank ", rank,
             " is outside a world of ", world_size, " processes.");
  const size_t per_rank = order.size() / static_cast<size_t>(world_size);
  std::vector<int32_t> mine(per_rank);
  for (size_t i = 0; i < per_rank; ++i) mine[i] = order[i * world_size + rank];
  return mine;
}

}  // namespace bnas::data
