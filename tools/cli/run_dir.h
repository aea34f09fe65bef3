// The run directory of search and train: creating a fresh one (never over an existing run) or
// reopening one for --resume (its config.json fills the flags not given again), and the files
// in it that are not the log: config.json, summary.json and genotypes as JSON + DARTS text.
// All writes are atomic (write_file_atomically), so a failure never leaves half a file.
#pragma once
#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "engine/device.h"
#include "nas/genotype.h"
#include "tools/cli/common_flags.h"

namespace bnas::cli {

// A JSON file parsed; `what` names it in the error when it cannot be read or is not JSON.
nlohmann::json read_json_file(const std::string& path, const std::string& what);
void write_json(const std::string& path, const nlohmann::json& j);

// For a `command` run: with --resume, checks that the folder holds such a run, loads its
// config.json into *saved and takes the dataset, --data, --device and --subset from it where
// they were not given (a dataset given must be the run's). Requires a dataset either way.
Common resume_settings(const Common& c, const std::string& command, CLI::App* sub, nlohmann::json* saved);

// The run directory (with its checkpoints/ folder): the resumed one, --out, or
// runs/<command>-<dataset>-<UTC time>; refuses a fresh run in a folder that holds one.
std::string prepare_run_dir(const Common& c, const std::string& command);

// The keys of config.json both commands write (the command adds its settings).
nlohmann::json base_config_record(const std::string& command, const Common& c, const std::string& data_dir,
                                  Device dev, uint64_t seed);

// <stem>.json and <stem>.txt (DARTS text).
void write_genotype_both(const nas::Genotype& g, const std::string& stem);

}  // namespace bnas::cli
