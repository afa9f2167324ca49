// The core-banking connector of the onboarding process: opens the account the onboarding connector
// prepared, through two legacy systems the connector config declares under `systems:`:
//   kyc          a SOAP 1.1 KYC service (CheckCustomer), asked only when the request says
//                kycRequired: true; a SOAP Fault (a blocked customer) fails the request;
//   corebanking  a REST API: POST /accounts {customerRef, amountMinor, currency, reference} → 201
//                {"id": ..., "status": ...}.
// Retries, timeouts, the circuit breaker and the rest are the systems' config, not code here.
// Reply: {"accountId", "status", "kyc": "CLEAR" | "not required"}.
#pragma once

#include <memory>
#include <string>

#include <boost/json/value.hpp>

#include "fxconnect/fxconnect.h"

namespace onboarding {

// What the open_account handler needs from its request, checked (errors name the field).
struct OpenAccount {
  std::string customer_ref;
  std::int64_t amount_minor = 0;
  std::string currency;
  std::string reference;
  std::string correlation_id;
  bool kyc_required = false;
};
fxconnect::Result<OpenAccount> read_open_account(const boost::json::value& request);

// The KYC CheckCustomer body (inside soap:Body) for `customer_ref`, XML-escaped.
std::string kyc_check_body(const std::string& customer_ref);

std::unique_ptr<fxconnect::Handler> make_open_account_handler(const fxconnect::HandlerOptions& options);

// Registers `open_account` in `registry`.
void register_open_account(fxconnect::Registry& registry);

}  // namespace onboarding
