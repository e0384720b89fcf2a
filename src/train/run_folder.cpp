#include "run_folder.h"

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "concnas/common/atomic_file.h"
#include "concnas/common/error.h"
#include "concnas/config/architecture_yaml.h"

namespace concnas::train::detail {
namespace fs = std::filesystem;

bool RunFolder::open(bool resume, const std::string& config_yaml, const arch::Architecture& arch) const {
  const bool checkpointed = fs::exists(checkpoint_path());
  CONCNAS_CHECK(resume || !checkpointed, "{} already holds a run (checkpoint.pt); use --resume or another --out", dir_);
  fs::create_directories(dir_);
  write_file_atomic(dir_ + "/config.yaml", config_yaml);
  config::save_architecture(arch, dir_ + "/arch.yaml");
  return resume && checkpointed;
}

RunProgress RunFolder::resume(nn::Network& net, torch::optim::SGD& opt, const std::string& arch_name) const {
  RunProgress at;
  try {
    torch::serialize::InputArchive root, model, optim;
    root.load_from(checkpoint_path());
    root.read("model", model);
    root.read("optimizer", optim);
    net->load(model);
    opt.load(optim);
    torch::Tensor epoch, step, seconds, images;
    root.read("epoch", epoch);
    root.read("step", step);
    at.epoch = static_cast<int>(epoch.item<std::int64_t>());
    at.step = step.item<std::int64_t>();
    if (root.try_read("seconds", seconds)) at.seconds = seconds.item<double>();
    if (root.try_read("images", images)) at.images = images.item<std::int64_t>();
  } catch (const c10::Error& err) {
    // LibTorch's messages run over many lines; the first one says what went wrong.
    throw Error(fmt::format("cannot resume from {}: it does not match architecture '{}' ({})",
                            checkpoint_path(), arch_name, first_line(err.what())));
  }
  keep_metrics_up_to(at.epoch);
  return at;
}

void RunFolder::clear_metrics() const {
  if (fs::exists(metrics_path())) fs::remove(metrics_path());
}

// A resumed run recomputes the epochs after its checkpoint: their lines go.
void RunFolder::keep_metrics_up_to(int epochs) const {
  const std::string path = metrics_path();
  if (!fs::exists(path)) return;
  std::ifstream in(path);
  std::string kept, line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    try {
      if (nlohmann::json::parse(line).at("epoch").get<int>() <= epochs) kept += line + "\n";
    } catch (const std::exception&) {
      break;  // a torn last line from a crash
    }
  }
  write_file_atomic(path, kept);
}

void RunFolder::append_metrics(const nlohmann::ordered_json& line) const {
  std::ofstream out(metrics_path(), std::ios::app);
  out << line.dump() << "\n";
  out.flush();
  if (!out) throw IoError("cannot append to " + metrics_path());
}

void RunFolder::save_checkpoint(nn::Network& net, torch::optim::SGD& opt, const RunProgress& at) const {
  torch::serialize::OutputArchive root, model, optim;
  net->save(model);
  opt.save(optim);
  root.write("model", model);
  root.write("optimizer", optim);
  root.write("epoch", torch::tensor(static_cast<std::int64_t>(at.epoch)));
  root.write("step", torch::tensor(at.step));
  root.write("seconds", torch::tensor(at.seconds, torch::kDouble));
  root.write("images", torch::tensor(at.images));
  root.save_to(checkpoint_path() + ".tmp");
  fs::rename(checkpoint_path() + ".tmp", checkpoint_path());
}

void RunFolder::save_weights(nn::Network& net) const {
  torch::save(net, dir_ + "/weights.pt.tmp");
  fs::rename(dir_ + "/weights.pt.tmp", dir_ + "/weights.pt");
}

void RunFolder::write_eval(const nlohmann::ordered_json& eval) const {
  write_file_atomic(dir_ + "/eval.json", eval.dump(2) + "\n");
}

}  // namespace concnas::train::detail
