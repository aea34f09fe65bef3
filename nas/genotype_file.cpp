// Genotype text in either form, and genotype files (genotype_file.h).
#include "nas/genotype_file.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/check.h"
#include "engine/checkpoint.h"
#include "nas/genotype_checks.h"
#include "nas/genotype_darts.h"

namespace bnas::nas {

namespace {
using detail::shown;
using detail::trim_left;
}  // namespace

Genotype parse_genotype(const std::string& text, const std::string& source) {
  const std::string t = trim_left(text);
  if (!t.empty() && t[0] == '{') return parse_genotype_json(text, source);
  return parse_genotype_darts(text, source);
}

Genotype read_genotype_file(const std::string& path) {
  const std::string source = "file " + shown(path, 400);
  std::error_code ec;
  BNAS_CHECK(std::filesystem::is_regular_file(path, ec), "Cannot read the genotype ", source,
             ": it does not exist or is not a regular file.");
  const auto size = std::filesystem::file_size(path, ec);
  BNAS_CHECK(!ec && size <= (1u << 20), "Cannot read the genotype ", source,
             ec ? ": its size cannot be determined." : ": it is over 1 MiB, too large to be a genotype.");
  std::ifstream in(path, std::ios::binary);
  BNAS_CHECK(in.good(), "Cannot read the genotype ", source, ": ", std::strerror(errno), ".");
  std::ostringstream buf;
  buf << in.rdbuf();
  return parse_genotype(buf.str(), source);
}

void write_genotype_file(const Genotype& g, const std::string& path) {
  const bool as_json = path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0;
  write_file_atomically(path, as_json ? genotype_to_json_text(g) : genotype_to_darts(g) + "\n");
}

}  // namespace bnas::nas
