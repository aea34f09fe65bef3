// Writes a small seed corpus for every fuzz target into <out>/<target>/: valid CIFAR-10/100
// records, IDX files raw and gzip-compressed, a pack index, PNG and JPEG images (stb).
//   fuzz_seeds <out>
#include <stb_image_write.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "data/pack.h"

namespace {
namespace fs = std::filesystem;

void put(const fs::path& path, const std::vector<uint8_t>& b) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}
std::vector<uint8_t> gzip(const std::vector<uint8_t>& raw) {
  z_stream zs{};
  deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::vector<uint8_t> out(deflateBound(&zs, raw.size()) + 32);
  zs.next_in = const_cast<Bytef*>(raw.data());
  zs.avail_in = static_cast<uInt>(raw.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}
void append(void* ctx, void* data, int n) {
  auto* v = static_cast<std::vector<uint8_t>*>(ctx);
  v->insert(v->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + n);
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_seeds <out dir>\n");
    return 2;
  }
  const fs::path out = argv[1];
  for (int labels = 1; labels <= 2; ++labels) {
    std::vector<uint8_t> rec;
    for (int i = 0; i < 2; ++i) {
      for (int b = 0; b < labels; ++b) rec.push_back(static_cast<uint8_t>(i + b));
      for (int j = 0; j < 3072; ++j) rec.push_back(static_cast<uint8_t>(j * 13 + i));
    }
    put(out / "cifar" / ("seed" + std::to_string(labels)), rec);
  }
  std::vector<uint8_t> images = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 3};
  for (int i = 0; i < 18; ++i) images.push_back(static_cast<uint8_t>(i * 9));
  const std::vector<uint8_t> labels = {0, 0, 8, 1, 0, 0, 0, 2, 3, 7};
  put(out / "idx/images", images);
  put(out / "idx/labels", labels);
  put(out / "idx/images.gz", gzip(images));
  put(out / "idx/labels.gz", gzip(labels));
  bnas::data::PackIndex index;
  index.class_names = {"n01440764", "n01443537"};
  index.shards = {"shard-0123456789abcdef-00000.bin"};
  index.records = {{0, 0, 0, 1000, 0x12345678u}, {0, 1, 1000, 2000, 0x9abcdef0u}};
  put(out / "pack_index/index.bin", bnas::data::serialize_pack_index(index));
  std::vector<uint8_t> rgb(12 * 9 * 3);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>(i * 7);
  std::vector<uint8_t> png, jpg, grey_png;
  stbi_write_png_to_func(append, &png, 9, 12, 3, rgb.data(), 9 * 3);
  stbi_write_png_to_func(append, &grey_png, 9, 4, 1, rgb.data(), 9);
  stbi_write_jpg_to_func(append, &jpg, 9, 12, 3, rgb.data(), 80);
  put(out / "image/seed.png", png);
  put(out / "image/grey.png", grey_png);
  put(out / "image/seed.jpg", jpg);
  return 0;
}
