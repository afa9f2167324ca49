// onboarding-connector: the fxconnect command line with the built-in handlers plus `onboarding`.
//   onboarding-connector run onboarding.yaml     serve until SIGTERM/SIGINT
//   onboarding-connector lint onboarding.yaml    check the config (and the handler options)
//   onboarding-connector handlers                list the handlers this program offers
#include "fxconnect/fxconnect.h"
#include "onboarding.h"

int main(int argc, char** argv) {
  fxconnect::Registry registry;
  fxconnect::register_builtin_handlers(registry);
  onboarding::register_onboarding(registry);
  return fxconnect::run_cli(argc, argv, registry);
}
