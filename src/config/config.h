// A connector's configuration: loaded from YAML, interpolated, validated before any I/O.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/property.h"
#include "fxconnect/handler.h"

namespace YAML {
class Node;
}

namespace fxconnect::config {

enum class Ordering { key, partition, none };

// One librdkafka property and the place it was written, for error messages.
using Property = core::Property;

// A legacy system reached over HTTP (REST or SOAP), declared once under `systems:`.
struct HttpSystemConfig {
  std::string name;
  std::string where;  // file:line:column of its declaration, for messages
  std::vector<std::string> endpoints;
  bool failover = false;  // balance: failover (else round_robin)
  std::chrono::milliseconds timeout{10'000};
  std::chrono::milliseconds connect_timeout{2'000};
  int max_in_flight = 64;
  std::optional<double> rate_limit;  // calls per second
  struct {
    int attempts = 3;
    std::chrono::milliseconds backoff{100};
    std::chrono::milliseconds max_backoff{2'000};
    std::vector<std::string> on{"connect", "timeout", "429", "502", "503", "504"};
  } retry;
  bool retry_non_idempotent = false;
  struct {
    bool enabled = true;
    double failure_rate = 0.5;
    int window = 20;
    int min_calls = 10;
    std::chrono::milliseconds open_for{30'000};
  } circuit_breaker;
  std::vector<Property> headers;
  enum class AuthKind { none, basic, bearer, oauth2 };
  struct {
    AuthKind kind = AuthKind::none;
    std::string user, password;                              // basic
    std::string token;                                       // bearer
    std::string token_url, client_id, client_secret, scope;  // oauth2 client credentials
  } auth;
  struct {
    std::string ca_file, cert_file, key_file;
    bool verify = true;       // the server's certificate chain
    bool verify_host = true;  // the server's name against its certificate
  } tls;
  std::string proxy;
  std::string http_version = "auto";  // auto | 1.1 | 2 | 2-prior-knowledge
  bool compress = true;               // Accept-Encoding: gzip, deflate (and decoding)
  std::size_t max_response_bytes = 64 << 20;
  struct {
    std::string version = "1.1";       // 1.1 | 1.2
    std::vector<Property> namespaces;  // prefix → URI, for XPath on answers
  } soap;
};

// A PostgreSQL database (`systems.<name>.postgres`), reached with libpq's asynchronous API.
struct PostgresSystemConfig {
  std::string name;
  std::string where;
  std::string dsn;  // libpq connection string or URI
  int pool = 4;     // connections at most; calls beyond wait for one (until their deadline)
  std::chrono::milliseconds statement_timeout{10'000};
  std::chrono::milliseconds connect_timeout{5'000};
  std::size_t max_rows = 1000;  // a larger result is `legacy_failed`, never truncated
};

// A file exchange (`systems.<name>.dir` or `systems.<name>.sftp`): a request file written, an
// answer file awaited in the same folder.
struct FileSystemConfig {
  std::string name;
  std::string where;
  enum class Kind { dir, sftp } kind = Kind::dir;
  std::string path;  // dir: the folder (absolute, resolved against the config's directory)
  std::string url;   // sftp: sftp://host[:port]/folder
  std::string user, password, key_file, known_hosts;  // sftp; files resolved like `path`
  std::chrono::milliseconds poll{250};                // how often the answer is looked for
  enum class Complete { size_stable, marker } complete = Complete::size_stable;
  std::chrono::milliseconds stable_for{500};         // size_stable: the answer's size unchanged this long
  std::string marker_suffix = ".done";               // marker: the answer is complete once <name><suffix> exists
  std::chrono::milliseconds await_timeout{60'000};   // a step's default wait for the answer
  std::chrono::milliseconds timeout{10'000};         // sftp: one transfer (upload, listing, download, rename)
  std::chrono::milliseconds connect_timeout{5'000};  // sftp
  std::size_t max_file_bytes = 64 << 20;             // a larger answer is `legacy_failed`
};

// A command run per call (`systems.<name>.exec`): argv, never a shell.
struct ExecSystemConfig {
  std::string name;
  std::string where;
  std::vector<std::string> command;  // command[0] resolved against the config's directory when it has a '/'
  std::chrono::milliseconds timeout{30'000};
  std::vector<std::string> env;            // names of the connector's environment variables passed on; no others
  std::string working_dir;                 // default: the config's directory
  std::size_t max_output_bytes = 1 << 20;  // each of stdout and stderr; more kills the command
  int max_in_flight = 4;                   // commands running at once; calls beyond wait (until their deadline)
  std::vector<int> unavailable_exit_codes{
      75};  // `legacy_unavailable` (retriable), e.g. EX_TEMPFAIL; other non-zero: `legacy_failed`
};

// `kafka.security`: TLS and SASL to the brokers (files resolved against the config's directory).
struct KafkaSecurity {
  std::string protocol = "plaintext";  // plaintext | ssl | sasl_ssl | sasl_plaintext
  std::string ca_file, cert_file, key_file, key_password;
  bool verify = true;                       // the brokers' certificate chain
  bool verify_host = true;                  // the broker's name against its certificate
  std::string mechanism = "SCRAM-SHA-512";  // with sasl_*: SCRAM-SHA-512 | SCRAM-SHA-256 | PLAIN | OAUTHBEARER
  std::string user, password;               // SCRAM, PLAIN
  std::string token_url, client_id, client_secret, scope;  // OAUTHBEARER (OIDC client credentials)
  std::string where;  // file:line:column of `kafka.security`, for messages ("" when unset)
};

struct ConnectorConfig {
  std::string source;  // the file it came from
  struct {
    std::string bootstrap;
    std::string group_id;
    std::vector<Property> properties;           // both clients
    std::vector<Property> consumer_properties;  // consumer only, after `properties`
    std::vector<Property> producer_properties;  // producer only, after `properties`
    KafkaSecurity security;
    bool write_check = true;    // kafka.write_check: the startup WRITE check (runtime.cc)
    bool fetch_wakeup = true;   // kafka.fetch_wakeup: kafka/fetch_waker.h
    bool decode_thread = true;  // kafka.decode_thread: kafka/decoder.h
  } kafka;
  struct {
    std::string topic;  // exactly one of topic and pattern is set
    std::string pattern;
  } input;
  struct {
    std::string topic;
    std::string engine_pattern;
  } reply;
  struct {
    std::string name;
    HandlerOptions options;
  } handler;
  struct {
    Ordering ordering = Ordering::key;
    int max_in_flight = 1000;
    long long max_in_flight_bytes = 64LL << 20;
    std::chrono::milliseconds deadline{30'000};
    std::chrono::milliseconds shutdown_grace{20'000};
    std::chrono::milliseconds commit_interval{1'000};
  } processing;
  struct {
    std::string dlq_topic;  // "" = no dead-letter topic
  } errors;
  std::vector<HttpSystemConfig> systems;  // by name: those reached over HTTP (REST, SOAP)
  std::vector<PostgresSystemConfig> sql_systems;
  std::vector<FileSystemConfig> file_systems;
  std::vector<ExecSystemConfig> exec_systems;
  // A declarative connector (`flow:` instead of `handler:`), compiled by src/flow/. The YAML is
  // kept as written (with its marks, for file:line:column) because its strings are templates over
  // the request's data, not environment variables.
  struct {
    std::shared_ptr<const YAML::Node> steps;  // `flow:`; null when the config has a handler
    std::shared_ptr<const YAML::Node> lists;  // `lists:`; null when none
    std::string base_dir;                     // the config file's directory: relative paths start here
    std::size_t jq_input_bytes = 1 << 20;     // flow_limits.jq_input_bytes
  } flow;
  struct {
    std::string service_name;   // "" = kafka.group_id
    std::string otlp_endpoint;  // "" = no tracing; http:// or https://
    std::string sampler = "parent";
    // For an https:// collector (files resolved against the config's directory).
    std::string otlp_ca_file, otlp_cert_file, otlp_key_file;
    std::vector<Property> otlp_headers;         // sent with every export (an API key); values are secrets
    std::string http_listen;                    // "" = no HTTP endpoint
    std::string metrics_token;                  // "" = /metrics open; else `Authorization: Bearer <token>`
    std::string http_cert_file, http_key_file;  // both set: HTTPS
    std::size_t http_max_connections = 64;
    std::chrono::milliseconds http_request_timeout{10'000};
    std::size_t http_max_request_bytes = 8192;
    std::size_t http_max_headers = 32;
  } observability;
  struct {
    std::string level = "info";
    std::string format = "text";
    bool bodies = false;  // request bodies in error lines
  } log;
};

// Looks up an environment variable (injectable for tests).
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup process_env();

// Parses and validates. Throws ConfigError listing every problem found, one per line, each as
// `source:line:column: key: what is wrong; what would be valid`.
ConnectorConfig parse(std::string_view yaml, const std::string& source, const EnvLookup& env);
ConnectorConfig load(const std::string& path, const EnvLookup& env = process_env());

// ${VAR} / ${VAR:-default} / $${ interpolation of one scalar; error text on failure.
struct Interpolated {
  std::string text;
  std::string error;  // non-empty when a variable is unset and has no default, or syntax is bad
};
// `${NAME}`, `${NAME:-default}` (environment), `${file:/path}` (a secret file's trimmed content;
// relative to `base_dir`), `$${` for a literal `${`. Values read from files are registered as
// secrets (core/secrets.h).
Interpolated interpolate(std::string_view text, const EnvLookup& env, std::string_view base_dir = {});

// Whether `topic` is wholly matched by the regular expression `pattern`.
bool topic_matches(const std::string& pattern, const std::string& topic);

}  // namespace fxconnect::config
