// Whole-file reads, in-memory gunzip (zlib) and atomic writes (see file_io.h).
#include "data/file_io.h"

#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "engine/check.h"

namespace bnas::data {
namespace fs = std::filesystem;

std::vector<uint8_t> read_file(const std::string& path, size_t max_bytes) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  BNAS_CHECK(fs::exists(st), "file ", path, " does not exist.");
  BNAS_CHECK(!fs::is_directory(st), path, " is a directory, not a file.");
  std::ifstream in(path, std::ios::binary);
  BNAS_CHECK(in, "cannot open ", path, " for reading (", std::strerror(errno), ").");
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  BNAS_CHECK(size >= 0, "cannot read the size of ", path, ".");
  BNAS_CHECK(static_cast<uint64_t>(size) <= max_bytes, path, " is ", size, " bytes, more than the ", max_bytes,
             " this reader accepts.");
  in.seekg(0);
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.read(reinterpret_cast<char*>(bytes.data()), size);
  BNAS_CHECK(in.gcount() == size, "cannot read ", path, " (read ", in.gcount(), " of ", size, " bytes).");
  return bytes;
}

bool is_gzip(const std::vector<uint8_t>& bytes) {
  return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
}

std::vector<uint8_t> gunzip(const std::vector<uint8_t>& gz, const std::string& name, size_t max_bytes) {
  z_stream zs{};
  BNAS_CHECK(inflateInit2(&zs, 16 + MAX_WBITS) == Z_OK, "zlib could not start inflating ", name, ".");
  std::vector<uint8_t> out;
  zs.next_in = const_cast<Bytef*>(gz.data());
  zs.avail_in = static_cast<uInt>(gz.size());
  int rc = Z_OK;
  while (rc == Z_OK) {
    if (out.size() >= max_bytes) {
      inflateEnd(&zs);
      BNAS_FAIL(name, " inflates to more than ", max_bytes, " bytes.");
    }
    const size_t chunk = std::min<size_t>(std::max<size_t>(gz.size() * 2, 1 << 16), max_bytes - out.size());
    const size_t have = out.size();
    out.resize(have + chunk);
    zs.next_out = out.data() + have;
    zs.avail_out = static_cast<uInt>(chunk);
    rc = inflate(&zs, Z_NO_FLUSH);
    out.resize(have + (chunk - zs.avail_out));
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) break;  // input ended before the stream did
    if (rc == Z_BUF_ERROR) rc = Z_OK;                  // output full: loop for more room
  }
  inflateEnd(&zs);
  BNAS_CHECK(rc == Z_STREAM_END, name, " is a truncated or corrupt gzip file.");
  return out;
}

void write_file_atomic(const std::string& path, const void* data, size_t bytes) {
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    BNAS_CHECK(out, "cannot create ", tmp, " (", std::strerror(errno), ").");
    out.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      BNAS_FAIL("cannot write ", bytes, " bytes to ", tmp, " (disk full?).");
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    BNAS_FAIL("cannot rename ", tmp, " to ", path, " (", ec.message(), ").");
  }
}

}  // namespace bnas::data
