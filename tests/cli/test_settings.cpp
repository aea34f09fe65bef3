// The settings tables (nas/settings.h) of the search and the training: every row through
// flag -> config -> JSON -> config with a value that is not its default, the --config file
// reaching every row, unknown keys, one rule for the clipping norm, one partial-channel K, the
// dataset's own search preset, and config.json of a run written before the tables (the
// fixtures in tests/cli/fixtures are resumed by test_cli).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "engine/check.h"
#include "nas/broad_network.h"
#include "nas/search.h"
#include "nas/train.h"
#include "tests/error_of.h"
#include "tools/cli/common_flags.h"
#include "tools/cli/setting_flags.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace bnas;
using namespace bnas::nas;

namespace {

// A value of `row` that differs from `now` and is within the row's bounds and choices.
template <class Config>
json other_value(const Setting<Config>& row, const json& now) {
  switch (row.kind) {
    case SettingKind::kBool: return !now.get<bool>();
    case SettingKind::kInt: return now.get<int>() + 2;  // + 2: layers stay even
    case SettingKind::kUint: return now.get<uint64_t>() + 1;
    case SettingKind::kDouble: {
      const double v = now.get<double>();
      return std::isinf(row.range.hi) ? 2 * v + 0.5 : (v + row.range.hi) / 2;
    }
    case SettingKind::kString:
      for (const auto& c : row.choices)
        if (c != now.get<std::string>()) return c;
      return now.get<std::string>() + "/other";
  }
  return nullptr;
}

// The text a user types for a JSON value.
std::string as_text(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

// Parses `args` for a subcommand holding the common flags and the table's flags.
template <class Config>
json parse_flags(const SettingTable<Config>& table, const std::vector<std::string>& args,
                 cli::Common* common = nullptr) {
  CLI::App app;
  CLI::App* sub = app.add_subcommand("run");
  cli::Common c;
  cli::add_common(sub, c, false);
  cli::SettingFlags<Config> flags;
  flags.add(sub, table);
  std::vector<std::string> argv{"bnas_engine", "run"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<const char*> ptrs;
  for (const auto& a : argv) ptrs.push_back(a.c_str());
  app.parse(static_cast<int>(ptrs.size()), ptrs.data());
  cli::apply_common(sub, c);
  if (common) *common = c;
  return flags.given();
}

// Every row, set by its flag to a value other than its default, survives flag -> config ->
// JSON -> config; the values are compared row by row with the ones typed.
template <class Config, class FromJson>
void every_row_round_trips(const Config& defaults, FromJson from_json) {
  const auto& table = Config::table();
  json chosen = json::object();
  std::vector<std::string> args;
  for (const auto& row : table) {
    if (row.name == "preset") continue;  // chooses the defaults; its own test below
    const json v = other_value(row, row.get(defaults));
    ASSERT_NE(v, row.get(defaults)) << row.name;
    chosen[row.name] = v;
    args.push_back(cli::flag_name(row.name));
    args.push_back(as_text(v));
  }
  const Config from_flags = from_json(parse_flags(table, args), defaults);
  const Config back = from_json(to_json(from_flags), Config{});
  for (const auto& row : table) {
    if (row.name == "preset") continue;
    EXPECT_EQ(row.get(from_flags), chosen[row.name]) << "flag -> config: " << row.name;
    EXPECT_EQ(row.get(back), chosen[row.name]) << "config -> JSON -> config: " << row.name;
  }
}

}  // namespace

TEST(Settings, EverySearchRowRoundTripsFromItsFlag) {
  every_row_round_trips(SearchConfig::preset_config("bnas-d"),
                        [](const json& j, const SearchConfig& base) { return search_config_from_json(j, base); });
}

TEST(Settings, EveryTrainRowRoundTripsFromItsFlag) {
  every_row_round_trips(TrainConfig::defaults_for("cifar10"),
                        [](const json& j, const TrainConfig& base) { return train_config_from_json(j, base); });
}

TEST(Settings, EveryRowIsReachableThroughTheConfigFile) {
  const SearchConfig d = SearchConfig::preset_config("bnas-d");
  json file = json::object();
  for (const auto& row : SearchConfig::table())
    if (row.name != "preset") file[row.name] = other_value(row, row.get(d));
  const fs::path path = fs::temp_directory_path() / "bnas_test_settings_config.json";
  std::ofstream(path) << file.dump();
  const json given = parse_flags(SearchConfig::table(), {"--config", path.string()});
  EXPECT_EQ(given, file);
  // A flag on the command line wins over the file.
  const json over = parse_flags(SearchConfig::table(), {"--config", path.string(), "--epochs", "7"});
  EXPECT_EQ(over.at("epochs"), 7);
  fs::remove(path);
}

TEST(Settings, UnknownKeysAreRejectedEverywhereNamingTheClosest) {
  using bnas::testing::error_of;
  EXPECT_NE(error_of([] { search_config_from_json({{"epoch", 3}}); }).find("did you mean 'epochs'"),
            std::string::npos);
  EXPECT_NE(error_of([] { train_config_from_json({{"arch_lr", 3}}); }).find("unknown training setting 'arch_lr'"),
            std::string::npos);
  EXPECT_NE(error_of([] { train_config_from_json({{"drop_paht", 0.1}}); }).find("did you mean 'drop_path'"),
            std::string::npos);
  // The config file of the command line says the same.
  const fs::path path = fs::temp_directory_path() / "bnas_test_settings_unknown.json";
  std::ofstream(path) << R"({"lr_mni": 0.1})";
  EXPECT_NE(error_of([&] { parse_flags(SearchConfig::table(), {"--config", path.string()}); })
                .find("did you mean 'lr_min'"),
            std::string::npos);
  fs::remove(path);
}

TEST(Settings, ValuesOfTheWrongTypeOrOutOfBoundsNameTheSetting) {
  EXPECT_THROW(search_config_from_json({{"epochs", 2.5}}), Error);
  EXPECT_THROW(search_config_from_json({{"epochs", "three"}}), Error);
  EXPECT_THROW(search_config_from_json({{"edge_norm", 1}}), Error);
  EXPECT_THROW(search_config_from_json({{"clr_mode", "fast"}}), Error);
  EXPECT_THROW(search_config_from_json({{"train_portion", 1.0}}), Error);
  EXPECT_THROW(train_config_from_json({{"seed", -1}}), Error);
  EXPECT_THROW(parse_flags(TrainConfig::table(), {"--epochs", "3x"}), Error);
  EXPECT_THROW(parse_flags(TrainConfig::table(), {"--deterministic", "maybe"}), Error);
}

TEST(Settings, OneRuleForTheGradientClippingNorm) {
  // 0 turns clipping off in both loops; negative norms are refused by both.
  SearchConfig s = SearchConfig::preset_config("bnas-d");
  TrainConfig t = TrainConfig::defaults_for("cifar10");
  s.grad_clip = 0, t.grad_clip = 0;
  EXPECT_NO_THROW(s.validate());
  EXPECT_NO_THROW(t.validate());
  s.grad_clip = -1, t.grad_clip = -1;
  EXPECT_THROW(s.validate(), Error);
  EXPECT_THROW(t.validate(), Error);
}

TEST(Settings, OnePartialChannelDefault) {
  // The default search config, the command line's default preset for CIFAR and the supernet it
  // builds all take K from the CIFAR search network.
  const int k = SupernetConfig::pc_cifar().k;
  EXPECT_EQ(SearchConfig{}.pc_k, k);
  EXPECT_EQ(SearchConfig::preset_config(SearchConfig::default_preset("cifar10")).pc_k, k);
  EXPECT_EQ(supernet_config(SearchConfig{}, 10, 3, 32).k, k);
  EXPECT_EQ(SearchConfig::preset_config("imagenet").pc_k, SupernetConfig::pc_imagenet().k);
  EXPECT_EQ(SearchConfig::preset_config("bnas-d").pc_k, SupernetConfig::full_cifar().k);
}

TEST(Settings, EachDatasetSearchesWithItsOwnPreset) {
  EXPECT_EQ(SearchConfig::default_preset("imagenet"), "imagenet");
  for (const char* d : {"cifar10", "cifar100", "mnist", "fashion-mnist"})
    EXPECT_EQ(SearchConfig::default_preset(d), "bnas-v2-pc") << d;
  // A "preset" key replaces the base by that preset before the other keys apply.
  const SearchConfig c = search_config_from_json({{"preset", "imagenet"}, {"epochs", 3}});
  EXPECT_EQ(c.preset, "imagenet");
  EXPECT_EQ(c.arch_start_epoch, 35);
  EXPECT_EQ(c.epochs, 3);
}

TEST(Settings, CrossRowRulesNameTheSettings) {
  SearchConfig s;
  s.pc_k = 3;  // does not divide 16 channels
  EXPECT_THROW(s.validate(), Error);
  TrainConfig t;
  t.layers = 3;
  EXPECT_THROW(t.validate(), Error);
  t = TrainConfig{};
  t.lr_min = 2 * t.lr;
  EXPECT_THROW(t.validate(), Error);
  t = TrainConfig{};
  t.warmup_epochs = t.epochs;
  EXPECT_THROW(t.validate(), Error);
}

TEST(Settings, ConfigJsonOfARunWrittenBeforeTheTablesStillReads) {
  // config.json of the fixture runs (written by 7d79521) holds the settings of that day.
  const auto read = [](const char* run) {
    std::ifstream in(fs::path(BNAS_SOURCE_DIR) / "tests/cli/fixtures" / run / "config.json");
    return json::parse(in).at("settings");
  };
  const SearchConfig s = search_config_from_json(read("search-run-7d79521"));
  EXPECT_EQ(s.preset, "bnas-v2-pc");
  EXPECT_EQ(s.channels, 4);
  EXPECT_EQ(s.epochs, 2);
  EXPECT_EQ(s.arch_start_epoch, 0);
  EXPECT_FALSE(s.deterministic);  // a setting added since: its default
  const TrainConfig t = train_config_from_json(read("train-run-7d79521"), TrainConfig::defaults_for("mnist"));
  EXPECT_EQ(t.channels, 4);
  EXPECT_EQ(t.cutout, 0);
  EXPECT_EQ(t.epochs, 2);
}
