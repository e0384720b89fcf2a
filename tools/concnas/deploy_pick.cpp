// The search's pick deployed on local workers and measured, for its report: exported as
// `concnas export` would (the partition the search's devices predict fastest), then run
// with `concnas run --local` on the data set's test images.

#include "deploy_pick.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "calibrate_links.h"
#include "concnas/common/atomic_file.h"
#include "concnas/common/error.h"
#include "concnas/config/architecture_yaml.h"
#include "concnas/data/dataset.h"
#include "concnas/deploy/export.h"
#include "concnas/search/candidates.h"

namespace concnas::cli {
namespace fs = std::filesystem;
namespace {

constexpr int kRuns = 200;

// The normalisation the pick was trained with (its training's eval.json).
deploy::InputSpec trained_input(const std::string& trial_folder) {
  const auto eval = nlohmann::json::parse(read_file(trial_folder + "/eval.json"));
  return {eval.at("input_mean").get<std::vector<double>>(), eval.at("input_std").get<std::vector<double>>()};
}

// The data set's test images as the IDX files `run --input/--labels` take, in `dir`.
std::vector<std::string> test_images(const search::SearchConfig& cfg, const std::string& dir) {
  const auto& dataset = data::builtin_datasets().get(cfg.base.data.dataset);
  const auto test = dataset.load(config::dataset_options(cfg.base.data, cfg.base.train.seed), data::Split::kTest);
  CONCNAS_CHECK(test.channels == 1, "`concnas run` feeds one-channel IDX images; {} has {} channels",
                dataset.name(), test.channels);
  data::write_mnist_format(test, test, dir, /*gzip=*/false);
  return {"--input", dir + "/t10k-images-idx3-ubyte", "--labels", dir + "/t10k-labels-idx1-ubyte"};
}

}  // namespace

search::PickDeployer make_pick_deployer(const search::SearchConfig& cfg) {
  return [cfg](const search::CandidateRecord& pick, const std::string& best, const std::string& trial) {
    const auto a = config::load_architecture(best + "/arch.yaml");
    nn::Network net(a);
    torch::load(net, best + "/weights.pt");
    net->eval();
    const auto score = partition::score_architecture(a, search::score_options(cfg, pick.candidate.id),
                                                     partition::builtin_partitioners());
    const auto& fastest = score.fastest();
    const std::string dir = best + "/deploy";
    fs::remove_all(dir);
    deploy::export_deployment(a, *net, deploy::make_plan(a, fastest.parts, cfg.search.units), dir, trained_input(trial));
    const auto input = test_images(cfg, dir + "/images");
    search::DeployedPick d;
    d.name = pick.name;
    d.units = cfg.search.units;
    d.predicted_ms = fastest.sim.latency_s * 1e3;
    d.measured_ms = measure_deployment(dir, kRuns, input).p50_s * 1e3;
    d.folder = dir;
    return d;
  };
}

}  // namespace concnas::cli
