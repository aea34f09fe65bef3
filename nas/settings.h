// Settings tables: one row per setting of a config (nas::SearchConfig, nas::TrainConfig) with
// its name, where it lives in the config, its bounds or allowed values and its help text. JSON
// reading and writing, validation, the resume check and the command line's flags are all
// derived from a config's table, so that adding a setting is one member and one row.
//
// The name is the JSON key (config.json, --config files, checkpoint metadata); the flag is
// "--" + name with '_' written '-'. Values are carried as JSON: an int row accepts JSON
// integers only, a double row any number, a bool row true/false, a string row a string (one of
// `choices` when given). Defaults are the config's own (its constructor, then the preset or
// dataset it is made for).
#pragma once
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace bnas::nas {

enum class SettingKind { kInt, kUint, kDouble, kBool, kString };
const char* setting_kind_name(SettingKind k);  // "INT", "UINT", "FLOAT", "BOOL", "TEXT"

// Numeric bounds lo <(=) v <(=) hi; the default admits every finite number.
struct Range {
  double lo = -HUGE_VAL, hi = HUGE_VAL;
  bool lo_open = false, hi_open = false;
  bool contains(double v) const;
  std::string str() const;  // "> 0", ">= 1", "in [0, 1)", ...
};
Range at_least(double lo);             // [lo, inf)
Range above(double lo);                // (lo, inf)
Range in_closed_open(double lo, double hi);  // [lo, hi)
Range in_open(double lo, double hi);   // (lo, hi)

// A value whose type is the row's: `what` names the setting in messages ("search setting
// 'epochs'"). Throws bnas::Error naming the setting, the value and the rule it breaks.
void check_setting_value(const nlohmann::json& v, SettingKind kind, const Range& range,
                         const std::vector<std::string>& choices, const std::string& what);
// The text of a flag or config-file value as the row's JSON type ("12" -> 12, "true" -> true).
nlohmann::json parse_setting_text(const std::string& text, SettingKind kind, const std::string& what);
// The name among `names` closest to `name` (edit distance), for "did you mean" hints.
std::string closest_name(const std::string& name, const std::vector<std::string>& names);
// Throws "unknown <what> '<key>' (did you mean '<closest>'?)".
[[noreturn]] void fail_unknown_setting(const std::string& what, const std::string& key,
                                       const std::vector<std::string>& names);
// Throws unless j is a JSON object.
void check_settings_object(const nlohmann::json& j, const std::string& what);

template <class Config>
struct Setting {
  std::string name;
  SettingKind kind;
  std::function<nlohmann::json(const Config&)> get;
  std::function<void(Config&, const nlohmann::json&)> set;  // the value must have passed check()
  std::string help;
  Range range{};
  std::vector<std::string> choices{};  // string rows: the allowed values (empty: any)
  bool fixed_on_resume = true;         // a resumed run must keep the value it was started with

  Setting& may_change_on_resume() {
    fixed_on_resume = false;
    return *this;
  }

  void check(const nlohmann::json& v, const std::string& what) const {
    check_setting_value(v, kind, range, choices, what + " '" + name + "'");
  }
};

namespace detail {
template <class T>
constexpr SettingKind kind_of() {
  if constexpr (std::is_same_v<T, bool>) return SettingKind::kBool;
  else if constexpr (std::is_same_v<T, uint64_t>) return SettingKind::kUint;
  else if constexpr (std::is_integral_v<T>) return SettingKind::kInt;
  else if constexpr (std::is_floating_point_v<T>) return SettingKind::kDouble;
  else return SettingKind::kString;
}
}  // namespace detail

// A row for the value `ref(config)` refers to; ref is generic, so that it serves a const config
// too: setting<C>("lr", [](auto& c) -> auto& { return c.lr; }, "weight learning rate", above(0)).
template <class Config, class Ref>
Setting<Config> setting(std::string name, Ref ref, std::string help, Range range = {},
                        std::vector<std::string> choices = {}) {
  using T = std::decay_t<decltype(ref(std::declval<Config&>()))>;
  Setting<Config> s;
  s.name = std::move(name);
  s.kind = detail::kind_of<T>();
  s.get = [ref](const Config& c) { return nlohmann::json(ref(c)); };
  s.set = [ref](Config& c, const nlohmann::json& v) { ref(c) = v.get<T>(); };
  s.help = std::move(help);
  s.range = range;
  s.choices = std::move(choices);
  return s;
}

// A row for an enum stored through its name (`names` in enum order; to_name / from_name convert).
template <class Config, class Ref, class ToName, class FromName>
Setting<Config> enum_setting(std::string name, Ref ref, ToName to_name, FromName from_name, std::string help,
                             std::vector<std::string> names) {
  Setting<Config> s;
  s.name = std::move(name);
  s.kind = SettingKind::kString;
  s.get = [ref, to_name](const Config& c) { return nlohmann::json(to_name(ref(c))); };
  s.set = [ref, from_name](Config& c, const nlohmann::json& v) { ref(c) = from_name(v.get<std::string>()); };
  s.help = std::move(help);
  s.choices = std::move(names);
  return s;
}

template <class Config>
using SettingTable = std::vector<Setting<Config>>;

template <class Config>
std::vector<std::string> setting_names(const SettingTable<Config>& table) {
  std::vector<std::string> names;
  for (const auto& s : table) names.push_back(s.name);
  return names;
}

// The row named `name`, or null.
template <class Config>
const Setting<Config>* find_setting(const SettingTable<Config>& table, const std::string& name) {
  for (const auto& s : table)
    if (s.name == name) return &s;
  return nullptr;
}

template <class Config>
nlohmann::json settings_to_json(const SettingTable<Config>& table, const Config& c) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& s : table) j[s.name] = s.get(c);
  return j;
}

// Sets the keys of `j` on `c`; missing keys keep c's values. `what` names the config in
// messages ("search setting"). Throws on a key that is not a row (naming the closest one), on a
// value of the wrong type and on one out of bounds.
template <class Config>
void settings_from_json(const SettingTable<Config>& table, const nlohmann::json& j, Config& c,
                        const std::string& what) {
  check_settings_object(j, what);
  for (const auto& [key, value] : j.items()) {
    const Setting<Config>* row = find_setting(table, key);
    if (!row) fail_unknown_setting(what, key, setting_names(table));
    row->check(value, what);
    row->set(c, value);
  }
}

// Every row's value within its bounds (what from_json also checks, for configs set in code).
template <class Config>
void check_settings(const SettingTable<Config>& table, const Config& c, const std::string& what) {
  for (const auto& s : table) s.check(s.get(c), what);
}

// The first row fixed on resume whose value differs between `saved` and `now` (empty if none).
template <class Config>
const Setting<Config>* first_resume_difference(const SettingTable<Config>& table, const Config& saved,
                                               const Config& now) {
  for (const auto& s : table)
    if (s.fixed_on_resume && s.get(saved) != s.get(now)) return &s;
  return nullptr;
}

}  // namespace bnas::nas
