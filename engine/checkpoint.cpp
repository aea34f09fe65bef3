#include "engine/checkpoint.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include <unistd.h>

namespace bnas {
namespace {

DType parse_dtype(const std::string& s, const std::string& path, const std::string& name) {
  for (DType t : {DType::F32, DType::F64, DType::I32, DType::U8})
    if (s == dtype_name(t)) return t;
  BNAS_FAIL(path, ": tensor '", name, "' has dtype ", s, ", which this engine does not read");
}

}  // namespace

void write_file_atomically(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    BNAS_CHECK(f, "cannot write ", tmp, ": ", std::strerror(errno));
    const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size() &&
                    std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
    const int err = errno;
    std::fclose(f);
    if (!ok) {
      std::remove(tmp.c_str());
      BNAS_FAIL("cannot write ", tmp, ": ", std::strerror(err));
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    BNAS_FAIL("cannot replace ", path, ": ", std::strerror(err));
  }
}

void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<Tensor> host;
  std::set<std::string> seen;
  size_t offset = 0;
  for (const auto& [name, t] : tensors) {
    BNAS_CHECK(seen.insert(name).second, "checkpoint tensor name '", name, "' is used twice");
    BNAS_CHECK(name != "__metadata__", "'__metadata__' cannot name a tensor");
    Tensor h = t.to(Device::cpu()).contiguous();
    header[name] = {{"dtype", dtype_name(h.dtype())},
                    {"shape", h.shape().vec()},
                    {"data_offsets", {offset, offset + h.nbytes()}}};
    offset += h.nbytes();
    host.push_back(h);
  }
  std::string hs = header.dump();
  hs.append((8 - hs.size() % 8) % 8, ' ');
  std::string bytes(8, '\0');
  const uint64_t n = hs.size();
  for (int i = 0; i < 8; ++i) bytes[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  bytes += hs;
  bytes.reserve(bytes.size() + offset);
  for (const Tensor& h : host) bytes.append(static_cast<const char*>(h.raw()), h.nbytes());
  write_file_atomically(path, bytes);
}

SafetensorsFile load_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  BNAS_CHECK(in, "cannot open ", path, ": ", std::strerror(errno));
  in.seekg(0, std::ios::end);
  const uint64_t size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  BNAS_CHECK(size >= 8, path, " is not a safetensors file: it is only ", size, " bytes long");
  unsigned char len[8];
  in.read(reinterpret_cast<char*>(len), 8);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | len[i];
  BNAS_CHECK(n <= size - 8, path, " is truncated or not a safetensors file: its header claims ", n,
             " bytes but the file has ", size - 8, " after the length");
  std::string hs(n, '\0');
  in.read(hs.data(), static_cast<std::streamsize>(n));
  nlohmann::json header = nlohmann::json::parse(hs, nullptr, /*allow_exceptions=*/false);
  BNAS_CHECK(header.is_object(), path, " has a corrupt safetensors header (not a JSON object)");
  const uint64_t data_size = size - 8 - n;
  SafetensorsFile out;
  for (auto& [name, v] : header.items()) {
    if (name == "__metadata__") {
      BNAS_CHECK(v.is_object(), path, ": __metadata__ is not an object");
      for (auto& [k, s] : v.items()) {
        BNAS_CHECK(s.is_string(), path, ": metadata value for '", k, "' is not a string");
        out.metadata[k] = s.get<std::string>();
      }
      continue;
    }
    BNAS_CHECK(v.is_object() && v.contains("dtype") && v.contains("shape") && v.contains("data_offsets") &&
                   v["dtype"].is_string() && v["shape"].is_array() && v["data_offsets"].is_array() &&
                   v["data_offsets"].size() == 2,
               path, ": the header entry for tensor '", name, "' is malformed");
    const DType dt = parse_dtype(v["dtype"].get<std::string>(), path, name);
    std::vector<int64_t> dims;
    for (auto& d : v["shape"]) {
      BNAS_CHECK(d.is_number_unsigned(), path, ": tensor '", name, "' has a bad shape");
      dims.push_back(d.get<int64_t>());
    }
    BNAS_CHECK(dims.size() <= static_cast<size_t>(kMaxDims), path, ": tensor '", name, "' has ",
               dims.size(), " dimensions; at most ", kMaxDims, " are supported");
    const Shape shape(dims);
    BNAS_CHECK(v["data_offsets"][0].is_number_unsigned() && v["data_offsets"][1].is_number_unsigned(),
               path, ": tensor '", name, "' has bad data offsets");
    const uint64_t b = v["data_offsets"][0].get<uint64_t>(), e = v["data_offsets"][1].get<uint64_t>();
    BNAS_CHECK(b <= e && e <= data_size && e - b == static_cast<uint64_t>(shape.numel()) * dtype_size(dt),
               path, ": tensor '", name, "' has data offsets [", b, ", ", e,
               ") that do not match its shape or lie past the end of the file (truncated?)");
    Tensor t = Tensor::empty(shape, dt);
    in.seekg(static_cast<std::streamoff>(8 + n + b));
    in.read(static_cast<char*>(t.raw()), static_cast<std::streamsize>(e - b));
    BNAS_CHECK(in, path, ": could not read the data of tensor '", name, "'");
    out.tensors.emplace(name, t);
  }
  return out;
}

void load_into(const std::string& path, const NamedTensors& dest) {
  SafetensorsFile f = load_safetensors(path);
  std::set<std::string> wanted;
  for (const auto& [name, t] : dest) {
    wanted.insert(name);
    auto it = f.tensors.find(name);
    BNAS_CHECK(it != f.tensors.end(), path, " has no tensor named '", name, "'");
    BNAS_CHECK(it->second.shape() == t.shape(), path, ": tensor '", name, "' has shape ",
               it->second.shape().str(), " but ", t.shape().str(), " is expected");
    BNAS_CHECK(it->second.dtype() == t.dtype(), path, ": tensor '", name, "' has dtype ",
               dtype_name(it->second.dtype()), " but ", dtype_name(t.dtype()), " is expected");
  }
  for (const auto& [name, t] : f.tensors)
    BNAS_CHECK(wanted.count(name), path, " holds tensor '", name, "', which this model does not have");
  for (const auto& [name, t] : dest) {
    Tensor d = t;
    d.copy_(f.tensors.at(name));
  }
}

}  // namespace bnas
