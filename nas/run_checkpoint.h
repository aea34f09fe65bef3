// What the search's and the training's checkpoints (nas/search.h, nas/train.h) share. Each is one
// safetensors file holding groups of tensors under prefixes ("model.<name>", "opt.<name>", ...)
// and string metadata (JSON where structured): the format, the config, the epoch loop's position,
// loaders' positions and random generators. Resuming loads and checks the file, refuses other
// settings, and restores the tensors only when all of them fit.
#pragma once
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "data/loader.h"
#include "engine/checkpoint.h"
#include "engine/rng.h"
#include "nas/epoch_loop.h"
#include "nas/settings.h"

namespace bnas::nas {

using CheckpointMetadata = std::map<std::string, std::string>;

// Appends `group` to `out` with every name prefixed.
void append_group(NamedTensors& out, const std::string& prefix, const NamedTensors& group);

// The metadata every run checkpoint holds: its format, the config and the loop's position.
CheckpointMetadata run_metadata(const char* format, const nlohmann::json& config, const EpochLoop& loop);

// Loads the checkpoint at `path`; throws unless it exists and has the given format.
SafetensorsFile load_run_checkpoint(const std::string& path, const char* format);

// The metadata field `key` of the checkpoint f read from `path`; throws naming both if absent.
const std::string& checkpoint_meta(const SafetensorsFile& f, const std::string& path, const std::string& key);

// Throws, naming the first setting that differs, unless the config a checkpoint was written with
// (`saved`, read from its metadata) agrees with this run's (`now`) on every row fixed on resume
// (settings.h; the bookkeeping rows may change).
[[noreturn]] void fail_resume_mismatch(const std::string& path, const std::string& name, const nlohmann::json& saved,
                                       const nlohmann::json& now);
template <class Config>
void check_resume_config(const SettingTable<Config>& table, const std::string& path, const Config& saved,
                         const Config& now) {
  if (const Setting<Config>* s = first_resume_difference(table, saved, now))
    fail_resume_mismatch(path, s->name, s->get(saved), s->get(now));
}

// Copies the checkpoint's tensors into `dest` (same names), after checking that every one is
// there with the same shape and dtype and that the checkpoint holds no others: on a mismatch
// it throws and changes nothing.
void restore_tensors(const SafetensorsFile& f, const std::string& path, const NamedTensors& dest);

// The loop's position (epoch, global step, elapsed time) from the checkpoint.
void restore_loop(EpochLoop& loop, const SafetensorsFile& f, const std::string& path);

// A loader's (epoch, position) and a generator's (seed, stream, offset) as metadata, and back
// (the generator must have the saved seed and stream: only its offset is restored).
std::string loader_meta(const data::LoaderState& s);
data::LoaderState loader_state_from_meta(const std::string& meta);
std::string generator_meta(const Generator& g);
void restore_generator(Generator& g, const std::string& meta, const std::string& path);

}  // namespace bnas::nas
