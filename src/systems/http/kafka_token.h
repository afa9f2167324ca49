// OAUTHBEARER tokens for Kafka by OAuth2 client credentials, fetched by fxconnect itself: Debian
// 12's librdkafka 2.0.2 is built without its own OIDC client (no libcurl at its build time), so
// `sasl.oauthbearer.method=oidc` does not exist there. librdkafka asks for a token through its
// refresh callback (kafka/client.cc) and this answers it with one blocking call to the identity
// provider. libcurl stays in the systems layer, hence here.
#pragma once

#include "config/config.h"
#include "kafka/settings.h"

namespace fxconnect::systems {

// A token source for `security` (mechanism OAUTHBEARER): POST token_url with
// grant_type=client_credentials (HTTP Basic client_id:client_secret, and scope if set), over TLS
// verified with kafka.security.ca_file or the system's trust store. The token's principal is its
// JWT `sub` claim, else the client id; its lifetime `expires_in` (else the JWT's `exp`, else an
// hour). Throws std::runtime_error saying what failed (never the secret).
kafka::OAuthTokenSource kafka_token_source(const config::KafkaSecurity& security);

}  // namespace fxconnect::systems
