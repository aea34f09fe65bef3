// Packed shard format: index (de)serialisation, the reader, the writer and the search-subset
// sampler (format in pack.h).
#include "data/pack.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "data/file_io.h"
#include "data/image.h"
#include "engine/check.h"
#include "engine/rng.h"

namespace bnas::data {
namespace fs = std::filesystem;
namespace {
constexpr char kMagic[8] = {'B', 'N', 'A', 'S', 'P', 'A', 'K', '1'};
constexpr size_t kRecordBytes = 24;

uint64_t load_le(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
void store_le(std::vector<uint8_t>& out, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

uint32_t crc_of(const uint8_t* p, size_t n) {
  return static_cast<uint32_t>(crc32(crc32(0L, Z_NULL, 0), p, static_cast<uInt>(n)));
}

bool is_shard_name(const std::string& s) {
  return s.rfind("shard-", 0) == 0 && s.size() > 10 && s.compare(s.size() - 4, 4, ".bin") == 0;
}
}  // namespace

PackIndex parse_pack_index(const uint8_t* bytes, size_t size, const std::string& name) {
  BNAS_CHECK(size >= 12 && std::memcmp(bytes, kMagic, 8) == 0, name,
             " is not a pack index (it does not start with BNASPAK1).");
  const uint64_t json_len = load_le(bytes + 8, 4);
  BNAS_CHECK(json_len <= size - 12, name, " is truncated inside its JSON header.");
  PackIndex index;
  uint64_t count = 0;
  try {
    const auto j = nlohmann::json::parse(bytes + 12, bytes + 12 + json_len);
    BNAS_CHECK(j.is_object() && j.value("version", 0) == 1, name, " has an unsupported pack version.");
    index.class_names = j.at("classes").get<std::vector<std::string>>();
    index.shards = j.at("shards").get<std::vector<std::string>>();
    count = j.at("records").get<uint64_t>();
  } catch (const nlohmann::json::exception& e) {
    BNAS_FAIL(name, " has a malformed JSON header (", e.what(), ").");
  }
  BNAS_CHECK(!index.class_names.empty(), name, " lists no classes.");
  for (const std::string& s : index.shards)
    BNAS_CHECK(is_shard_name(s) && s.find('/') == std::string::npos, name, " names an invalid shard file '", s, "'.");
  const uint64_t body = size - 12 - json_len;
  BNAS_CHECK(count <= body / kRecordBytes && body == count * kRecordBytes, name, " declares ", count,
             " records but holds ", body, " record bytes (truncated or corrupt index).");
  index.records.resize(static_cast<size_t>(count));
  const uint8_t* p = bytes + 12 + json_len;
  for (size_t i = 0; i < count; ++i, p += kRecordBytes) {
    PackRecord& r = index.records[i];
    r.shard = static_cast<uint32_t>(load_le(p, 4));
    const uint64_t label = load_le(p + 4, 4);
    r.offset = load_le(p + 8, 8);
    r.length = static_cast<uint32_t>(load_le(p + 16, 4));
    r.crc = static_cast<uint32_t>(load_le(p + 20, 4));
    BNAS_CHECK(r.shard < index.shards.size(), name, ": record ", i, " refers to shard ", r.shard, " of ",
               index.shards.size(), ".");
    BNAS_CHECK(label < index.class_names.size(), name, ": record ", i, " has label ", label,
               ", outside [0, ", index.class_names.size(), ").");
    BNAS_CHECK(r.length > 0 && r.offset <= UINT64_MAX - r.length, name, ": record ", i,
               " has an invalid extent.");
    r.label = static_cast<int32_t>(label);
  }
  return index;
}

std::vector<uint8_t> serialize_pack_index(const PackIndex& index) {
  const std::string header = nlohmann::json{{"version", 1},
                                            {"classes", index.class_names},
                                            {"shards", index.shards},
                                            {"records", index.records.size()}}.dump();
  std::vector<uint8_t> out(kMagic, kMagic + 8);
  store_le(out, header.size(), 4);
  out.insert(out.end(), header.begin(), header.end());
  for (const PackRecord& r : index.records) {
    store_le(out, r.shard, 4);
    store_le(out, static_cast<uint32_t>(r.label), 4);
    store_le(out, r.offset, 8);
    store_le(out, r.length, 4);
    store_le(out, r.crc, 4);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

PackReader::PackReader(const std::string& dir) : dir_(dir) {
  const std::string index_path = (fs::path(dir) / "index.bin").string();
  const std::vector<uint8_t> bytes = read_file(index_path);
  index_ = parse_pack_index(bytes.data(), bytes.size(), index_path);
  std::vector<uint64_t> sizes;
  for (const std::string& s : index_.shards) {
    const std::string path = (fs::path(dir) / s).string();
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    BNAS_CHECK(fd >= 0, "cannot open shard ", path, " (", std::strerror(errno), ").");
    fds_.push_back(fd);
    struct stat st {};
    BNAS_CHECK(::fstat(fd, &st) == 0 && S_ISREG(st.st_mode), "shard ", path, " is not a regular file.");
    sizes.push_back(static_cast<uint64_t>(st.st_size));
  }
  for (size_t i = 0; i < index_.records.size(); ++i) {
    const PackRecord& r = index_.records[i];
    BNAS_CHECK(r.offset + r.length <= sizes[r.shard], index_path, ": record ", i, " ends at byte ",
               r.offset + r.length, " of shard ", index_.shards[r.shard], ", which holds ", sizes[r.shard],
               " bytes (truncated shard).");
  }
}

PackReader::~PackReader() {
  for (int fd : fds_) ::close(fd);
}

std::vector<uint8_t> PackReader::bytes(size_t i) const {
  BNAS_CHECK(i < index_.records.size(), "record ", i, " is outside pack ", dir_, " of ", index_.records.size(), " records.");
  const PackRecord& r = index_.records[i];
  std::vector<uint8_t> out(r.length);
  size_t done = 0;
  while (done < r.length) {
    const ssize_t got = ::pread(fds_[r.shard], out.data() + done, r.length - done, static_cast<off_t>(r.offset + done));
    BNAS_CHECK(got > 0, "cannot read ", name(i), " (", got == 0 ? "unexpected end of shard" : std::strerror(errno), ").");
    done += static_cast<size_t>(got);
  }
  BNAS_CHECK(crc_of(out.data(), out.size()) == r.crc, name(i), " is corrupt (CRC mismatch).");
  return out;
}

std::string PackReader::name(size_t i) const {
  return detail::concat(dir_, " record ", i, " (", index_.shards[index_.records[i].shard], ")");
}

// ---------------------------------------------------------------------------------------------

PackSummary write_pack(const EncodedSource& src, const std::vector<size_t>& which,
                       const std::string& out_dir, const PackOptions& options) {
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  BNAS_CHECK(!ec && fs::is_directory(out_dir, ec), "cannot create output folder ", out_dir, ".");
  char id[17];
  std::snprintf(id, sizeof id, "%016llx", static_cast<unsigned long long>(std::random_device{}()) << 32 ^
                                              static_cast<unsigned long long>(std::random_device{}()));
  const std::string tmp_suffix = ".tmp-" + std::to_string(::getpid());

  PackIndex index;
  index.class_names = src.class_names();
  PackSummary summary;
  std::ofstream shard;
  std::string shard_path;
  uint64_t shard_size = 0;
  auto close_shard = [&] {
    shard.flush();
    BNAS_CHECK(shard, "cannot write shard ", shard_path, tmp_suffix, " (disk full?).");
    shard.close();
    fs::rename(shard_path + tmp_suffix, shard_path, ec);
    BNAS_CHECK(!ec, "cannot rename ", shard_path, tmp_suffix, " (", ec.message(), ").");
  };
  const size_t n = which.empty() ? src.size() : which.size();
  try {
    for (size_t k = 0; k < n; ++k) {
      const size_t i = which.empty() ? k : which[k];
      const std::vector<uint8_t> bytes = src.bytes(i);
      BNAS_CHECK(!bytes.empty() && bytes.size() <= UINT32_MAX, src.name(i), " is empty or larger than 4 GiB.");
      if (options.verify) {
        int h = 0, w = 0;
        image_size(bytes.data(), bytes.size(), src.name(i), &h, &w);
      }
      if (!shard.is_open() || shard_size >= options.shard_bytes) {
        if (shard.is_open()) close_shard();
        char file[64];
        std::snprintf(file, sizeof file, "shard-%s-%05zu.bin", id, index.shards.size());
        index.shards.push_back(file);
        shard_path = (fs::path(out_dir) / file).string();
        shard.open(shard_path + tmp_suffix, std::ios::binary | std::ios::trunc);
        BNAS_CHECK(shard, "cannot create ", shard_path, tmp_suffix, " (", std::strerror(errno), ").");
        shard_size = 0;
      }
      shard.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
      index.records.push_back({static_cast<uint32_t>(index.shards.size() - 1), src.label(i), shard_size,
                               static_cast<uint32_t>(bytes.size()), crc_of(bytes.data(), bytes.size())});
      shard_size += bytes.size();
      summary.bytes += bytes.size();
    }
    if (shard.is_open()) close_shard();
  } catch (...) {  // leave no partial files behind; the previous pack stays intact
    if (shard.is_open()) shard.close();
    std::remove((shard_path + tmp_suffix).c_str());
    for (const std::string& s : index.shards) std::remove((fs::path(out_dir) / s).string().c_str());
    throw;
  }
  const std::vector<uint8_t> bytes = serialize_pack_index(index);
  write_file_atomic((fs::path(out_dir) / "index.bin").string(), bytes.data(), bytes.size());
  // Committed: remove the shards of the pack this one replaced.
  const std::set<std::string> keep(index.shards.begin(), index.shards.end());
  for (fs::directory_iterator it(out_dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string f = it->path().filename().string();
    if (is_shard_name(f) && !keep.count(f)) fs::remove(it->path(), ec);
  }
  summary.records = index.records.size();
  summary.shards = index.shards.size();
  return summary;
}

PackSummary pack_image_folder(const std::string& src_dir, const std::string& out_dir, const PackOptions& options) {
  std::error_code ec;
  BNAS_CHECK(!fs::exists(fs::path(src_dir) / "index.bin", ec), src_dir,
             " is already a pack, not an image folder.");
  return write_pack(*open_encoded(src_dir), {}, out_dir, options);
}

SearchSubset sample_search_subset(const std::vector<int32_t>& labels, int num_classes,
                                  double weights_fraction, double arch_fraction, uint64_t seed) {
  BNAS_CHECK(weights_fraction > 0 && arch_fraction > 0 && weights_fraction + arch_fraction <= 1,
             "subset fractions must be positive and sum to at most 1, got ", weights_fraction, " and ",
             arch_fraction, ".");
  std::vector<std::vector<size_t>> members(static_cast<size_t>(num_classes));
  for (size_t i = 0; i < labels.size(); ++i) {
    BNAS_CHECK(labels[i] >= 0 && labels[i] < num_classes, "label ", labels[i], " of record ", i,
               " is outside [0, ", num_classes, ").");
    members[static_cast<size_t>(labels[i])].push_back(i);
  }
  Generator g(seed, RngStream::Split);
  SearchSubset subset;
  for (int c = 0; c < num_classes; ++c) {
    const std::vector<size_t>& m = members[static_cast<size_t>(c)];
    const auto n = static_cast<int64_t>(m.size());
    const int64_t nw = std::max<int64_t>(1, std::llround(weights_fraction * n));
    const int64_t na = std::max<int64_t>(1, std::llround(arch_fraction * n));
    BNAS_CHECK(nw + na <= n, "class ", c, " has ", n, " images, too few for a search subset of ", nw,
               " + ", na, ".");
    const std::vector<uint32_t> perm = g.permutation(static_cast<uint32_t>(n));
    for (int64_t k = 0; k < nw; ++k) subset.weights.push_back(m[perm[k]]);
    for (int64_t k = nw; k < nw + na; ++k) subset.arch.push_back(m[perm[k]]);
  }
  std::sort(subset.weights.begin(), subset.weights.end());
  std::sort(subset.arch.begin(), subset.arch.end());
  return subset;
}

SearchSubset pack_search_subset(const std::string& src, const std::string& out_dir, const SubsetOptions& options) {
  const std::unique_ptr<EncodedSource> source = open_encoded(src);
  std::vector<int32_t> labels(source->size());
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = source->label(i);
  SearchSubset subset = sample_search_subset(labels, static_cast<int>(source->class_names().size()),
                                             options.weights_fraction, options.arch_fraction, options.seed);
  write_pack(*source, subset.weights, (fs::path(out_dir) / "weights").string(), options.pack);
  write_pack(*source, subset.arch, (fs::path(out_dir) / "arch").string(), options.pack);
  return subset;
}

}  // namespace bnas::data
