#include "concnas/nn/weight_sharing.h"

#include <algorithm>
#include <string>

#include "concnas/common/error.h"

namespace concnas::nn {
namespace {

// "v12.aggregate.weight" -> 12; -1 for any other name.
int aggregate_weight_vertex(const std::string& name) {
  const std::string suffix = ".aggregate.weight";
  if (name.size() <= suffix.size() + 1 || name[0] != 'v' ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
    return -1;
  return std::stoi(name.substr(1, name.size() - suffix.size() - 1));
}

// Of `shared`'s aggregation weights of vertex `v`, those of `sub`'s inputs, in its order.
torch::Tensor gathered_weights(const NetworkImpl& shared, const NetworkImpl& sub, int v, const torch::Tensor& w) {
  const auto& all = shared.architecture().vertices.at(v).inputs;
  std::vector<int64_t> picks;
  for (int p : sub.architecture().vertices.at(v).inputs) {
    const auto at = std::find(all.begin(), all.end(), p);
    CONCNAS_CHECK(at != all.end(), "vertex {} of '{}' takes vertex {}, which '{}' does not feed it", v,
                  sub.architecture().name, p, shared.architecture().name);
    picks.push_back(at - all.begin());
  }
  return w.index_select(0, torch::tensor(picks, torch::kLong));
}

}  // namespace

void inherit_shared_weights(const NetworkImpl& shared, NetworkImpl& sub) {
  torch::NoGradGuard no_grad;
  const auto from_params = shared.named_parameters();
  const auto from_buffers = shared.named_buffers();
  auto copy = [&](const std::string& name, torch::Tensor& to, const torch::Tensor* from) {
    CONCNAS_CHECK(from != nullptr, "'{}' has {}, which '{}' lacks", sub.architecture().name, name,
                  shared.architecture().name);
    const int v = aggregate_weight_vertex(name);
    const torch::Tensor source = v >= 0 && from->sizes() != to.sizes() ? gathered_weights(shared, sub, v, *from) : *from;
    CONCNAS_CHECK(source.sizes() == to.sizes(), "{} is {} in '{}' but {} in '{}'", name, to.sizes(),
                  sub.architecture().name, source.sizes(), shared.architecture().name);
    to.copy_(source);
  };
  for (auto& p : sub.named_parameters()) copy(p.key(), p.value(), from_params.find(p.key()));
  for (auto& b : sub.named_buffers()) copy(b.key(), b.value(), from_buffers.find(b.key()));
}

}  // namespace concnas::nn
