#include "concnas/config/configuration_docs.h"

#include "device_schema.h"
#include "lcp_schema.h"
#include "plan_schema.h"
#include "policy_schema.h"
#include "search_schema.h"
#include "train_sections.h"

namespace concnas::config {
namespace {

template <typename C>
std::string section(const std::string& title, const detail::Schema<C>& schema, const std::string& name,
                    const C& defaults) {
  return "### " + title + "\n\n" + schema.markdown(name, defaults) + "\n";
}

std::string train_part() {
  const auto& s = detail::train_schema();
  const TrainConfig defaults;
  return "## Training config (`concnas train --config`)\n\n"
         "Sections `arch`, `data` and `train`; a config states only what differs from the defaults. "
         "`--set section.key=value` overrides a key. `arch` is ignored when `--arch` gives a file.\n\n" +
         section("arch", s, "arch", defaults) + section("data", s, "data", defaults) +
         section("train", s, "train", defaults);
}

std::string search_part() {
  const auto& s = detail::search_schema();
  const search::SearchConfig defaults;
  return "## Search config (`concnas search --config`)\n\n"
         "Sections `search`, `space` and `constraints`, plus the `data` and `train` sections of the "
         "training config (each rung sets `data.train_subset` and `train.epochs`). A search samples "
         "its architectures, so it has no `arch` section.\n\n" +
         section("search", s, "search", defaults) + section("space", s, "space", defaults) +
         section("constraints", s, "constraints", defaults);
}

std::string lcp_part() {
  return "## LCP config (`concnas lcp --config`)\n\n"
         "The sections of the training config, whose `arch` section describes the chain (`arch.nodes` is "
         "the depth of every branch; staging, seed, stem and channel limit are shared), plus `lcp`:\n\n" +
         section("lcp", detail::lcp_schema(), "lcp", LcpConfig{});
}

std::string policy_part() {
  return "## Policy config (`concnas policy --config`)\n\n"
         "The sections of the training config (`arch` gives what the groups share: staging, seed, stem and "
         "channel limit; `train` is the shared network's training, and each baseline's minus the fine-tuning), "
         "plus `policy`:\n\n" +
         section("policy", detail::policy_schema(), "policy", PolicyConfig{});
}

std::string devices_part() {
  return "## Devices file (`--devices`, `search.devices`)\n\n"
         "`devices:` lists one entry per unit, unit 0 first; or `device:` gives one entry for every unit. "
         "`link:` describes every link between two units. Without a file, every unit is a default device.\n\n" +
         section("an entry of `devices` (or `device`)", detail::device_schema(), "", detail::DeviceEntry{}) +
         section("`ops` of an entry (written by `concnas calibrate`)", detail::ops_schema(), "", sim::OpCosts{}) +
         section("`link`", detail::link_schema(), "", sim::LinkModel{}) +
         "`measured:` (optional) records where and when `concnas calibrate` measured the file: "
         "`host`, `date`, `command` (strings).\n\n"
         "`batch:` (optional, default 1, at most 100000) is the number of images per inference that the "
         "prices and the link were measured at (`concnas calibrate --batch`); the simulator then predicts "
         "inferences of that batch, and `concnas run --devices` requires the same `--batch`.\n\n";
}

std::string plan_part() {
  return "## plan.yaml (written by `concnas export`)\n\n"
         "Written, not edited: `concnas run` checks every list against the architecture and the unit "
         "files against their checksums.\n\n" +
         section("keys", detail::plan_schema(), "", detail::PlanHeader{});
}

}  // namespace

std::string configuration_reference() {
  return "# Configuration reference\n\n"
         "Every key of every file concnas reads, generated from the code that reads them "
         "(`build/bin/concnas config-reference > docs/configuration.md`; a test checks this file "
         "is current). Unknown keys and bad values are one error naming the file, line and key.\n\n" +
         train_part() + search_part() + lcp_part() + policy_part() + devices_part() + plan_part();
}

}  // namespace concnas::config
