// concnas config-reference: every key of every config file, as Markdown
// (docs/configuration.md is this command's output).

#include <cstdio>

#include "commands.h"
#include "concnas/config/configuration_docs.h"

namespace concnas::cli {

Action add_config_reference_command(CLI::App& app) {
  app.add_subcommand("config-reference",
                     "print every key of the train, search, devices and plan files (Markdown)");
  return [] { std::fputs(config::configuration_reference().c_str(), stdout); };
}

}  // namespace concnas::cli
