#include "open_account.h"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace onboarding {

using fxconnect::Error;
using fxconnect::ErrorCode;
using fxconnect::Result;

namespace {

const boost::json::value* member(const boost::json::object& o, const char* key) { return o.if_contains(key); }

Result<std::string> text(const boost::json::object& o, const char* key, bool required) {
  const auto* v = member(o, key);
  if (!v || v->is_null()) {
    if (required) return fxconnect::invalid_field(key, std::string(key) + " is missing; expected a string");
    return std::string();
  }
  if (!v->is_string() || v->as_string().empty()) {
    return fxconnect::invalid_field(key, std::string(key) + " must be a non-empty string");
  }
  return std::string(v->as_string());
}

class OpenAccountHandler final : public fxconnect::Handler {
 public:
  void handle(std::shared_ptr<fxconnect::Call> call) override {
    auto request = read_open_account(call->request().json);
    if (!request) return call->fail(request.error());
    auto account = std::make_shared<OpenAccount>(std::move(request.value()));
    if (!account->kyc_required) return open(call, account, "not required");

    // 1. KYC over SOAP: a Fault (e.g. a blocked customer) is a legacy_failed error with its
    //    faultcode and faultstring; the call fails with it as is.
    fxconnect::SoapRequest kyc;
    kyc.path = "/kyc";
    kyc.action = "urn:kyc#CheckCustomer";
    kyc.body = kyc_check_body(account->customer_ref);
    call->soap("kyc", std::move(kyc), [call, account](Result<fxconnect::SoapResponse> answer) {
      if (!answer) return call->fail(answer.error());
      auto status = answer.value().values("//kyc:status");
      if (status.empty() || status[0] != "CLEAR") {
        return call->fail(fxconnect::handler_error("KYC: customer " + account->customer_ref + " is " +
                                                   (status.empty() ? "unknown" : status[0])));
      }
      open(call, account, status[0]);
    });
  }

 private:
  // 2. The account, over REST: only 201 answers; anything else is a legacy_failed error with the
  //    status and the start of the body.
  static void open(const std::shared_ptr<fxconnect::Call>& call, const std::shared_ptr<OpenAccount>& account,
                   std::string kyc) {
    fxconnect::HttpRequest post;
    post.method = "POST";
    post.path = "/accounts";
    post.headers = {{"X-Correlation-Id", account->correlation_id}};
    post.body = boost::json::serialize(boost::json::object{{"customerRef", account->customer_ref},
                                                           {"amountMinor", account->amount_minor},
                                                           {"currency", account->currency},
                                                           {"reference", account->reference}});
    post.accept = {201};
    call->http("corebanking", std::move(post), [call, kyc = std::move(kyc)](Result<fxconnect::HttpResponse> answer) {
      if (!answer) return call->fail(answer.error());
      boost::system::error_code ec;
      auto body = boost::json::parse(answer.value().body, ec);
      const auto* obj = ec ? nullptr : body.if_object();
      const auto* id = obj ? obj->if_contains("id") : nullptr;
      if (!id || !id->is_string()) {
        return call->fail(Error{ErrorCode::legacy_failed, "corebanking: the answer to POST /accounts has no account id",
                                false, std::nullopt});
      }
      const auto* status = obj->if_contains("status");
      boost::json::object reply;
      reply["accountId"] = *id;
      reply["status"] = status ? *status : boost::json::value("UNKNOWN");
      reply["kyc"] = kyc;
      call->reply(fxconnect::Reply::json(reply));
    });
  }
};

}  // namespace

Result<OpenAccount> read_open_account(const boost::json::value& request) {
  const auto* o = request.if_object();
  if (!o) return fxconnect::invalid_field("", "the request must be a JSON object");
  OpenAccount out;
  auto ref = text(*o, "customerRef", true);
  if (!ref) return ref.error();
  out.customer_ref = ref.value();
  auto currency = text(*o, "currency", true);
  if (!currency) return currency.error();
  out.currency = currency.value();
  const auto* amount = member(*o, "amountMinor");
  if (!amount || !(amount->is_int64() || amount->is_uint64()) ||
      (amount->is_int64() ? amount->as_int64() < 0 : amount->as_uint64() > INT64_MAX)) {
    return fxconnect::invalid_field("amountMinor", "amountMinor must be a whole number of minor units, at least 0");
  }
  out.amount_minor = amount->is_int64() ? amount->as_int64() : static_cast<std::int64_t>(amount->as_uint64());
  auto reference = text(*o, "reference", false);
  if (!reference) return reference.error();
  out.reference = reference.value();
  auto correlation = text(*o, "correlationId", false);
  if (!correlation) return correlation.error();
  out.correlation_id = correlation.value();
  if (const auto* kyc = member(*o, "kycRequired")) {
    if (!kyc->is_bool()) return fxconnect::invalid_field("kycRequired", "kycRequired must be true or false");
    out.kyc_required = kyc->as_bool();
  }
  return out;
}

std::string kyc_check_body(const std::string& customer_ref) {
  return R"(<kyc:CheckCustomer xmlns:kyc="urn:example:kyc"><kyc:customerId>)" + fxconnect::xml_escape(customer_ref) +
         "</kyc:customerId></kyc:CheckCustomer>";
}

std::unique_ptr<fxconnect::Handler> make_open_account_handler(const fxconnect::HandlerOptions& options) {
  options.allow_only({});
  return std::make_unique<OpenAccountHandler>();
}

void register_open_account(fxconnect::Registry& registry) {
  registry.add("open_account",
               "core banking: KYC check over SOAP (system `kyc`, when kycRequired) then POST /accounts over REST "
               "(system `corebanking`); replies accountId, status, kyc",
               make_open_account_handler);
}

}  // namespace onboarding
