// Helpers for the data tests: a per-test temporary folder and writers for every input format
// (CIFAR records, IDX raw and gzip, PNG/JPEG through stb_image_write, image folders).
#pragma once
#include <gtest/gtest.h>
#include <stb_image_write.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/check.h"

namespace bnas::data::testing {
namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("bnas_data_" + std::string(info->test_suite_name()) + "_" + info->name() + "_" + std::to_string(::getpid()));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path_, ec);
  }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
};

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

inline std::vector<uint8_t> gzip(const std::vector<uint8_t>& raw) {
  z_stream zs{};
  deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
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

// n CIFAR records; record i has label(s) i % classes and pixel j = (i * 7 + j) % 256.
inline std::vector<uint8_t> cifar_records(int n, int label_bytes, int classes) {
  std::vector<uint8_t> out;
  for (int i = 0; i < n; ++i) {
    for (int b = 0; b < label_bytes; ++b) out.push_back(static_cast<uint8_t>((i + b) % classes));
    for (int j = 0; j < 3072; ++j) out.push_back(static_cast<uint8_t>((i * 7 + j) % 256));
  }
  return out;
}

inline std::vector<uint8_t> idx_bytes(const std::vector<uint32_t>& dims, const std::vector<uint8_t>& values) {
  std::vector<uint8_t> out = {0, 0, 0x08, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(d >> s));
  out.insert(out.end(), values.begin(), values.end());
  return out;
}

// A smooth RGB test image [h, w, 3] whose content depends on `seed`.
inline std::vector<uint8_t> test_rgb(int h, int w, int seed) {
  std::vector<uint8_t> px(static_cast<size_t>(h) * w * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c)
        px[(static_cast<size_t>(y) * w + x) * 3 + c] = static_cast<uint8_t>((x * (c + 1) * 3 + y * 2 + seed * 40) % 256);
  return px;
}

inline void append_bytes(void* ctx, void* data, int size) {
  auto* v = static_cast<std::vector<uint8_t>*>(ctx);
  v->insert(v->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
}
inline std::vector<uint8_t> encode_png(const std::vector<uint8_t>& rgb, int h, int w) {
  std::vector<uint8_t> out;
  stbi_write_png_to_func(append_bytes, &out, w, h, 3, rgb.data(), w * 3);
  return out;
}
inline std::vector<uint8_t> encode_jpeg(const std::vector<uint8_t>& rgb, int h, int w, int quality = 90) {
  std::vector<uint8_t> out;
  stbi_write_jpg_to_func(append_bytes, &out, w, h, 3, rgb.data(), quality);
  return out;
}

// root/<class_k>/img_<i>.{JPEG,png}: `per_class[k]` images of class k, alternating JPEG and PNG.
inline void write_image_folder(const std::string& root, const std::vector<int>& per_class, int h = 24, int w = 20) {
  for (size_t k = 0; k < per_class.size(); ++k) {
    const std::string dir = root + "/class_" + std::to_string(k);
    fs::create_directories(dir);
    for (int i = 0; i < per_class[k]; ++i) {
      const auto rgb = test_rgb(h, w, static_cast<int>(k) * 100 + i);
      if (i % 2 == 0) write_bytes(dir + "/img_" + std::to_string(i) + ".JPEG", encode_jpeg(rgb, h, w));
      else write_bytes(dir + "/img_" + std::to_string(i) + ".png", encode_png(rgb, h, w));
    }
  }
}

// Runs f, expects a bnas::Error whose message contains every fragment.
template <class F>
void expect_error(F&& f, const std::vector<std::string>& fragments) {
  try {
    f();
    ADD_FAILURE() << "expected a bnas::Error mentioning " << fragments.front();
  } catch (const bnas::Error& e) {
    const std::string msg = e.what();
    for (const std::string& frag : fragments) EXPECT_NE(msg.find(frag), std::string::npos) << "message: " << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line expected: " << msg;
  }
}

}  // namespace bnas::data::testing
