// Genotypes: the primitives, validation and the JSON form (genotype.h). JSON goes through
// nlohmann::json.
#include "nas/genotype.h"

#include <cstdint>
#include <ostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/check.h"
#include "nas/genotype_checks.h"
#include "nas/genotype_darts.h"

namespace bnas::nas {

namespace {

using json = nlohmann::json;
using detail::check_entry_count;
using detail::checked_concat;
using detail::checked_input;
using detail::invalid;
using detail::shown;
using detail::valid_names_list;

constexpr std::array<const char*, kNumPrimitives> kPrimitiveNames = {
    "none",         "max_pool_3x3", "avg_pool_3x3", "skip_connect",
    "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5"};

const char* json_kind(const json& j) {
  switch (j.type()) {
    case json::value_t::null: return "null";
    case json::value_t::object: return "an object";
    case json::value_t::array: return "a list";
    case json::value_t::string: return "a string";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "an integer";
    case json::value_t::number_float: return "a floating-point number";
    default: return "an unsupported JSON value";
  }
}

// An integer JSON value, bounded so it cannot overflow; `what` names it for the error.
long long json_int(const json& j, const std::string& what, const std::string& source) {
  if (!j.is_number_integer()) invalid(source, what, " must be an integer, but it is ", json_kind(j));
  const bool in_range = j.is_number_unsigned()
                            ? j.get<std::uint64_t>() <= 1000000000ull
                            : (j.get<std::int64_t>() >= -1000000000ll &&
                               j.get<std::int64_t>() <= 1000000000ll);
  if (!in_range) invalid(source, what, " is ", j.dump(), ", far out of range");
  return static_cast<long long>(j.get<std::int64_t>());
}

const json& json_field(const json& j, const char* key, const std::string& source) {
  const auto it = j.find(key);
  if (it == j.end()) invalid(source, "the field '", key, "' is missing");
  return *it;
}

std::vector<GenotypeEdge> json_cell(const json& j, const char* field, const std::string& source) {
  if (!j.is_array())
    invalid(source, "'", field, "' must be a list of [op, input] pairs, but it is ", json_kind(j));
  check_entry_count(j.size(), field, source);
  std::vector<GenotypeEdge> out;
  for (size_t e = 0; e < j.size(); ++e) {
    const json& p = j[e];
    const std::string where = std::string(field) + "[" + std::to_string(e) + "]";
    if (!p.is_array() || p.size() != 2 || !p[0].is_string())
      invalid(source, where, " must be a pair [op name, input index], but it is ",
              shown(p.dump(), 60));
    GenotypeEdge edge;
    const std::string name = p[0].get<std::string>();
    try {
      edge.op = primitive_from_name(name, source);
    } catch (const Error&) {
      invalid(source, "unknown operation ", shown(name), " in ", where,
              " (valid operations: ", valid_names_list(), ")");
    }
    edge.input = checked_input(json_int(p[1], "the input index of " + where, source),
                               static_cast<int>(e), field, source);
    out.push_back(edge);
  }
  return out;
}

std::vector<int> json_concat(const json& j, const char* field, const std::string& source) {
  if (!j.is_array())
    invalid(source, "'", field, "' must be a list of node indices, but it is ", json_kind(j));
  std::vector<long long> v;
  for (size_t i = 0; i < j.size() && i <= 64; ++i)
    v.push_back(json_int(j[i], std::string(field) + "[" + std::to_string(i) + "]", source));
  if (j.size() > 64) v.push_back(0);  // too long: checked_concat rejects it
  return checked_concat(v, field, source);
}

}  // namespace

const std::array<const char*, kNumPrimitives>& primitive_names() { return kPrimitiveNames; }

const char* primitive_name(Primitive p) {
  const int i = static_cast<int>(p);
  BNAS_CHECK(i >= 0 && i < kNumPrimitives, "Primitive value ", i, " is out of range.");
  return kPrimitiveNames[static_cast<size_t>(i)];
}

Primitive primitive_from_name(const std::string& name, const std::string& source) {
  for (int i = 0; i < kNumPrimitives; ++i)
    if (name == kPrimitiveNames[static_cast<size_t>(i)]) return static_cast<Primitive>(i);
  invalid(source, "unknown operation ", shown(name), " (valid operations: ", valid_names_list(), ")");
}

std::vector<int> default_concat() {
  std::vector<int> c;
  for (int i = 2; i < kCellSteps + 2; ++i) c.push_back(i);
  return c;
}

void validate_genotype(const Genotype& g, const std::string& source) {
  const std::pair<const char*, const std::vector<GenotypeEdge>*> cells[] = {{"normal", &g.normal},
                                                                            {"reduce", &g.reduce}};
  for (const auto& [field, cell] : cells) {
    check_entry_count(cell->size(), field, source);
    for (size_t e = 0; e < cell->size(); ++e) {
      const int op = static_cast<int>((*cell)[e].op);
      if (op < 0 || op >= kNumPrimitives)
        invalid(source, field, "[", e, "] has the operation code ", op, ", which is not one of the ",
                kNumPrimitives, " primitives");
      checked_input((*cell)[e].input, static_cast<int>(e), field, source);
    }
  }
  checked_concat(std::vector<long long>(g.normal_concat.begin(), g.normal_concat.end()),
                 "normal_concat", source);
  checked_concat(std::vector<long long>(g.reduce_concat.begin(), g.reduce_concat.end()),
                 "reduce_concat", source);
}

// ---- JSON ----

json genotype_to_json(const Genotype& g) {
  validate_genotype(g, "the genotype being written");
  auto cell = [](const std::vector<GenotypeEdge>& c) {
    json a = json::array();
    for (const auto& e : c) a.push_back(json::array({primitive_name(e.op), e.input}));
    return a;
  };
  json j = json::object();
  j["normal"] = cell(g.normal);
  j["normal_concat"] = g.normal_concat;
  j["reduce"] = cell(g.reduce);
  j["reduce_concat"] = g.reduce_concat;
  return j;
}

Genotype genotype_from_json(const json& j, const std::string& source) {
  if (!j.is_object())
    invalid(source, "the JSON value is ", json_kind(j),
            ", not an object with the fields normal, normal_concat, reduce and reduce_concat");
  Genotype g;
  g.normal = json_cell(json_field(j, "normal", source), "normal", source);
  g.normal_concat = json_concat(json_field(j, "normal_concat", source), "normal_concat", source);
  g.reduce = json_cell(json_field(j, "reduce", source), "reduce", source);
  g.reduce_concat = json_concat(json_field(j, "reduce_concat", source), "reduce_concat", source);
  return g;
}

Genotype parse_genotype_json(const std::string& text, const std::string& source) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    invalid(source, "the text is not valid JSON (", shown(e.what(), 200), ")");
  }
  return genotype_from_json(j, source);
}

std::string genotype_to_json_text(const Genotype& g) {
  // One pair per line, like the data file but compact enough to read.
  const json j = genotype_to_json(g);
  std::ostringstream s;
  s << "{\n";
  const char* keys[] = {"normal", "normal_concat", "reduce", "reduce_concat"};
  for (int k = 0; k < 4; ++k) {
    s << " \"" << keys[k] << "\": ";
    const json& v = j[keys[k]];
    if (k % 2 == 0) {
      s << "[\n";
      for (size_t i = 0; i < v.size(); ++i) s << "  " << v[i].dump() << (i + 1 < v.size() ? ",\n" : "\n");
      s << " ]";
    } else {
      s << v.dump();
    }
    s << (k < 3 ? ",\n" : "\n");
  }
  s << "}\n";
  return s.str();
}

std::ostream& operator<<(std::ostream& os, const Genotype& g) { return os << genotype_to_darts(g); }

}  // namespace bnas::nas
