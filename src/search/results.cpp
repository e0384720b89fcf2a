#include "concnas/search/results.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "concnas/common/error.h"

namespace concnas::search {
namespace fs = std::filesystem;

std::string to_json_line(const TrialRecord& t) {
  nlohmann::ordered_json j{{"candidate", t.candidate},         {"rung", t.rung},
                           {"train_subset", t.train_subset},   {"epochs", t.epochs},
                           {"val_accuracy", t.val_accuracy},   {"test_accuracy", t.test_accuracy},
                           {"test_loss", t.test_loss},         {"params", t.params},
                           {"seconds", t.seconds}};
  if (!t.failed.empty()) j["failed"] = t.failed;
  return j.dump();
}

TrialRecord trial_from_json_line(const std::string& line, const std::string& where) {
  TrialRecord t;
  try {
    const auto j = nlohmann::json::parse(line);
    t.candidate = j.at("candidate").get<int>();
    t.rung = j.at("rung").get<int>();
    t.train_subset = j.at("train_subset").get<std::int64_t>();
    t.epochs = j.at("epochs").get<int>();
    t.val_accuracy = j.at("val_accuracy").get<double>();
    t.test_accuracy = j.at("test_accuracy").get<double>();
    t.test_loss = j.at("test_loss").get<double>();
    t.params = j.at("params").get<std::int64_t>();
    t.seconds = j.at("seconds").get<double>();
    if (j.contains("failed")) t.failed = j.at("failed").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    throw ParseError(where, 0, fmt::format("not a trial record: {}", e.what()));
  }
  return t;
}

std::vector<std::string> read_jsonl(const std::string& path, bool repair) {
  std::vector<std::string> lines;
  if (!fs::exists(path)) return lines;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  std::size_t start = 0;
  while (start < text.size()) {
    const auto end = text.find('\n', start);
    if (end == std::string::npos) {
      // A record cut short by a crash: drop it; it is recomputed.
      if (repair) fs::resize_file(path, start);
      break;
    }
    if (end > start) lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

void append_jsonl(const std::string& path, const std::string& line) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw IoError("cannot open " + path + " for appending");
  const std::string data = line + "\n";
  std::size_t written = 0;
  while (written < data.size()) {
    const ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0) {
      ::close(fd);
      throw IoError("cannot append to " + path);
    }
    written += static_cast<std::size_t>(n);
  }
  ::fdatasync(fd);
  ::close(fd);
}

std::vector<FinalEntry> final_entries(const std::vector<CandidateRecord>& candidates,
                                      const std::vector<TrialRecord>& trials, int last_rung) {
  std::vector<FinalEntry> out;
  for (const auto& c : candidates)
    for (const auto& t : trials)
      if (t.candidate == c.candidate.id && t.rung == last_rung) out.push_back({&c, &t, false});
  std::vector<std::vector<double>> points;
  for (const auto& e : out)
    points.push_back({-e.trial->test_accuracy, e.candidate->best_option().latency_ms,
                      static_cast<double>(e.candidate->params)});
  for (std::size_t i : pareto_front(points)) out[i].on_front = true;
  return out;
}

std::string pareto_csv(const std::vector<FinalEntry>& entries) {
  std::string out =
      "id,name,kind,generator,test_accuracy,val_accuracy,latency_ms,speedup,cs,comm_bytes,params,"
      "flops,epochs,train_subset,on_front\n";
  for (const auto& e : entries) {
    const auto& c = *e.candidate;
    const auto& o = c.best_option();
    out += fmt::format("{},{},{},{},{:.4f},{:.4f},{:.6f},{:.4f},{:.6f},{},{},{},{},{},{}\n", c.candidate.id,
                       c.name, c.candidate.kind, c.candidate.arch.generator, e.trial->test_accuracy,
                       e.trial->val_accuracy, o.latency_ms, o.speedup, o.cs, o.comm_bytes, c.params,
                       c.flops, e.trial->epochs, e.trial->train_subset, e.on_front ? 1 : 0);
  }
  return out;
}

}  // namespace concnas::search
