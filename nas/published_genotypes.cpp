// The published genotypes (published_genotypes.h).
#include "nas/published_genotypes.h"

#include <filesystem>
#include <map>

#include <nlohmann/json.hpp>

#include "engine/check.h"
#include "nas/genotype_checks.h"
#include "nas/genotype_file.h"

namespace bnas::nas {

namespace detail {
// Defined in the build-generated published_genotypes_data.cpp (see nas/CMakeLists.txt).
extern const char* const kPublishedGenotypesJson;
}  // namespace detail

namespace {

using detail::shown;
using detail::trim_left;

struct Published {
  std::vector<std::string> names;
  std::map<std::string, Genotype> by_name;
  std::string text;
};

const Published& published() {
  static const Published p = [] {
    Published out;
    out.text = detail::kPublishedGenotypesJson;
    const nlohmann::ordered_json all = nlohmann::ordered_json::parse(out.text);
    const auto& prims = all.at("primitives");
    BNAS_CHECK(prims.size() == static_cast<size_t>(kNumPrimitives),
               "The embedded genotype data lists ", prims.size(), " primitives instead of ",
               kNumPrimitives, ".");
    for (size_t i = 0; i < prims.size(); ++i)
      BNAS_CHECK(prims[i].get<std::string>() == primitive_names()[i],
                 "The embedded genotype data orders the primitives differently from the engine.");
    for (const auto& item : all.at("genotypes").items()) {
      out.names.push_back(item.key());
      out.by_name[item.key()] = genotype_from_json(nlohmann::json::parse(item.value().dump()),
                                                   "published genotype '" + item.key() + "'");
    }
    return out;
  }();
  return p;
}

std::string published_names_text() {
  std::string s;
  for (const auto& n : published().names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

}  // namespace

const std::vector<std::string>& published_genotype_names() { return published().names; }

bool is_published_genotype(const std::string& name) { return published().by_name.count(name) > 0; }

const Genotype& published_genotype(const std::string& name) {
  const auto& p = published();
  const auto it = p.by_name.find(name);
  BNAS_CHECK(it != p.by_name.end(), "Unknown genotype ", shown(name), "; the published genotypes are ",
             published_names_text(), ".");
  return it->second;
}

const std::string& published_genotypes_json() { return published().text; }

Genotype resolve_genotype(const std::string& name_or_path) {
  if (is_published_genotype(name_or_path)) return published_genotype(name_or_path);
  std::error_code ec;
  if (std::filesystem::is_regular_file(name_or_path, ec)) return read_genotype_file(name_or_path);
  const std::string t = trim_left(name_or_path);
  if (!t.empty() && (t[0] == '{' || t.compare(0, 8, "Genotype") == 0))
    return parse_genotype(name_or_path, "the given text");
  BNAS_FAIL(shown(name_or_path, 200), " is neither a published genotype (", published_names_text(),
            ") nor a genotype file.");
}

}  // namespace bnas::nas
