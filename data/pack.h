// The packed shard format: a dataset of encoded images stored as a few large files, so that
// reading ImageNet costs sequential-ish reads of big shards instead of 1.3 million file opens.
//
// A pack is a folder:
//   index.bin                    the index, written last
//   shard-<id>-00000.bin, ...    shards: encoded image files (JPEG/PNG bytes as they were on
//                                disk, never re-encoded) concatenated back to back
// index.bin, all integers little-endian:
//   bytes 0-7    magic "BNASPAK1"
//   bytes 8-11   uint32 J, the length of the JSON header
//   J bytes      JSON header {"version": 1, "classes": [names], "shards": [file names],
//                "records": R}
//   R x 24 bytes one record per image: uint32 shard, uint32 label, uint64 offset,
//                uint32 length, uint32 crc32 (zlib) of the image bytes
// The index must end exactly after the last record; every record must lie inside its shard and
// carry a label below the class count; the CRC is verified on every read.
//
// Atomic writes: shards are written under "<name>.tmp-<pid>" and renamed when complete; their
// names carry a per-pack random id, so a new pack never overwrites the shards that an existing
// index refers to; index.bin is renamed into place last (the commit point) and only then are
// the previous pack's shards removed. A failed or interrupted pack leaves the previous pack
// readable.
//
// The search subset (BNAS-v2 on ImageNet): per class, 10% of the training images for the
// weights and 2.5% for the architecture, disjoint, drawn without replacement from a seed
// (RngStream::Split); written as two packs, <out>/weights and <out>/arch.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/encoded_source.h"

namespace bnas::data {

struct PackRecord {
  uint32_t shard = 0;
  int32_t label = 0;
  uint64_t offset = 0;
  uint32_t length = 0;
  uint32_t crc = 0;
};

struct PackIndex {
  std::vector<std::string> class_names;
  std::vector<std::string> shards;
  std::vector<PackRecord> records;
};

// Parses index.bin bytes; `name` names the file in errors. Checks everything that does not
// need the shard files (labels, shard numbers, lengths, offset overflow).
PackIndex parse_pack_index(const uint8_t* bytes, size_t size, const std::string& name);
std::vector<uint8_t> serialize_pack_index(const PackIndex& index);

class PackReader : public EncodedSource {
 public:
  // Opens dir/index.bin and every shard, and checks every record against the shard sizes.
  explicit PackReader(const std::string& dir);
  ~PackReader() override;
  PackReader(const PackReader&) = delete;
  PackReader& operator=(const PackReader&) = delete;

  const PackIndex& index() const { return index_; }
  size_t size() const override { return index_.records.size(); }
  int32_t label(size_t i) const override { return index_.records[i].label; }
  const std::vector<std::string>& class_names() const override { return index_.class_names; }
  std::vector<uint8_t> bytes(size_t i) const override;  // verifies the CRC
  std::string name(size_t i) const override;

 private:
  std::string dir_;
  PackIndex index_;
  std::vector<int> fds_;
};

struct PackOptions {
  uint64_t shard_bytes = uint64_t{256} << 20;  // a shard is closed once it reaches this size
  bool verify = true;  // read every image's header while packing (rejects non-images early)
};

struct PackSummary {
  size_t records = 0, shards = 0;
  uint64_t bytes = 0;
};

// Packs records `which` of src (all when empty) into out_dir (created if needed).
PackSummary write_pack(const EncodedSource& src, const std::vector<size_t>& which,
                       const std::string& out_dir, const PackOptions& options = {});
// `bnas_engine pack`: an image folder (root/<class>/<image>) into a pack.
PackSummary pack_image_folder(const std::string& src_dir, const std::string& out_dir,
                              const PackOptions& options = {});

struct SubsetOptions {
  double weights_fraction = 0.10;
  double arch_fraction = 0.025;
  uint64_t seed = 0;
  PackOptions pack;
};
struct SearchSubset {
  std::vector<size_t> weights, arch;  // record indices into the source, ascending
};
// Per class c with n_c records: max(1, round(f * n_c)) for each part, drawn without
// replacement from one Fisher-Yates permutation of the class (so the parts are disjoint).
SearchSubset sample_search_subset(const std::vector<int32_t>& labels, int num_classes,
                                  double weights_fraction, double arch_fraction, uint64_t seed);
// `bnas_engine pack --search-subset`: src is a pack or an image folder; writes
// out_dir/weights and out_dir/arch.
SearchSubset pack_search_subset(const std::string& src, const std::string& out_dir,
                                const SubsetOptions& options = {});

}  // namespace bnas::data
