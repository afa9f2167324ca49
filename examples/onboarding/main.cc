// onboarding-connector: the fxconnect command line with the built-in handlers plus `onboarding`
// (the onboarding connector) and `open_account` (the core-banking connector, calling legacy systems).
//   onboarding-connector run onboarding.yaml     serve until SIGTERM/SIGINT
//   onboarding-connector lint onboarding.yaml    check the config (and the handler options)
//   onboarding-connector handlers                list the handlers this program offers
#include "fxconnect/fxconnect.h"
#include "onboarding.h"
#include "open_account.h"

int main(int argc, char** argv) {
  fxconnect::Registry registry;
  fxconnect::register_builtin_handlers(registry);
  onboarding::register_onboarding(registry);
  onboarding::register_open_account(registry);
  return fxconnect::run_cli(argc, argv, registry);
}
