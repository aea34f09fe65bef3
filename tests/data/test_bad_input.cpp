// Every bad-input case of the readers: each throws one bnas::Error sentence naming the file and
// the problem, and nothing crashes.
#include <gtest/gtest.h>
#include <unistd.h>

#include "data/cifar.h"
#include "data/file_io.h"
#include "data/idx.h"
#include "data/image.h"
#include "data/image_folder.h"
#include "data/pack.h"
#include "data_fixtures.h"

namespace bnas::data {
namespace {
using namespace testing;

TEST(BadInput, MissingFiles) {
  TempDir dir;
  expect_error([&] { read_cifar10(dir.str(), Split::Test); }, {"test_batch.bin", "does not exist"});
  expect_error([&] { read_cifar100(dir.str(), Split::Train); }, {"train.bin", "does not exist"});
  expect_error([&] { read_mnist(dir.str(), Split::Train); }, {"train-images-idx3-ubyte", "exists"});
  expect_error([&] { read_idx(dir / "nothing"); }, {"nothing", "does not exist"});
  expect_error([&] { PackReader r(dir.str()); }, {"index.bin", "does not exist"});
  expect_error([&] { scan_image_folder(dir / "absent"); }, {"absent", "does not exist"});
}

TEST(BadInput, DirectoryInsteadOfFile) {
  TempDir dir;
  fs::create_directories(dir / "test_batch.bin");
  expect_error([&] { read_cifar10(dir.str(), Split::Test); }, {"test_batch.bin", "is a directory"});
}

TEST(BadInput, CifarTruncatedAndWrongRecordSize) {
  TempDir dir;
  auto bytes = cifar_records(3, 1, 10);
  bytes.resize(bytes.size() - 100);
  write_bytes(dir / "test_batch.bin", bytes);
  expect_error([&] { read_cifar10(dir.str(), Split::Test); }, {"test_batch.bin", "not a whole number", "3073"});
  write_bytes(dir / "test.bin", cifar_records(3, 1, 10));  // CIFAR-10 records in a CIFAR-100 file
  expect_error([&] { read_cifar100(dir.str(), Split::Test); }, {"test.bin", "3074-byte"});
  write_bytes(dir / "test_batch.bin", {});
  expect_error([&] { read_cifar10(dir.str(), Split::Test); }, {"test_batch.bin", "empty"});
}

TEST(BadInput, CifarLabelOutOfRange) {
  TempDir dir;
  auto bytes = cifar_records(3, 1, 10);
  bytes[3073] = 10;  // label of record 1
  write_bytes(dir / "test_batch.bin", bytes);
  expect_error([&] { read_cifar10(dir.str(), Split::Test); }, {"test_batch.bin", "record 1", "label 10"});
  auto c100 = cifar_records(2, 2, 20);
  c100[1] = 100;  // fine label of record 0
  write_bytes(dir / "train.bin", c100);
  expect_error([&] { read_cifar100(dir.str(), Split::Train); }, {"train.bin", "label 100"});
}

TEST(BadInput, IdxMagicTypeAndSizes) {
  TempDir dir;
  auto good = idx_bytes({2, 2, 2}, std::vector<uint8_t>(8, 1));
  auto bad = good;
  bad[0] = 1;
  write_bytes(dir / "a", bad);
  expect_error([&] { read_idx(dir / "a"); }, {dir / "a", "magic number"});
  bad = good;
  bad[2] = 0x0D;  // float elements
  write_bytes(dir / "b", bad);
  expect_error([&] { read_idx(dir / "b"); }, {dir / "b", "element type"});
  bad = good;
  bad.pop_back();
  write_bytes(dir / "c", bad);
  expect_error([&] { read_idx(dir / "c"); }, {dir / "c", "truncated"});
  bad = good;
  bad.push_back(0);
  write_bytes(dir / "d", bad);
  expect_error([&] { read_idx(dir / "d"); }, {dir / "d", "trailing bytes"});
  write_bytes(dir / "e", {0, 0, 8});
  expect_error([&] { read_idx(dir / "e"); }, {dir / "e", "too short"});
  write_bytes(dir / "f", idx_bytes({0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}, {}));
  expect_error([&] { read_idx(dir / "f"); }, {dir / "f", "declares more elements"});
}

TEST(BadInput, IdxGzipTruncatedAndMismatchedPair) {
  TempDir dir;
  auto gz = gzip(idx_bytes({4}, {1, 2, 3, 4}));
  gz.resize(gz.size() / 2);
  write_bytes(dir / "l.gz", gz);
  expect_error([&] { read_idx(dir / "l.gz"); }, {"l.gz", "truncated or corrupt gzip"});
  write_bytes(dir / "train-images-idx3-ubyte", idx_bytes({3, 2, 2}, std::vector<uint8_t>(12)));
  write_bytes(dir / "train-labels-idx1-ubyte", idx_bytes({2}, {0, 1}));
  expect_error([&] { read_mnist(dir.str(), Split::Train); }, {"3 images", "2 labels"});
  write_bytes(dir / "train-labels-idx1-ubyte", idx_bytes({3}, {0, 1, 10}));
  expect_error([&] { read_mnist(dir.str(), Split::Train); }, {"train-labels-idx1-ubyte", "label 10"});
  write_bytes(dir / "train-labels-idx1-ubyte", idx_bytes({3, 1}, {0, 1, 2}));
  expect_error([&] { read_mnist(dir.str(), Split::Train); }, {"train-labels-idx1-ubyte", "2 dimensions"});
}

TEST(BadInput, CorruptImages) {
  const auto png = encode_png(test_rgb(8, 8, 0), 8, 8);
  const std::vector<uint8_t> text = {'n', 'o', 't', ' ', 'a', 'n', ' ', 'i', 'm', 'a', 'g', 'e'};
  expect_error([&] { decode_image(text.data(), text.size(), "x.JPEG"); }, {"x.JPEG", "not a readable image"});
  std::vector<uint8_t> cut(png.begin(), png.begin() + static_cast<long>(png.size() / 2));
  expect_error([&] { decode_image(cut.data(), cut.size(), "y.png"); }, {"y.png", "could not be decoded"});
  expect_error([&] { decode_image(png.data(), 0, "z.png"); }, {"z.png", "empty"});
  auto jpg = encode_jpeg(test_rgb(8, 8, 0), 8, 8);
  jpg.resize(20);
  expect_error([&] { decode_image(jpg.data(), jpg.size(), "w.jpg"); }, {"w.jpg"});
}

// Fuzzing found stb_image 2.27 reading Huffman tables a corrupt JPEG never defined from
// uninitialised heap memory (a crash that depends on what malloc recycles). data/image.cpp
// zeroes stb's allocations, so such a file decodes to the same (meaningless) pixels every time,
// however dirty the heap is, instead of reading garbage or crashing.
TEST(BadInput, JpegScanWithUndefinedHuffmanTables) {
  auto jpg = encode_jpeg(test_rgb(16, 16, 0), 16, 16);
  bool patched = false;
  for (size_t i = 0; i + 6 < jpg.size() && !patched; ++i)
    if (jpg[i] == 0xFF && jpg[i + 1] == 0xDA) {  // SOS: length(2) count(1) {id, Td|Ta}...
      for (int k = 0; k < jpg[i + 4]; ++k) jpg[i + 6 + 2 * k] = 0x33;
      patched = true;
    }
  ASSERT_TRUE(patched);
  const DecodedImage first = decode_image(jpg.data(), jpg.size(), "tables.jpg");
  for (int round = 0; round < 20; ++round) {
    for (size_t n = 1024; n < 65536; n *= 2) {
      volatile uint8_t* dirt = new uint8_t[n];
      for (size_t j = 0; j < n; ++j) dirt[j] = 0xA5;
      delete[] dirt;
    }
    const DecodedImage again = decode_image(jpg.data(), jpg.size(), "tables.jpg");
    ASSERT_EQ(again.rgb, first.rgb) << "round " << round;
  }
}

// Fuzzing found a 100-byte PNG whose IDAT chunk declares ~1 GiB making stb allocate it before
// noticing the data is missing; data/image.cpp caps stb's allocations by the header's size.
TEST(BadInput, PngChunkDeclaringHugeLength) {
  const auto png = encode_png(test_rgb(4, 9, 0), 4, 9);
  std::vector<uint8_t> bad(png.begin(), png.begin() + 33);  // signature + IHDR chunk
  bad.insert(bad.end(), {0x40, 0x00, 0x00, 0x00, 'I', 'D', 'A', 'T', 0x78, 0x5e, 0x63, 0x64});
  expect_error([&] { decode_image(bad.data(), bad.size(), "huge.png"); }, {"huge.png", "outofmem"});
}

TEST(BadInput, EmptyClassFolderAndEmptyRoot) {
  TempDir dir;
  write_image_folder(dir / "train", {2});
  fs::create_directories(dir / "train/class_9");
  expect_error([&] { scan_image_folder(dir / "train"); }, {"class_9", "holds no"});
  fs::create_directories(dir / "empty");
  expect_error([&] { scan_image_folder(dir / "empty"); }, {"empty", "no class sub-folders"});
  write_bytes(dir / "file", {1});
  expect_error([&] { scan_image_folder(dir / "file"); }, {"file", "not a folder"});
}

// Root ignores permissions, so as root the checks run with the effective ids of `nobody`
// (seteuid keeps the real id, so the test can switch back).
class AsNobody {
 public:
  AsNobody() : active_(::geteuid() == 0) {
    if (active_) {
      EXPECT_TRUE(::setegid(65534) == 0 && ::seteuid(65534) == 0);
    }
  }
  ~AsNobody() {
    if (active_) {
      EXPECT_TRUE(::seteuid(0) == 0 && ::setegid(0) == 0);
    }
  }

 private:
  bool active_;
};

TEST(BadInput, UnreadableFolderAndFile) {
  TempDir dir;
  write_image_folder(dir / "train", {2, 2});
  write_bytes(dir / "test_batch.bin", cifar_records(1, 1, 10));
  fs::permissions(dir / "train/class_1", fs::perms::none);
  fs::permissions(dir / "test_batch.bin", fs::perms::none);
  {
    AsNobody nobody;
    expect_error([&] { scan_image_folder(dir / "train"); }, {"class_1", "cannot read folder"});
    expect_error([&] { read_cifar10(dir.str(), Split::Test); }, {"test_batch.bin", "cannot open"});
  }
  fs::permissions(dir / "train/class_1", fs::perms::owner_all);
}

TEST(BadInput, PackIndexAndShards) {
  TempDir dir;
  write_image_folder(dir / "src", {2, 2});
  pack_image_folder(dir / "src", dir / "pack");
  const std::string index_path = dir / "pack/index.bin";
  const std::vector<uint8_t> good = read_file(index_path);
  auto bad = good;
  bad[0] = 'X';
  write_bytes(index_path, bad);
  expect_error([&] { PackReader r(dir / "pack"); }, {"index.bin", "not a pack index"});
  bad = good;
  bad.pop_back();
  write_bytes(index_path, bad);
  expect_error([&] { PackReader r(dir / "pack"); }, {"index.bin", "record bytes"});
  bad = good;
  bad[bad.size() - 24 + 4] = 7;  // label of the last record
  write_bytes(index_path, bad);
  expect_error([&] { PackReader r(dir / "pack"); }, {"index.bin", "record 3", "label 7"});
  bad = good;
  bad[12] = '[';  // breaks the JSON header
  write_bytes(index_path, bad);
  expect_error([&] { PackReader r(dir / "pack"); }, {"index.bin", "malformed JSON"});
  write_bytes(index_path, good);
  const PackReader ok(dir / "pack");
  const std::string shard = (fs::path(dir / "pack") / ok.index().shards[0]).string();
  auto shard_bytes = read_file(shard);
  shard_bytes[ok.index().records[1].offset + 5] ^= 0xFF;
  write_bytes(shard, shard_bytes);
  {
    const PackReader flipped(dir / "pack");
    expect_error([&] { flipped.bytes(1); }, {"record 1", "CRC mismatch"});
  }
  shard_bytes.resize(shard_bytes.size() - 10);
  write_bytes(shard, shard_bytes);
  expect_error([&] { PackReader r(dir / "pack"); }, {"index.bin", "record 3", "truncated shard"});
}

}  // namespace
}  // namespace bnas::data
