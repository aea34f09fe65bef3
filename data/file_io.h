// File access for the readers and the packer, with one clear error sentence per failure that
// names the file: missing, a directory, unreadable, truncated gzip. Whole files are read into
// memory (the formats here are small or are read record by record through pack.h), and outputs
// are written atomically: to "<path>.tmp-<pid>" first, then renamed over <path>, so a failure
// never leaves a half-written file under the final name.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace bnas::data {

// Refuses files larger than max_bytes (e.g. a multi-gigabyte file named .JPEG).
std::vector<uint8_t> read_file(const std::string& path, size_t max_bytes = SIZE_MAX);

// True when the bytes start with the gzip magic 1f 8b.
bool is_gzip(const std::vector<uint8_t>& bytes);
// Inflates a gzip stream held in memory; `name` is used in error messages. Refuses to produce
// more than max_bytes (a guard against decompression bombs).
std::vector<uint8_t> gunzip(const std::vector<uint8_t>& gz, const std::string& name,
                            size_t max_bytes = size_t{1} << 32);

void write_file_atomic(const std::string& path, const void* data, size_t bytes);

}  // namespace bnas::data
