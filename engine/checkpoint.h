// Checkpoint I/O in the safetensors format: an 8-byte little-endian header length, a JSON header
// {"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {...}}
// padded with spaces to a multiple of 8, then the raw little-endian tensor bytes. Files are
// written atomically (a temporary file in the same folder, flushed, then renamed over the
// target), so a crash never leaves a half-written checkpoint in place of a good one.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/tensor.h"

namespace bnas {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// Writes tensors (any device; copied to the host) and string metadata to `path` atomically.
void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {});

struct SafetensorsFile {
  std::map<std::string, Tensor> tensors;  // CPU tensors
  std::map<std::string, std::string> metadata;
};
// Reads a whole file; throws bnas::Error naming the file and what is wrong with it.
SafetensorsFile load_safetensors(const std::string& path);

// Copies the file's tensors into `dest` (any device). Every name in dest must be present with
// the same shape and dtype, and the file must hold no other tensors; the error names the first
// difference. Nothing is modified unless all checks pass.
void load_into(const std::string& path, const NamedTensors& dest);

// Writes `bytes` to `path` atomically (temporary file + rename); shared by every writer.
void write_file_atomically(const std::string& path, const std::string& bytes);

}  // namespace bnas
