// Data pipeline throughput, images per second, one line per configuration as key=value pairs
// (or a JSON array with --json):
//   device_pipeline  CIFAR-format uint8 set resident on the GPU, gather + crop/flip/cutout/
//                    normalise by one kernel per batch (only when a GPU is present)
//   cpu_pipeline     the same DeviceLoader on the CPU backend (OpenMP loop)
//   decode_folder    DecodeLoader over an image folder of JPEGs written here with stb
//                    (read + decode + random-resized-crop 224 + flip + jitter + normalise)
//   decode_pack      the same JPEGs packed into shards
// Keys: config, device (where batches land), batch, workers (decode threads; 0 for the kernel
// pipelines), images (timed), seconds, images_per_s.
//   bnas_bench_data [--json] [--images N] [--batch B] [--jpegs N] [--workers W]
#include <stb_image_write.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "data/loader.h"
#include "data/pack.h"
#include "engine/device.h"
#include "tools/bench_util.h"

namespace {
namespace fs = std::filesystem;
using bnas::data::Batch;

struct Result {
  std::string config, device;
  int batch = 0, workers = 0;
  int64_t images = 0;
  double seconds = 0;
};

// Times `batches` calls after one warm-up batch; synchronises the device at both ends.
Result time_loader(bnas::data::Loader& loader, int batches, const std::string& config, bnas::Device device) {
  loader.next_batch();
  bnas::synchronize(device);
  const auto t0 = std::chrono::steady_clock::now();
  int64_t images = 0;
  for (int i = 0; i < batches; ++i) images += loader.next_batch().images.size(0);
  bnas::synchronize(device);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return {config, device.str(), 0, 0, images, s};
}

bnas::data::ImageSet synthetic_cifar(int n) {
  bnas::data::ImageSet set;
  set.n = n;
  set.c = 3;
  set.h = set.w = 32;
  set.num_classes = 10;
  set.pixels.resize(static_cast<size_t>(n) * 3072);
  uint32_t x = 1;
  for (uint8_t& p : set.pixels) p = static_cast<uint8_t>((x = x * 1664525u + 1013904223u) >> 24);
  for (int i = 0; i < n; ++i) set.labels.push_back(i % 10);
  return set;
}

void append(void* ctx, void* data, int n) {
  auto* v = static_cast<std::vector<uint8_t>*>(ctx);
  v->insert(v->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + n);
}

// n JPEGs of 500 x 375 (ImageNet's typical size) in 4 class folders.
void write_jpegs(const fs::path& root, int n) {
  const int w = 500, h = 375;
  std::vector<uint8_t> rgb(static_cast<size_t>(w) * h * 3);
  for (int i = 0; i < n; ++i) {
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        for (int c = 0; c < 3; ++c)
          rgb[(static_cast<size_t>(y) * w + x) * 3 + c] = static_cast<uint8_t>((x * (c + 1) + y * (i % 7 + 1) + ((x * y) >> 6)) & 255);
    std::vector<uint8_t> jpg;
    stbi_write_jpg_to_func(append, &jpg, w, h, 3, rgb.data(), 90);
    const fs::path dir = root / ("class_" + std::to_string(i % 4));
    fs::create_directories(dir);
    std::ofstream(dir / ("img_" + std::to_string(i) + ".JPEG"), std::ios::binary)
        .write(reinterpret_cast<const char*>(jpg.data()), static_cast<std::streamsize>(jpg.size()));
  }
}
}  // namespace

int main(int argc, char** argv) {
  bool json = false;
  bnas::bench::Args args("bnas_bench_data", "data pipeline throughput in images/s", &json);
  int images = 50000, batch = 256, jpegs = 512, workers = 0;
  args.app.add_option("--images", images, "size of the synthetic CIFAR-format set")->check(CLI::Range(256, 1 << 24));
  args.app.add_option("--batch", batch, "batch size")->check(CLI::Range(1, 65535));
  args.app.add_option("--jpegs", jpegs, "JPEGs written for the decode benchmarks")->check(CLI::Range(1, 1 << 20));
  args.app.add_option("--workers", workers, "decode threads (0: all hardware threads)")->check(CLI::Range(0, 1024));
  if (const int rc = args.parse(argc, argv); rc >= 0) return rc;

  std::vector<Result> results;
  try {
    const bnas::data::ImageSet cifar = synthetic_cifar(images);
    bnas::data::LoaderOptions o;
    o.batch_size = batch;
    o.drop_last = true;
    const auto idx = bnas::data::split_range(images, 0, 1);
    const auto aug = bnas::data::CropAugment::cifar10_train();
    if (bnas::cuda_available()) {
      o.device = bnas::Device::cuda(0);
      bnas::data::DeviceLoader gpu(bnas::data::upload(cifar, o.device), idx, aug, o);
      results.push_back(time_loader(gpu, 3 * static_cast<int>(gpu.batches_per_epoch()), "device_pipeline", o.device));
      results.back().batch = batch;
    }
    o.device = bnas::Device::cpu();
    bnas::data::DeviceLoader cpu(bnas::data::upload(cifar, o.device), idx, aug, o);
    results.push_back(time_loader(cpu, std::max(1, 8192 / batch), "cpu_pipeline", o.device));
    results.back().batch = batch;

    const fs::path tmp = fs::temp_directory_path() / ("bnas_bench_data_" + std::to_string(::getpid()));
    write_jpegs(tmp / "train", jpegs);
    bnas::data::pack_image_folder((tmp / "train").string(), (tmp / "pack").string());
    const int decode_batch = std::min(batch, 64);
    for (const char* source : {"folder", "pack"}) {
      bnas::data::LoaderOptions d;
      d.batch_size = std::min(decode_batch, jpegs);
      d.drop_last = true;
      d.device = bnas::cuda_available() ? bnas::Device::cuda(0) : bnas::Device::cpu();
      bnas::data::DecodeLoader loader(bnas::data::open_encoded((tmp / (source == std::string("folder") ? "train" : "pack")).string()),
                                      {}, bnas::data::ImageAugment::imagenet_train(), d, workers);
      results.push_back(time_loader(loader, 2 * static_cast<int>(loader.batches_per_epoch()),
                                    std::string("decode_") + source, d.device));
      results.back().batch = d.batch_size;
      results.back().workers = workers > 0 ? workers : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    }
    fs::remove_all(tmp);
  } catch (const bnas::Error& e) {
    std::fprintf(stderr, "bnas_bench_data: %s\n", e.what());
    return 1;
  }

  if (json) std::printf("[");
  for (size_t i = 0; i < results.size(); ++i) {
    const Result& r = results[i];
    const double rate = r.images / r.seconds;
    if (json) {
      std::printf("%s\n  {\"config\": \"%s\", \"device\": \"%s\", \"batch\": %d, \"workers\": %d, \"images\": %lld, "
                  "\"seconds\": %.4f, \"images_per_s\": %.1f}",
                  i ? "," : "", r.config.c_str(), r.device.c_str(), r.batch, r.workers,
                  static_cast<long long>(r.images), r.seconds, rate);
    } else {
      std::printf("config=%s device=%s batch=%d workers=%d images=%lld seconds=%.4f images_per_s=%.1f\n", r.config.c_str(),
                  r.device.c_str(), r.batch, r.workers, static_cast<long long>(r.images), r.seconds, rate);
    }
  }
  if (json) std::printf("\n]\n");
  return 0;
}
