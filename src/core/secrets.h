// Secrets the process knows (passwords, tokens, keys from its config) and the one rule that keeps
// them out of everything it writes: every channel that prints (logs, including librdkafka's; `lint`
// and other command output; /metrics; span attributes; error replies) passes its text through
// redact(). The config loader registers the values of keys named like secrets (is_secret_name()),
// every `${file:...}` value, and passwords inside connection strings and URLs.
#pragma once

#include <string>
#include <string_view>

namespace fxconnect::core {

// What a secret is replaced with.
inline constexpr std::string_view kRedacted = "[redacted]";

// Remembers `value` as a secret, process-wide (thread-safe). Values shorter than
// kMinSecretLength are not remembered: replacing "on" or "id" everywhere would garble every line,
// and such a value protects nothing.
void add_secret(std::string_view value);
inline constexpr std::size_t kMinSecretLength = 4;

// `text` with every remembered secret replaced by kRedacted (also a secret's JSON-escaped form).
// Cheap when no secret is known.
std::string redact(std::string_view text);
bool has_secrets();

// Whether a key's value is a secret by its name: one of its words (split at '.', '_', '-' and
// case changes are not considered) is password, passwd, secret, token, key, apikey,
// authorization, credential(s), cookie or jaas — unless its last word names where the secret
// is rather than the secret itself (file, location, path, url, endpoint, id, name, type,
// method, algorithm, mechanism, column). So `sasl.password`, `ssl.key.password`,
// `metrics_token`, `X-Api-Key`, `Authorization` are secrets; `key_file`, `ssl.key.location`,
// `token_url` are not.
bool is_secret_name(std::string_view key);

// Secrets inside values whose key is not a secret: `password=...` in a libpq connection string,
// `user:password@` in a URL. Registers what it finds.
void add_secrets_inside(std::string_view value);

// Forgets every secret (tests only).
void forget_secrets_for_tests();

}  // namespace fxconnect::core
