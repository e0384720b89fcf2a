#pragma once
/// \file
/// The model-parallel runtime: workers (deploy/worker.h), each running its unit on the
/// engine (deploy/engine.h), and worker 0's benchmark harness (deploy/benchmark.h).

#include "concnas/deploy/benchmark.h"
#include "concnas/deploy/engine.h"
#include "concnas/deploy/worker.h"
