// Synthetic data and helpers shared by the search tests.
#pragma once
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/loader.h"
#include "engine/rng.h"
#include "nas/search.h"
#include "tiny_supernet.h"

namespace bnas::nas::testing {

// n images of 3 x size x size in `classes` classes: class k brightens channel k % 3 in one of four
// quadrants (k / 3 % 4), over uniform noise; learnable in a few dozen steps.
inline data::ImageSet synthetic_set(int n, int classes, int size, uint64_t seed) {
  data::ImageSet s;
  s.n = n, s.c = 3, s.h = size, s.w = size, s.num_classes = classes;
  Generator g(seed, RngStream::Test);
  const std::vector<float> u = g.uniform(static_cast<uint64_t>(n) * 3 * size * size);
  s.pixels.resize(u.size());
  s.labels.resize(n);
  const int half = size / 2;
  for (int i = 0; i < n; ++i) {
    const int k = i % classes;
    s.labels[i] = k;
    const int ch = k % 3, q = (k / 3) % 4;
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < size; ++y)
        for (int x = 0; x < size; ++x) {
          const size_t idx = ((static_cast<size_t>(i) * 3 + c) * size + y) * size + x;
          float v = 100.0f * u[idx];
          const bool in_q = (y < half) == (q < 2) && (x < half) == (q % 2 == 0);
          if (c == ch && in_q) v += 150.0f;
          s.pixels[idx] = static_cast<uint8_t>(v);
        }
  }
  return s;
}

// The three loaders of a search over one synthetic set split in half, yielding batches on `device`.
struct SearchLoaders {
  std::unique_ptr<data::DeviceLoader> train, valid, valid_eval;
  SearchData data() const { return {train.get(), valid.get(), valid_eval.get()}; }
};

inline SearchLoaders make_loaders(const data::ImageSet& set, int batch, uint64_t seed, Device device = Device::cpu()) {
  auto dev = data::upload(set, device);
  data::CropAugment aug;
  aug.mean = {0.3f, 0.3f, 0.3f};
  aug.std = {0.3f, 0.3f, 0.3f};
  data::LoaderOptions lo;
  lo.batch_size = batch;
  lo.shuffle = true;
  lo.drop_last = true;
  lo.seed = seed;
  lo.device = device;
  SearchLoaders l;
  l.train = std::make_unique<data::DeviceLoader>(dev, data::split_range(set.n, 0, 0.5), aug, lo);
  lo.seed = seed + 1;
  l.valid = std::make_unique<data::DeviceLoader>(dev, data::split_range(set.n, 0.5, 1), aug, lo);
  lo.shuffle = false;
  lo.drop_last = false;
  l.valid_eval = std::make_unique<data::DeviceLoader>(dev, data::split_range(set.n, 0.5, 1), aug, lo);
  return l;
}

// The networks the loop tests search: the TinySupernet (tiny_supernet.h: unfused edges, the
// model of the golden test) and a small real BroadSupernet (nas/broad_network.h: the fused mixed
// edge; two convolution cells, both broad, and one enhancement cell).
enum class Supernet { kTiny, kBroad };

inline const char* supernet_name(Supernet kind) { return kind == Supernet::kTiny ? "Tiny" : "Broad"; }
// gtest prints a test's parameter with PrintTo and names the instances of a test parametrized by
// the network with SupernetName.
inline void PrintTo(Supernet kind, std::ostream* os) { *os << supernet_name(kind); }
struct SupernetName {
  template <class ParamInfo>
  std::string operator()(const ParamInfo& info) const { return supernet_name(info.param); }
};

// That network for the 4 classes of synthetic_set's 3 x size x size images (the TinySupernet
// takes any size), with the config's C, K, edge normalisation and seed, on the CPU.
inline std::unique_ptr<SearchModel> make_supernet(Supernet kind, const SearchConfig& c, int size,
                                                  DType dtype = DType::F32) {
  if (kind == Supernet::kBroad)
    return std::make_unique<BroadSupernet>(supernet_config(c, 4, 3, size, Device::cpu(), dtype));
  TinySupernetOptions o;
  o.channels = c.channels, o.classes = 4, o.seed = c.seed, o.pc_k = c.pc_k, o.edge_norm = c.edge_norm;
  o.dtype = dtype;
  return std::make_unique<TinySupernet>(o);
}

// The search settings of the loop tests: C = 4, weight lr 0.05 -> 0.001, no progress points.
inline SearchConfig small_search(int epochs, int batch, double arch_lr) {
  SearchConfig c = SearchConfig::preset_config("bnas-d");  // full channels, no warm-up of alpha
  c.channels = 4;
  c.epochs = epochs;
  c.batch = batch;
  c.lr = 0.05;
  c.lr_min = 0.001;
  c.arch_lr = arch_lr;
  c.log_interval = 0;
  return c;
}

inline std::vector<double> flat(const NamedTensors& ts) {
  std::vector<double> out;
  for (const auto& [n, t] : ts) {
    const auto v = t.to_doubles();
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

}  // namespace bnas::nas::testing
