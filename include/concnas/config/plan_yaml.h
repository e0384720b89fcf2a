#pragma once
/// \file
/// Reading a deployment's plan.yaml (written by `deploy::plan_yaml`). Every key is in
/// docs/configuration.md.
///
///     auto d = concnas::config::load_plan("deploy/");  // the same as deploy::read_deployment

#include <string>

#include "concnas/deploy/plan.h"

namespace concnas::config {

/// Reads and checks `dir`/plan.yaml and the architecture it names: a plan whose unit lists
/// do not follow from its `parts`, or whose architecture file's checksum differs, is a
/// `ParseError` naming plan.yaml and the line.
deploy::Deployment load_plan(const std::string& dir);

}  // namespace concnas::config
