// Packer, pack reader and the ImageNet search-subset sampler.
#include <gtest/gtest.h>

#include <set>

#include "data/file_io.h"
#include "data/image.h"
#include "data/pack.h"
#include "data_fixtures.h"

namespace bnas::data {
namespace {
using namespace testing;

TEST(Pack, RoundTripsAnImageFolderAcrossShards) {
  TempDir dir;
  write_image_folder(dir / "train", {3, 4, 2});
  PackOptions opt;
  opt.shard_bytes = 1500;  // forces several shards
  const PackSummary s = pack_image_folder(dir / "train", dir / "pack", opt);
  EXPECT_EQ(s.records, 9u);
  EXPECT_GT(s.shards, 1u);
  const auto folder = open_encoded(dir / "train");
  const PackReader pack(dir / "pack");
  ASSERT_EQ(pack.size(), 9u);
  EXPECT_EQ(pack.class_names(), folder->class_names());
  for (size_t i = 0; i < pack.size(); ++i) {
    EXPECT_EQ(pack.label(i), folder->label(i));
    EXPECT_EQ(pack.bytes(i), folder->bytes(i)) << "record " << i;
  }
  const auto img = pack.bytes(4);
  EXPECT_EQ(decode_image(img.data(), img.size(), "r4").w, 20);
  // open_encoded recognises the pack.
  EXPECT_EQ(open_encoded(dir / "pack")->size(), 9u);
}

TEST(Pack, RepackingReplacesShardsAndFailureKeepsThePreviousPack) {
  TempDir dir;
  write_image_folder(dir / "a", {2, 2});
  pack_image_folder(dir / "a", dir / "pack");
  const auto before = PackReader(dir / "pack").index().shards;
  write_image_folder(dir / "b", {1, 1, 1});
  pack_image_folder(dir / "b", dir / "pack");
  const PackReader second(dir / "pack");
  EXPECT_EQ(second.size(), 3u);
  for (const std::string& s : before) EXPECT_FALSE(fs::exists(fs::path(dir / "pack") / s)) << s;
  // A source with a corrupt image fails while verifying; the pack from b is untouched.
  write_bytes(dir / "b/class_1/broken.JPEG", {'n', 'o', 'p', 'e'});
  expect_error([&] { pack_image_folder(dir / "b", dir / "pack"); }, {"broken.JPEG", "not a readable image"});
  const PackReader still(dir / "pack");
  EXPECT_EQ(still.size(), 3u);
  EXPECT_EQ(still.index().shards, second.index().shards);
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir / "pack")) files += e.is_regular_file();
  EXPECT_EQ(files, 1 + second.index().shards.size());  // no temp files left behind
}

TEST(Pack, IndexSerialisationRoundTrips) {
  PackIndex a;
  a.class_names = {"x", "y"};
  a.shards = {"shard-1-00000.bin", "shard-1-00001.bin"};
  a.records = {{0, 1, 0, 10, 123}, {1, 0, 5000000000ull, 7, 0xFFFFFFFFu}};
  const auto bytes = serialize_pack_index(a);
  const PackIndex b = parse_pack_index(bytes.data(), bytes.size(), "idx");
  EXPECT_EQ(b.class_names, a.class_names);
  EXPECT_EQ(b.shards, a.shards);
  ASSERT_EQ(b.records.size(), 2u);
  EXPECT_EQ(b.records[1].offset, 5000000000ull);
  EXPECT_EQ(b.records[1].crc, 0xFFFFFFFFu);
  EXPECT_EQ(b.records[0].label, 1);
}

TEST(SearchSubset, SizesPerClassDisjointDeterministic) {
  // 1300 images in class 0 (ImageNet-like), 400 in class 1, 41 in class 2.
  std::vector<int32_t> labels;
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < (c == 0 ? 1300 : c == 1 ? 400 : 41); ++i) labels.push_back(c);
  const SearchSubset s = sample_search_subset(labels, 3, 0.10, 0.025, 7);
  std::vector<int> nw(3), na(3);
  for (size_t i : s.weights) ++nw[labels[i]];
  for (size_t i : s.arch) ++na[labels[i]];
  EXPECT_EQ(nw, (std::vector<int>{130, 40, 4}));
  EXPECT_EQ(na, (std::vector<int>{33, 10, 1}));  // round(32.5) = 33 (llround rounds half away)
  std::set<size_t> all(s.weights.begin(), s.weights.end());
  for (size_t i : s.arch) EXPECT_TRUE(all.insert(i).second) << "record " << i << " in both parts";
  EXPECT_EQ(std::set<size_t>(s.weights.begin(), s.weights.end()).size(), s.weights.size());  // no repeats
  const SearchSubset again = sample_search_subset(labels, 3, 0.10, 0.025, 7);
  EXPECT_EQ(again.weights, s.weights);
  EXPECT_EQ(again.arch, s.arch);
  const SearchSubset other = sample_search_subset(labels, 3, 0.10, 0.025, 8);
  EXPECT_NE(other.weights, s.weights);
}

TEST(SearchSubset, SamplesUniformlyWithinAClass) {
  std::vector<int32_t> labels(1000, 0);
  std::vector<int> hits(10, 0);  // by decile of the record index
  for (uint64_t seed = 0; seed < 200; ++seed)
    for (size_t i : sample_search_subset(labels, 1, 0.10, 0.025, seed).weights) ++hits[i / 100];
  for (int h : hits) EXPECT_NEAR(h, 2000, 250);
}

TEST(SearchSubset, RejectsTinyClassesAndBadFractions) {
  expect_error([] { sample_search_subset({0, 0, 1}, 2, 0.1, 0.025, 0); }, {"class 1", "too few"});
  expect_error([] { sample_search_subset({0, 0, 0}, 1, 0.9, 0.5, 0); }, {"fractions"});
}

TEST(SearchSubset, WritesTwoPacks) {
  TempDir dir;
  write_image_folder(dir / "train", {40, 41});
  SubsetOptions opt;
  opt.seed = 3;
  const SearchSubset s = pack_search_subset(dir / "train", dir / "subset", opt);
  const auto src = open_encoded(dir / "train");
  const PackReader w(dir / "subset/weights"), a(dir / "subset/arch");
  ASSERT_EQ(w.size(), 8u);  // 4 + 4
  ASSERT_EQ(a.size(), 2u);  // 1 + 1
  for (size_t k = 0; k < w.size(); ++k) {
    EXPECT_EQ(w.bytes(k), src->bytes(s.weights[k]));
    EXPECT_EQ(w.label(k), src->label(s.weights[k]));
  }
  EXPECT_EQ(a.bytes(1), src->bytes(s.arch[1]));
  // From a pack the same seed selects the same records.
  pack_image_folder(dir / "train", dir / "full");
  const SearchSubset from_pack = pack_search_subset(dir / "full", dir / "subset2", opt);
  EXPECT_EQ(from_pack.weights, s.weights);
  EXPECT_EQ(from_pack.arch, s.arch);
}

}  // namespace
}  // namespace bnas::data
