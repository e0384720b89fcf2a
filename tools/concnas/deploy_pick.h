#pragma once
// What `concnas search` does with its pick (deploy_pick.cpp).

#include "concnas/search/runner.h"

namespace concnas::cli {

/// Deploys a search's pick on `search.units` local workers (best/NAME/deploy/) and measures
/// it on the data set's test images.
search::PickDeployer make_pick_deployer(const search::SearchConfig& config);

}  // namespace concnas::cli
