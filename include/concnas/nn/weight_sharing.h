#pragma once
/// \file
/// One network's weights serving many communication policies (seed 001): the network of
/// full exchange is trained with a policy's edges switched off per step
/// (`NetworkImpl::set_inactive_edges`), and a policy's own network takes its weights.
///
///     concnas::nn::Network shared(full_exchange);
///     shared->set_inactive_edges(edges_the_policy_leaves_out);   // train, evaluate ...
///     concnas::nn::Network sub(policy_architecture);
///     concnas::nn::inherit_shared_weights(*shared, *sub);        // the same function

#include "concnas/nn/network.h"

namespace concnas::nn {

/// Copies every parameter and buffer of `sub` from the same-named one of `shared`; a
/// vertex's aggregation weights from those of `shared`'s inputs that `sub`'s vertex has.
/// `sub` then computes what `shared` computes with the edges `sub` lacks inactive. Throws
/// `InvalidArgument` when `sub` has a tensor `shared` lacks, of another shape, or a vertex
/// input `shared`'s vertex does not have.
void inherit_shared_weights(const NetworkImpl& shared, NetworkImpl& sub);

}  // namespace concnas::nn
