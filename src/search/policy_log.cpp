#include "policy_log.h"

#include <cstdio>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>

#include "concnas/common/atomic_file.h"
#include "concnas/common/error.h"

namespace concnas::search::detail {
namespace {

PolicyRow row_from_json(const nlohmann::json& j) {
  PolicyRow r;
  r.search = j.at("search").get<std::string>();
  r.seed = j.at("seed").get<int>();
  r.sample = j.at("sample").get<int>();
  r.permutations = j.at("permutations").get<std::vector<int>>();
  r.name = j.at("name").get<std::string>();
  r.final = j.at("final").get<bool>();
  r.images = j.at("images").get<std::int64_t>();
  r.val_accuracy = j.at("val_accuracy").get<double>();
  r.exchange_bytes = j.at("exchange_bytes").get<std::int64_t>();
  r.traffic = j.at("traffic").get<double>();
  r.reward = j.at("reward").get<double>();
  return r;
}

}  // namespace

nlohmann::ordered_json policy_row_json(const PolicyRow& r) {
  return {{"search", r.search},   {"seed", r.seed},
          {"sample", r.sample},   {"permutations", r.permutations},
          {"name", r.name},       {"final", r.final},
          {"images", r.images},   {"val_accuracy", r.val_accuracy},
          {"exchange_bytes", r.exchange_bytes}, {"traffic", r.traffic},
          {"reward", r.reward}};
}

std::vector<PolicyRow> read_policy_log(const std::string& path, bool* cut_short) {
  std::vector<PolicyRow> rows;
  if (cut_short != nullptr) *cut_short = false;
  if (!std::filesystem::exists(path)) return rows;
  const std::string text = read_file(path);
  // Every line is written whole with its newline: one without is what a kill cut short.
  if (cut_short != nullptr) *cut_short = !text.empty() && text.back() != '\n';
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    try {
      rows.push_back(row_from_json(nlohmann::json::parse(lines[i])));
    } catch (const nlohmann::json::exception& e) {
      if (i + 1 == lines.size()) break;  // cut short by a kill: scored again
      throw ParseError(path, static_cast<int>(i + 1), fmt::format("not a scored policy: {}", e.what()));
    }
  }
  return rows;
}

void rewrite_policy_log(const std::string& path, const std::vector<PolicyRow>& rows) {
  std::string text;
  for (const auto& r : rows) text += policy_row_json(r).dump() + "\n";
  write_file_atomic(path, text);
}

void append_policy_row(const std::string& path, const PolicyRow& row) {
  std::FILE* f = std::fopen(path.c_str(), "a");
  if (f == nullptr) throw IoError(fmt::format("{}: cannot append to it", path));
  const std::string line = policy_row_json(row).dump() + "\n";
  const bool ok = std::fwrite(line.data(), 1, line.size(), f) == line.size() && std::fflush(f) == 0;
  std::fclose(f);
  if (!ok) throw IoError(fmt::format("{}: cannot append to it", path));
}

}  // namespace concnas::search::detail
