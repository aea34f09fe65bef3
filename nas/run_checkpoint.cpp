// Checkpoint pieces shared by the search and the training (see run_checkpoint.h).
#include "nas/run_checkpoint.h"

#include <filesystem>
#include <set>

#include "engine/check.h"

namespace bnas::nas {

void append_group(NamedTensors& out, const std::string& prefix, const NamedTensors& group) {
  for (const auto& [n, t] : group) out.emplace_back(prefix + n, t);
}

CheckpointMetadata run_metadata(const char* format, const nlohmann::json& config, const EpochLoop& loop) {
  return {{"format", format},
          {"config", config.dump()},
          {"epoch", std::to_string(loop.epoch())},
          {"global_step", std::to_string(loop.global_step())},
          {"elapsed_s", nlohmann::json(loop.elapsed_s()).dump()}};
}

SafetensorsFile load_run_checkpoint(const std::string& path, const char* format) {
  BNAS_CHECK(std::filesystem::exists(path), "no checkpoint to resume from: ", path, " does not exist");
  SafetensorsFile f = load_safetensors(path);
  BNAS_CHECK(checkpoint_meta(f, path, "format") == format, "checkpoint ", path, " has the format '",
             checkpoint_meta(f, path, "format"), "' where '", format, "' was expected");
  return f;
}

const std::string& checkpoint_meta(const SafetensorsFile& f, const std::string& path, const std::string& key) {
  const auto it = f.metadata.find(key);
  BNAS_CHECK(it != f.metadata.end(), "checkpoint ", path, " lacks the metadata field '", key,
             "' (written by another program or version)");
  return it->second;
}

void fail_resume_mismatch(const std::string& path, const std::string& name, const nlohmann::json& saved,
                          const nlohmann::json& now) {
  BNAS_FAIL("checkpoint ", path, " was written with ", name, " = ", saved.dump(), " but this run has ", name, " = ",
            now.dump(), ": resume with the original settings");
}

void restore_tensors(const SafetensorsFile& f, const std::string& path, const NamedTensors& dest) {
  std::set<std::string> expected;
  for (const auto& [n, t] : dest) {
    expected.insert(n);
    const auto it = f.tensors.find(n);
    BNAS_CHECK(it != f.tensors.end(), "checkpoint ", path, " has no tensor '", n,
               "': it was written by a different network or configuration");
    BNAS_CHECK(it->second.shape() == t.shape() && it->second.dtype() == t.dtype(), "checkpoint ", path,
               ": tensor '", n, "' is ", dtype_name(it->second.dtype()), " ", it->second.shape().str(),
               " but the network expects ", dtype_name(t.dtype()), " ", t.shape().str());
  }
  for (const auto& [n, t] : f.tensors)
    BNAS_CHECK(expected.count(n) != 0, "checkpoint ", path, " holds an unexpected tensor '", n, "'");
  for (const auto& [n, t] : dest) {
    Tensor d = t;
    d.copy_(f.tensors.at(n));
  }
}

void restore_loop(EpochLoop& loop, const SafetensorsFile& f, const std::string& path) {
  loop.restore(std::stoi(checkpoint_meta(f, path, "epoch")), std::stoll(checkpoint_meta(f, path, "global_step")),
               nlohmann::json::parse(checkpoint_meta(f, path, "elapsed_s")).get<double>());
}

std::string loader_meta(const data::LoaderState& s) { return nlohmann::json{s.epoch, s.position}.dump(); }

data::LoaderState loader_state_from_meta(const std::string& meta) {
  const nlohmann::json j = nlohmann::json::parse(meta);
  return {j.at(0).get<int64_t>(), j.at(1).get<int64_t>()};
}

std::string generator_meta(const Generator& g) { return nlohmann::json{g.seed(), g.stream(), g.offset()}.dump(); }

void restore_generator(Generator& g, const std::string& meta, const std::string& path) {
  const nlohmann::json j = nlohmann::json::parse(meta);
  BNAS_CHECK(j.at(0).get<uint64_t>() == g.seed() && j.at(1).get<uint64_t>() == g.stream(), "checkpoint ", path,
             ": a random generator has a different seed or stream");
  g.set_offset(j.at(2).get<uint64_t>());
}

}  // namespace bnas::nas
