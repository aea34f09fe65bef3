// The flags of a settings table (nas/settings.h): one per row, "--" + name with '_' written '-',
// typed and limited to its choices as the row says. given() returns the flags given (on the
// command line or through the --config file) as a JSON object of the table's keys, which the
// config reads like any settings JSON (nas::search_config_from_json, train_config_from_json),
// so a flag, a --config key and a config.json key are checked by the same code.
#pragma once
#include <algorithm>
#include <cmath>
#include <deque>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "nas/settings.h"

namespace bnas::cli {

std::string flag_name(const std::string& setting);  // "arch_lr" -> "--arch-lr"

template <class Config>
class SettingFlags {
 public:
  // Adds a flag for every row of `table` but those named in `skip`. The table must outlive this.
  void add(CLI::App* sub, const nas::SettingTable<Config>& table, const std::vector<std::string>& skip = {}) {
    for (const auto& row : table) {
      if (std::find(skip.begin(), skip.end(), row.name) != skip.end()) continue;
      Entry& e = entries_.emplace_back();
      e.row = &row;
      std::string help = row.help;
      if (row.kind == nas::SettingKind::kInt || row.kind == nas::SettingKind::kDouble)
        if (!std::isinf(row.range.lo) || !std::isinf(row.range.hi)) help += "; " + row.range.str();
      e.opt = sub->add_option(flag_name(row.name), e.text, help)->type_name(nas::setting_kind_name(row.kind));
      if (!row.choices.empty()) e.opt->check(CLI::IsMember(row.choices));
    }
  }

  // The given flags as {"name": value}; throws naming the flag when a value has the wrong type.
  nlohmann::json given() const {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& e : entries_)
      if (e.opt->count() > 0) j[e.row->name] = nas::parse_setting_text(e.text, e.row->kind, e.opt->get_name());
    return j;
  }

 private:
  struct Entry {
    const nas::Setting<Config>* row = nullptr;
    std::string text;  // the flag's value as typed
    CLI::Option* opt = nullptr;
  };
  std::deque<Entry> entries_;  // a deque: CLI11 keeps references to each text
};

}  // namespace bnas::cli
