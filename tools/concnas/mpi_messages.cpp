#include "mpi_messages.h"

#include <algorithm>
#include <filesystem>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "concnas/common/atomic_file.h"
#include "concnas/common/error.h"
#include "concnas/common/hash.h"

namespace concnas::cli {
namespace fs = std::filesystem;

std::string task_message(const search::SearchConfig& config, const search::TrialTask& task) {
  const std::string candidate = search::to_json_line(*task.candidate);
  const auto identity = Fnv1a().feed(search::to_yaml(config)).feed(candidate).feed(std::to_string(task.rung)).value();
  return nlohmann::json{{"candidate", candidate}, {"rung", task.rung}, {"identity", fmt::format("{:016x}", identity)}}
      .dump();
}

TaskMessage parse_task_message(const std::string& message) {
  const auto j = nlohmann::json::parse(message);
  return {search::candidate_from_json_line(j.at("candidate").get<std::string>(), "rank 0's task"),
          j.at("rung").get<int>(), j.at("identity").get<std::string>()};
}

void send_result(const MpiWorld& world, const search::TrialRecord& trial, const std::string& dir) {
  // Everything that can fail happens before the header: once rank 0 has it, it waits for
  // every file.
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file() && entry.path().extension() != ".tmp")
      files.emplace_back(entry.path().filename(), read_file(entry.path().string()));
  std::sort(files.begin(), files.end());
  nlohmann::json names = nlohmann::json::array();
  for (const auto& [name, bytes] : files) {
    CONCNAS_CHECK(bytes.size() <= kMaxMessageBytes, "{}/{}: {} bytes are over the {} one MPI message carries", dir,
                  name, bytes.size(), kMaxMessageBytes);
    names.push_back(name);
  }
  world.send(0, MpiTag::kResult, nlohmann::json{{"trial", search::to_json_line(trial)}, {"files", names}}.dump());
  for (const auto& [name, bytes] : files) world.send(0, MpiTag::kFile, bytes);
}

search::TrialRecord receive_result(const MpiWorld& world, int rank, const search::TrialTask& task,
                                   const std::string& run_dir) {
  const auto header = nlohmann::json::parse(world.receive(rank, MpiTag::kResult));
  const auto trial = search::trial_from_json_line(header.at("trial").get<std::string>(), fmt::format("rank {}", rank));
  CONCNAS_CHECK(trial.candidate == task.candidate->candidate.id && trial.rung == task.rung,
                "rank {} sent candidate {} rung {}, not the task it was given", rank, trial.candidate, trial.rung + 1);
  const std::string dir = search::trial_folder(run_dir, trial.candidate, trial.rung);
  fs::create_directories(dir);
  for (const auto& name : header.at("files")) {
    const auto file = name.get<std::string>();
    CONCNAS_CHECK(fs::path(file).filename() == file, "rank {} sent a file outside its trial folder: {}", rank, file);
    write_file_atomic(dir + "/" + file, world.receive(rank, MpiTag::kFile));
  }
  return trial;
}

}  // namespace concnas::cli
