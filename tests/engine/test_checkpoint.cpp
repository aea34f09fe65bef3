// safetensors checkpoints: round trip, atomic replace, and errors that name what differs.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "engine/checkpoint.h"
#include "tests/error_of.h"

namespace bnas {
namespace {
namespace fs = std::filesystem;

std::string temp_path(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("bnas_ckpt_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return (dir / name).string();
}

std::string read_all(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

using bnas::testing::error_of;

TEST(Checkpoint, RoundTripKeepsNamesShapesDtypesAndMetadata) {
  const std::string p = temp_path("rt.safetensors");
  Tensor a = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = Tensor::from_vector({0.25}, {1}, DType::F64);
  Tensor c = Tensor::from_ints({7, 8}, {2});
  save_safetensors(p, {{"conv.weight", a}, {"alpha", b}, {"labels", c}}, {{"epoch", "3"}});
  SafetensorsFile f = load_safetensors(p);
  EXPECT_EQ(f.metadata.at("epoch"), "3");
  EXPECT_EQ(f.tensors.at("conv.weight").shape(), (Shape{2, 3}));
  EXPECT_EQ(f.tensors.at("conv.weight").to_doubles(), a.to_doubles());
  EXPECT_EQ(f.tensors.at("alpha").dtype(), DType::F64);
  EXPECT_EQ(f.tensors.at("labels").to_ints(), (std::vector<int32_t>{7, 8}));
  // The header is padded to a multiple of 8 (alignment of the data section).
  const std::string bytes = read_all(p);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  EXPECT_EQ(n % 8, 0u);

  Tensor a2 = Tensor::zeros({2, 3}), b2 = Tensor::zeros({1}, DType::F64), c2 = Tensor::zeros({2}, DType::I32);
  load_into(p, {{"conv.weight", a2}, {"alpha", b2}, {"labels", c2}});
  EXPECT_EQ(a2.to_doubles(), a.to_doubles());
  EXPECT_EQ(c2.to_ints(), c.to_ints());
}

TEST(Checkpoint, LoadIntoNamesTheFirstDifferenceAndChangesNothing) {
  const std::string p = temp_path("diff.safetensors");
  save_safetensors(p, {{"w", Tensor::full({2, 2}, 1.0)}, {"v", Tensor::full({3}, 1.0)}});
  Tensor w = Tensor::zeros({2, 2}), v_bad = Tensor::zeros({4});
  EXPECT_NE(error_of([&] { load_into(p, {{"w", w}, {"v", v_bad}}); }).find("'v' has shape [3] but [4] is expected"),
            std::string::npos);
  EXPECT_EQ(w.to_doubles(), std::vector<double>(4, 0.0));  // untouched
  Tensor v64 = Tensor::zeros({3}, DType::F64);
  EXPECT_NE(error_of([&] { load_into(p, {{"w", w}, {"v", v64}}); }).find("dtype F32 but F64"), std::string::npos);
  EXPECT_NE(error_of([&] { load_into(p, {{"w", w}}); }).find("holds tensor 'v'"), std::string::npos);
  Tensor u = Tensor::zeros({1});
  EXPECT_NE(error_of([&] { load_into(p, {{"w", w}, {"v", Tensor::zeros({3})}, {"u", u}}); }).find("no tensor named 'u'"),
            std::string::npos);
}

TEST(Checkpoint, CorruptAndTruncatedFilesGiveClearErrors) {
  const std::string p = temp_path("bad.safetensors");
  EXPECT_NE(error_of([&] { load_safetensors(temp_path("missing.safetensors")); }).find("cannot open"), std::string::npos);
  std::ofstream(p, std::ios::binary) << "abc";
  EXPECT_NE(error_of([&] { load_safetensors(p); }).find("only 3 bytes"), std::string::npos);
  std::ofstream(p, std::ios::binary) << std::string("\x10\0\0\0\0\0\0\0", 8) << "not json at all!";
  EXPECT_NE(error_of([&] { load_safetensors(p); }).find("corrupt safetensors header"), std::string::npos);
  save_safetensors(p, {{"w", Tensor::full({64}, 1.0)}});
  const std::string good = read_all(p);
  std::ofstream(p, std::ios::binary) << good.substr(0, good.size() - 10);
  EXPECT_NE(error_of([&] { load_safetensors(p); }).find("past the end of the file"), std::string::npos);
}

TEST(Checkpoint, FailedWriteLeavesTheOldFileIntact) {
  const std::string p = temp_path("keep.safetensors");
  save_safetensors(p, {{"w", Tensor::full({2}, 5.0)}});
  const std::string before = read_all(p);
  // A duplicate name is rejected before anything is written.
  EXPECT_THROW(save_safetensors(p, {{"w", Tensor::zeros({2})}, {"w", Tensor::zeros({2})}}), Error);
  EXPECT_EQ(read_all(p), before);
  // An unwritable destination folder fails cleanly.
  EXPECT_THROW(save_safetensors("/nonexistent-dir/x.safetensors", {{"w", Tensor::zeros({1})}}), Error);
  // No temporary files are left behind.
  int files = 0;
  for (const auto& e : fs::directory_iterator(fs::path(p).parent_path()))
    files += e.path().string().find(".tmp.") != std::string::npos;
  EXPECT_EQ(files, 0);
}

}  // namespace
}  // namespace bnas
