// Settings tables (settings.h): value checks, text parsing and name hints.
#include "nas/settings.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <limits>
#include <sstream>

#include "engine/check.h"

namespace bnas::nas {

const char* setting_kind_name(SettingKind k) {
  switch (k) {
    case SettingKind::kInt: return "INT";
    case SettingKind::kUint: return "UINT";
    case SettingKind::kDouble: return "FLOAT";
    case SettingKind::kBool: return "BOOL";
    case SettingKind::kString: return "TEXT";
  }
  return "?";
}

bool Range::contains(double v) const {
  return std::isfinite(v) && (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
}

std::string Range::str() const {
  std::ostringstream s;
  if (std::isinf(hi)) {
    if (std::isinf(lo)) return "a finite number";
    s << (lo_open ? "> " : ">= ") << lo;
  } else {
    s << "in " << (lo_open ? "(" : "[") << lo << ", " << hi << (hi_open ? ")" : "]");
  }
  return s.str();
}

Range at_least(double lo) { return {lo, HUGE_VAL, false, false}; }
Range above(double lo) { return {lo, HUGE_VAL, true, false}; }
Range in_closed_open(double lo, double hi) { return {lo, hi, false, true}; }
Range in_open(double lo, double hi) { return {lo, hi, true, true}; }

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

}  // namespace

void check_setting_value(const nlohmann::json& v, SettingKind kind, const Range& range,
                         const std::vector<std::string>& choices, const std::string& what) {
  switch (kind) {
    case SettingKind::kInt:
      BNAS_CHECK(v.is_number_integer() && v.get<int64_t>() >= std::numeric_limits<int>::min() &&
                     v.get<int64_t>() <= std::numeric_limits<int>::max(),
                 what, " must be an integer, got ", v.dump());
      break;
    case SettingKind::kUint:
      BNAS_CHECK(v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0), what,
                 " must be a non-negative integer, got ", v.dump());
      break;
    case SettingKind::kDouble:
      BNAS_CHECK(v.is_number(), what, " must be a number, got ", v.dump());
      break;
    case SettingKind::kBool:
      BNAS_CHECK(v.is_boolean(), what, " must be true or false, got ", v.dump());
      return;
    case SettingKind::kString:
      BNAS_CHECK(v.is_string(), what, " must be a string, got ", v.dump());
      BNAS_CHECK(choices.empty() || std::count(choices.begin(), choices.end(), v.get<std::string>()) > 0, what,
                 " must be one of ", join(choices), ", got ", v.dump());
      return;
  }
  const double x = v.get<double>();
  BNAS_CHECK(range.contains(x), what, " must be ", range.str(), ", got ", v.dump());
}

nlohmann::json parse_setting_text(const std::string& text, SettingKind kind, const std::string& what) {
  const char* b = text.c_str();
  char* end = nullptr;
  errno = 0;
  switch (kind) {
    case SettingKind::kInt: {
      const long long v = std::strtoll(b, &end, 10);
      BNAS_CHECK(!text.empty() && *end == '\0' && errno == 0, what, " must be an integer, got '", text, "'");
      return v;
    }
    case SettingKind::kUint: {
      const unsigned long long v = std::strtoull(b, &end, 10);
      BNAS_CHECK(!text.empty() && text[0] != '-' && *end == '\0' && errno == 0, what,
                 " must be a non-negative integer, got '", text, "'");
      return static_cast<uint64_t>(v);
    }
    case SettingKind::kDouble: {
      const double v = std::strtod(b, &end);
      BNAS_CHECK(!text.empty() && *end == '\0' && errno == 0, what, " must be a number, got '", text, "'");
      return v;
    }
    case SettingKind::kBool:
      if (text == "true" || text == "1" || text == "on" || text == "yes") return true;
      if (text == "false" || text == "0" || text == "off" || text == "no") return false;
      BNAS_FAIL(what, " must be true or false, got '", text, "'");
    case SettingKind::kString:
      return text;
  }
  return nullptr;
}

std::string closest_name(const std::string& name, const std::vector<std::string>& names) {
  std::string best;
  size_t best_d = std::numeric_limits<size_t>::max();
  for (const auto& n : names) {
    // Levenshtein distance, one row at a time.
    std::vector<size_t> row(n.size() + 1);
    for (size_t j = 0; j <= n.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= name.size(); ++i) {
      size_t diag = row[0];
      row[0] = i;
      for (size_t j = 1; j <= n.size(); ++j) {
        const size_t up = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (name[i - 1] == n[j - 1] ? 0 : 1)});
        diag = up;
      }
    }
    if (row[n.size()] < best_d) best_d = row[n.size()], best = n;
  }
  return best;
}

void fail_unknown_setting(const std::string& what, const std::string& key, const std::vector<std::string>& names) {
  BNAS_FAIL("unknown ", what, " '", key, "' (did you mean '", closest_name(key, names), "'?)");
}

void check_settings_object(const nlohmann::json& j, const std::string& what) {
  BNAS_CHECK(j.is_object(), what, "s must be a JSON object, got ", j.dump());
}

}  // namespace bnas::nas
