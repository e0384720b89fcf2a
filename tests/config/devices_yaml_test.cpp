#include "concnas/config/devices_yaml.h"

#include <gtest/gtest.h>

#include "support/expect_error.h"

#include "concnas/common/error.h"

namespace concnas::config {
namespace {

TEST(ADeviceFile, ReadsOneDevicePerUnitAndTheLink) {
  const auto [d, l] = devices_from_yaml(
      "devices:\n  - {name: a, flops_per_s: 1e9}\n  - {name: b, flops_per_s: 2e9}\n"
      "link: {latency_s: 0.001, bandwidth_bytes_per_s: 1.25e7}\n",
      "d.yaml", 2);
  EXPECT_EQ(d.flops_per_s, (std::vector<double>{1e9, 2e9}));
  EXPECT_EQ(d.names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(l.latency_s, 0.001);
  EXPECT_EQ(l.bandwidth_bytes_per_s, 1.25e7);
}

TEST(ADeviceFile, ReadsLayerAndSendOverheads) {
  const auto [d, l] = devices_from_yaml(
      "device: {flops_per_s: 1.1e10, layer_overhead_s: 9e-5}\nlink: {latency_s: 3e-5, send_overhead_s: 4e-5}\n",
      "d.yaml", 2);
  EXPECT_EQ(d.layer_overhead_s, (std::vector<double>{9e-5, 9e-5}));
  EXPECT_EQ(l.send_overhead_s, 4e-5);
  const auto [plain, plain_link] = devices_from_yaml("device: {flops_per_s: 1e9}\n", "d.yaml", 2);
  EXPECT_EQ(plain.overhead_of(1), 0.0);
  EXPECT_EQ(plain_link.send_overhead_s, 0.0);
}

TEST(ADeviceFile, AppliesOneDeviceToEveryUnit) {
  const auto [d, l] = devices_from_yaml("device: {name: pi, flops_per_s: 3e9}\n", "d.yaml", 3);
  EXPECT_EQ(d.flops_per_s, (std::vector<double>(3, 3e9)));
  EXPECT_EQ(d.names[2], "pi-2");
  EXPECT_EQ(d.cores_of(2), 1);
  const auto [quad, quad_link] = devices_from_yaml("device: {flops_per_s: 3e9, cores: 4}\n", "d.yaml", 2);
  EXPECT_EQ(quad.cores, (std::vector<int>{4, 4}));
  EXPECT_EQ(l.latency_s, sim::LinkModel{}.latency_s);
}

void expect_error(const std::string& text, int units, int line, const std::string& what) {
  concnas::testing::expect_parse_error_at([&] { devices_from_yaml(text, "d.yaml", units); }, line, what);
}

TEST(ADeviceFile, RejectsBadFilesNamingLineAndKey) {
  expect_error("devices:\n  - {flops_per_s: 1e9}\n", 2, 2, "lists 1 units, but 2 are used");
  expect_error("device: {flops_per_s: -5}\n", 2, 1, "must be positive");
  expect_error("device: {flops_per_s: fast}\n", 2, 1, "'device.flops_per_s' must be a number");
  expect_error("device: {speed: 1e9}\n", 2, 1, "unknown key 'device.speed'");
  expect_error("devices: []\ndevice: {flops_per_s: 1}\n", 1, 2, "either 'devices'");
  expect_error("link: {bandwidth_bytes_per_s: 0}\n", 1, 1, "bandwidth");
  expect_error("link: {send_overhead_s: -1}\n", 1, 1, "send overhead");
  expect_error("device: {flops_per_s: 1e9, layer_overhead_s: -1}\n", 1, 1, "'device.layer_overhead_s' must be >= 0");
  expect_error("link: {latency_s: 1}\nlinks: {}\n", 1, 2, "unknown key 'links'");
  expect_error("device: [1, 2\n", 1, 2, "invalid YAML");
  expect_error("devices:\n  - {flops_per_s: 1e9}\n  - {flops_per_s: 1e9, cores: 0}\n", 2, 3,
               "'devices[1].cores' must be at least 1");
  expect_error("device: {flops_per_s: 1e9, cores: two}\n", 1, 1, "'device.cores' must be an integer");
}

}  // namespace
}  // namespace concnas::config

namespace concnas::config {
namespace {

TEST(ADeviceFile, ReadsCalibratedPricesAndWhereTheyWereMeasured) {
  const auto [d, l] = devices_from_yaml(
      "measured: {host: \"vm\", date: \"2026-12-06\", command: \"concnas calibrate\"}\n"
      "device: {flops_per_s: 4e10, cores: 2, ops: {step_s: 2e-6, gemm_flop_s: 1e-11, parallel_slowdown: 1.2}}\n"
      "link: {latency_s: 1e-6, receive_overhead_s: 5e-5}\n",
      "d.yaml", 2);
  ASSERT_EQ(d.ops.size(), 2u);
  EXPECT_TRUE(d.priced(1));
  EXPECT_EQ(d.ops[1].step_s, 2e-6);
  EXPECT_EQ(d.ops[1].gemm_flop_s, 1e-11);
  EXPECT_EQ(d.ops[1].parallel_slowdown, 1.2);
  EXPECT_EQ(l.receive_overhead_s, 5e-5);
  EXPECT_FALSE(devices_from_yaml("device: {flops_per_s: 1e9}\n", "d.yaml", 1).first.priced(0));
}

// A file calibrated at a batch predicts inferences of that batch; without the key, 1.
TEST(ADeviceFile, ReadsTheBatchItsPricesAreFor) {
  EXPECT_EQ(devices_from_yaml("batch: 32\ndevice: {flops_per_s: 1e9}\n", "d.yaml", 2).first.batch, 32);
  EXPECT_EQ(devices_from_yaml("device: {flops_per_s: 1e9}\n", "d.yaml", 2).first.batch, 1);
  EXPECT_EQ(devices_from_yaml("batch: 8\ndevice: {flops_per_s: 1e9}\n", "d.yaml", 2).first.only({1}).batch, 8);
  expect_error("batch: 0\ndevice: {flops_per_s: 1e9}\n", 1, 1, "'batch' must lie in [1, 100000], got 0");
  expect_error("device: {flops_per_s: 1e9}\nbatch: many\n", 1, 2, "'batch' must be an integer");
}

TEST(ADeviceFile, RejectsBadPricesNamingLineAndKey) {
  auto expect = [](const std::string& text, int line, const std::string& what) {
    concnas::testing::expect_parse_error_at([&] { devices_from_yaml(text, "d.yaml", 1); }, line, what);
  };
  expect("device:\n  flops_per_s: 1e9\n  ops: {step_s: -1}\n", 3, "'device.ops.step_s' must be >= 0");
  expect("device:\n  flops_per_s: 1e9\n  ops: {speed: 1}\n", 3, "unknown key 'device.ops.speed'");
  expect("device:\n  flops_per_s: 1e9\n  ops: {parallel_slowdown: 0.5}\n", 3,
         "'device.ops.parallel_slowdown' must be at least 1");
  expect("measured: [1]\ndevice: {flops_per_s: 1e9}\n", 1, "'measured' must be a mapping");
  expect("link: {receive_overhead_s: -1}\n", 1, "receive overhead");
}

}  // namespace
}  // namespace concnas::config

namespace concnas::config {
namespace {

TEST(ADeviceFile, RefusesACalibratedFileWithoutALinkForSeveralUnits) {
  const std::string calibrated = "device: {flops_per_s: 4e10, ops: {step_s: 2e-6}}\n";
  EXPECT_NO_THROW(devices_from_yaml(calibrated, "d.yaml", 1));
  concnas::testing::expect_parse_error_at([&] { devices_from_yaml(calibrated, "d.yaml", 2); }, 1,
                                          "missing key 'link'");
  EXPECT_NO_THROW(devices_from_yaml(calibrated + "link: {latency_s: 1e-4}\n", "d.yaml", 2));
}

}  // namespace
}  // namespace concnas::config

namespace concnas::config {
namespace {

TEST(ADeviceFile, RefusesSpeedsNoDeviceHas) {
  concnas::testing::expect_parse_error_at([] { devices_from_yaml("device: {flops_per_s: 1e-300}\n", "d.yaml", 1); },
                                          1, "between 1e3 and 1e18 FLOP/s");
  concnas::testing::expect_parse_error_at([] { devices_from_yaml("device: {flops_per_s: 1e30}\n", "d.yaml", 1); },
                                          1, "between 1e3 and 1e18 FLOP/s");
}

}  // namespace
}  // namespace concnas::config
