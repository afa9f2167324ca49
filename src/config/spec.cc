#include "config/spec.h"

#include <array>

#include <fmt/format.h>

namespace fxconnect::config {
namespace {

constexpr std::array kFields = {
    Field{"kafka", Kind::section, "", true, "Where the connector's Kafka cluster is and how to talk to it."},
    Field{"kafka.bootstrap", Kind::string, "", true,
          "Bootstrap servers, `host:port[,host:port...]` (librdkafka `bootstrap.servers`)."},
    Field{"kafka.group_id", Kind::string, "", true,
          "Consumer group; instances with the same group share the input partitions."},
    Field{"kafka.properties", Kind::map, "", false,
          "librdkafka properties for both the consumer and the producer, passed through "
          "(e.g. `security.protocol`, `auto.offset.reset`). Properties that would break delivery "
          "guarantees are refused; see the list below. fxconnect's default for both, overridable: "
          "`reconnect.backoff.max.ms=1000` (librdkafka's 10 s kept a connector idle for up to 10 s "
          "after a network cut had healed)."},
    Field{"kafka.consumer_properties", Kind::map, "", false,
          "librdkafka properties for the consumer only; they override `kafka.properties`. "
          "fxconnect's defaults, overridable here: `auto.offset.reset=earliest` (a new group serves the "
          "requests already waiting), `queued.max.messages.kbytes=16384` (the prefetch bound), "
          "`statistics.interval.ms=1000` (readiness learns from it that a broker is back)."},
    Field{"kafka.producer_properties", Kind::map, "", false,
          "librdkafka properties for the producer only; they override `kafka.properties`. "
          "fxconnect's defaults, overridable here: `message.timeout.ms=120000`, "
          "`message.max.bytes=52428800` (the engine's 50 MB; the broker's `message.max.bytes` or the "
          "reply topic's `max.message.bytes` must allow as much), `allow.auto.create.topics=false` (a "
          "missing reply or dead-letter topic is refused at startup, not created with a broker's "
          "defaults)."},

    Field{"kafka.write_check", Kind::boolean, "true", false,
          "At startup, check that the connector may write to the reply and dead-letter topics (a missing WRITE "
          "ACL is then a startup error, not a partition stuck at its first reply). The check writes nothing on a "
          "Kafka broker: it sends a produce request with acks=2, which Kafka refuses after its authorization "
          "check. Turn it off for a Kafka-compatible broker that accepts acks=2 (it would append one record keyed "
          "`fxconnect-write-check`; the connector warns if that happens) and for librdkafka's mock cluster."},
    Field{"kafka.fetch_wakeup", Kind::boolean, "true", false,
          "Wake librdkafka's fetcher as soon as the connector has taken a quarter of the prefetch queue "
          "(`queued.max.messages.kbytes`), with a small ListOffsets request to each leader of the assigned "
          "partitions. Debian 12's librdkafka 2.0.2 otherwise stops fetching when that queue is full and starts "
          "again only when its broker thread next wakes, up to a second later: a connector faster than one "
          "prefetch queue per second then idles most of each second (docs/performance.md). Off: no such "
          "requests, and that stall."},
    Field{"kafka.decode_thread", Kind::boolean, "true", false,
          "Copy consumed records into requests on a thread of their own (librdkafka's parse of the headers "
          "included), so that the connector's loop thread only takes and admits them: the loop sets the "
          "connector's rate at full load, and this was about 29 % of its work (docs/performance.md). Order, the "
          "in-flight bounds and rebalances are kept as without it. Off: the loop copies them itself (one thread "
          "less, e.g. for a container given a single CPU)."},
    Field{"kafka.security", Kind::section, "", false,
          "TLS and SASL to the brokers (docs/security.md). Unset: plaintext, no authentication. Set here, not "
          "through `security.protocol`, `ssl.*` or `sasl.*` librdkafka properties (those are refused beside it)."},
    Field{"kafka.security.protocol", Kind::enumeration, "plaintext", false,
          "`ssl` (TLS), `sasl_ssl` (TLS and SASL: the usual for a managed cluster), `sasl_plaintext` (SASL "
          "without TLS: credentials hashed by SCRAM but data in clear), `plaintext`.",
          "plaintext|ssl|sasl_ssl|sasl_plaintext"},
    Field{"kafka.security.ca_file", Kind::string, "", false,
          "PEM file of the CAs the brokers' certificates must chain to (`ssl.ca.location`; relative to the "
          "config file). Unset: the system's trust store."},
    Field{"kafka.security.cert_file", Kind::string, "", false,
          "PEM client certificate for mutual TLS (`ssl.certificate.location`), with `key_file`."},
    Field{"kafka.security.key_file", Kind::string, "", false, "PEM private key of `cert_file` (`ssl.key.location`)."},
    Field{"kafka.security.key_password", Kind::string, "", false,
          "Passphrase of an encrypted `key_file` (`ssl.key.password`; use `${file:...}` or `${VAR}`)."},
    Field{"kafka.security.verify", Kind::boolean, "true", false,
          "Verify the brokers' certificate chain (`enable.ssl.certificate.verification`). `false` accepts any "
          "certificate, so anyone on the path can read and change the traffic: logged as a warning at every start."},
    Field{"kafka.security.verify_host", Kind::boolean, "true", false,
          "Verify that a broker's certificate names the host connected to (`ssl.endpoint.identification."
          "algorithm=https`). `false` is logged as a warning at every start."},
    Field{"kafka.security.sasl", Kind::section, "", false,
          "SASL authentication (required with `sasl_ssl` and `sasl_plaintext`, refused otherwise)."},
    Field{"kafka.security.sasl.mechanism", Kind::enumeration, "SCRAM-SHA-512", false,
          "`SCRAM-SHA-512`, `SCRAM-SHA-256` or `PLAIN` (with `user`, `password`; PLAIN sends the password itself: "
          "only over `sasl_ssl`), or `OAUTHBEARER` (OIDC client credentials: `token_url`, `client_id`, "
          "`client_secret`, optional `scope`: fxconnect fetches the token by OAuth2 client credentials and again "
          "before it expires; Debian's librdkafka 2.0.2 has no OIDC client of its own).",
          "SCRAM-SHA-512|SCRAM-SHA-256|PLAIN|OAUTHBEARER"},
    Field{"kafka.security.sasl.user", Kind::string, "", false, "The SASL user name (`sasl.username`)."},
    Field{"kafka.security.sasl.password", Kind::string, "", false,
          "The SASL password (`sasl.password`; use `${file:/run/secrets/...}` or `${VAR}`). Never printed."},
    Field{"kafka.security.sasl.token_url", Kind::string, "", false,
          "OAUTHBEARER: the identity provider's token endpoint (`https://`, verified with `ca_file` or the system's "
          "trust store)."},
    Field{"kafka.security.sasl.client_id", Kind::string, "", false,
          "OAUTHBEARER: the client id (sent with the secret as HTTP Basic credentials)."},
    Field{"kafka.security.sasl.client_secret", Kind::string, "", false,
          "OAUTHBEARER: the client secret (use `${file:...}` or `${VAR}`). Never printed."},
    Field{"kafka.security.sasl.scope", Kind::string, "", false,
          "OAUTHBEARER: the scope requested, if the provider needs one."},

    Field{"input", Kind::section, "", true, "What the connector consumes: set exactly one of `topic`, `pattern`."},
    Field{"input.topic", Kind::string, "", false, "The topic the engine's message send node writes to."},
    Field{"input.pattern", Kind::regex, "", false,
          "A regular expression; every topic whose whole name matches is consumed (new ones too). "
          "Keep to `. * + ? [] () |`: librdkafka, not C++, matches it against topic names."},

    Field{"reply", Kind::section, "", true, "Where replies go."},
    Field{"reply.topic", Kind::string, "", true,
          "The topic the engine's receive message node listens to. Must match `engine_pattern`."},
    Field{"reply.engine_pattern", Kind::regex, "ai.flowx.dev.engine.receive.*", false,
          "The engine's `KAFKA_TOPIC_PATTERN`. A reply topic outside it would strand every "
          "process, so fxconnect refuses to start."},

    Field{"handler", Kind::section, "", false,
          "The business logic that turns a request into a reply, written in C++. A config has exactly one of "
          "`handler` and `flow`."},
    Field{"handler.name", Kind::string, "", true,
          "A handler registered in this program (`fxconnect handlers` lists them; built in: `echo`)."},
    Field{"handler.options", Kind::map, "", false, "Options of that handler (see its documentation)."},

    Field{"processing", Kind::section, "", false, "Concurrency, ordering and time limits."},
    Field{"processing.ordering", Kind::enumeration, "key", false,
          "`key`: messages with the same record key (process instance) run one after another, "
          "different keys concurrently; `partition`: one at a time per partition; `none`: all "
          "concurrently.",
          "key|partition|none"},
    Field{"processing.max_in_flight",
          Kind::integer,
          "1000",
          false,
          "Requests consumed and not yet finished (handled, replied, acknowledged), including those "
          "waiting behind an earlier request of their key. At the limit the connector stops taking "
          "requests; after 5 s at the limit it pauses its partitions, so it keeps serving "
          "rebalances.",
          {},
          1,
          1'000'000},
    Field{"processing.max_in_flight_bytes",
          Kind::integer,
          "67108864",
          false,
          "The same bound in bytes of memory the requests in flight hold (64 MiB by default): each "
          "request's body and headers, its parsed JSON (about ten times the text for small "
          "objects), and every reply, error reply and dead letter not yet acknowledged, counted "
          "twice (fxconnect's copy and librdkafka's). Large requests pause intake before the count "
          "does. One request is always admitted, however large; librdkafka's prefetch "
          "(`queued.max.messages.kbytes`, 16 MiB by default) comes on top.",
          {},
          1'048'576,
          68'719'476'736},
    Field{"processing.deadline", Kind::duration, "30s", false,
          "Time from consumption to reply. Past it the request gets a `deadline_exceeded` error "
          "reply and the handler's cancellation slot fires."},
    Field{"processing.shutdown_grace", Kind::duration, "20s", false,
          "On SIGTERM/SIGINT or a partition revoke, how long in-flight work may take to finish "
          "before the connector stops anyway (unfinished requests are redelivered, not lost). A stop "
          "then takes up to 5 s more to flush and commit: keep the sum under the platform's kill "
          "timeout (Kubernetes: 30 s)."},
    Field{"processing.commit_interval", Kind::duration, "1s", false,
          "How often the offsets of answered requests are committed (librdkafka's "
          "`auto.commit.interval.ms`, of offsets fxconnect stores once a reply is acknowledged; "
          "revoked partitions and the stop commit at once). Shorter means fewer duplicates after a "
          "crash, at the cost of more commit requests."},

    Field{"errors", Kind::section, "", false, "What happens besides the error reply when a request fails."},
    Field{"errors.dlq_topic", Kind::string, "", false,
          "When set, every failed request is also written here: original key, headers and bytes, "
          "plus `fxconnect-error-*` headers. Must not match `reply.engine_pattern`."},

    Field{"systems", Kind::named, "", false,
          "The legacy systems handlers call (`call->http(\"<name>\", ...)`, `call->soap(...)`), each declared once "
          "under a name of its own: where it is, how long a call may take, how it is protected and retried, how "
          "to authenticate. Calls are made by libcurl on the connector's event loop (no thread per call)."},
    Field{"systems.*", Kind::section, "", false,
          "One legacy system: over HTTP (REST or SOAP: `endpoints` and the keys below it), or one of `postgres`, "
          "`sftp`, `dir`, `exec` (their own keys; the HTTP keys do not apply to them)."},
    Field{"systems.*.endpoints", Kind::list, "", false,
          "HTTP systems: base URLs, `http://host:port[/prefix]` or `https://...`; a call's path is appended. "
          "Several: see `balance`."},
    Field{"systems.*.balance", Kind::enumeration, "round_robin", false,
          "`round_robin`: calls spread over the endpoints; `failover`: the first endpoint that answers. An "
          "endpoint that refuses connections is set aside for 5 s either way.",
          "round_robin|failover"},
    Field{"systems.*.timeout", Kind::duration, "10s", false,
          "Per attempt, from sending to the whole answer; never longer than what is left of the request's "
          "`processing.deadline`."},
    Field{"systems.*.connect_timeout", Kind::duration, "2s", false,
          "Per attempt, to open the connection (TLS included)."},
    Field{"systems.*.max_in_flight",
          Kind::integer,
          "64",
          false,
          "Bulkhead: calls to this system at once; more wait for a slot, in order, until their request's "
          "deadline (then `legacy_timeout`).",
          {},
          1,
          100'000},
    Field{"systems.*.rate_limit", Kind::rate, "", false,
          "Calls per time at most (token bucket, bursts up to one second's worth), e.g. `200/s`. Unset: no limit."},
    Field{"systems.*.retry", Kind::section, "", false, "When a failed attempt is tried again."},
    Field{"systems.*.retry.attempts",
          Kind::integer,
          "3",
          false,
          "Attempts in all, the first included (1: no retry).",
          {},
          1,
          20},
    Field{"systems.*.retry.backoff", Kind::duration, "100ms", false,
          "The wait before the second attempt; it doubles after each (full jitter: a random share of it), "
          "and a longer `Retry-After` from the system wins. No attempt starts that could not finish before the "
          "request's deadline."},
    Field{"systems.*.retry.max_backoff", Kind::duration, "2s", false, "The longest wait between two attempts."},
    Field{"systems.*.retry.on", Kind::list, "connect,timeout,429,502,503,504", false,
          "What is retried: `connect` (nothing was sent), `timeout`, `broken` (the connection broke after "
          "sending), and HTTP statuses. A TLS verification failure is never retried."},
    Field{"systems.*.retry_non_idempotent", Kind::boolean, "false", false,
          "Retry POST and PATCH on every condition of `retry.on`. Off: only on `connect`, when nothing was "
          "sent, so the legacy system never sees an operation twice."},
    Field{"systems.*.circuit_breaker", Kind::section, "", false,
          "Stops calling a failing system for a while: calls are answered at once with a retriable "
          "`legacy_unavailable` error, then one probe call tests whether it is back."},
    Field{"systems.*.circuit_breaker.enabled", Kind::boolean, "true", false, "Off: every call goes through."},
    Field{"systems.*.circuit_breaker.failure_rate", Kind::percent, "50%", false,
          "Opens when this share of the last `window` calls failed (connect, timeout, broken, 5xx, 429)."},
    Field{"systems.*.circuit_breaker.window",
          Kind::integer,
          "20",
          false,
          "The last N calls the rate is taken over.",
          {},
          1,
          10'000},
    Field{"systems.*.circuit_breaker.min_calls",
          Kind::integer,
          "10",
          false,
          "Calls in the window before it may open.",
          {},
          1,
          10'000},
    Field{"systems.*.circuit_breaker.open_for", Kind::duration, "30s", false,
          "How long it stays open before a probe call."},
    Field{"systems.*.headers", Kind::map, "", false, "Headers sent with every call (e.g. `X-Channel: fxconnect`)."},
    Field{"systems.*.auth", Kind::section, "", false,
          "How calls authenticate: exactly one of `basic`, `bearer`, `oauth2`."},
    Field{"systems.*.auth.basic", Kind::section, "", false, "HTTP Basic authentication."},
    Field{"systems.*.auth.basic.user", Kind::string, "", true, "The user name."},
    Field{"systems.*.auth.basic.password", Kind::string, "", true, "The password (use `${VAR}`)."},
    Field{"systems.*.auth.bearer", Kind::string, "", false, "A fixed bearer token (use `${VAR}`)."},
    Field{"systems.*.auth.oauth2", Kind::section, "", false,
          "OAuth2 client credentials: a token is fetched from `token_url`, cached until it expires, refreshed "
          "by one call at a time, and once more when the system answers 401."},
    Field{"systems.*.auth.oauth2.token_url", Kind::string, "", true, "The token endpoint (http:// or https://)."},
    Field{"systems.*.auth.oauth2.client_id", Kind::string, "", true, "The client id."},
    Field{"systems.*.auth.oauth2.client_secret", Kind::string, "", true, "The client secret (use `${VAR}`)."},
    Field{"systems.*.auth.oauth2.scope", Kind::string, "", false, "The scope asked for, if any."},
    Field{"systems.*.tls", Kind::section, "", false, "TLS for https:// endpoints."},
    Field{"systems.*.tls.ca_file", Kind::string, "", false,
          "PEM file of the CAs to trust. Unset: the system's default CAs."},
    Field{"systems.*.tls.cert_file", Kind::string, "", false, "PEM client certificate (mutual TLS), with `key_file`."},
    Field{"systems.*.tls.key_file", Kind::string, "", false, "PEM private key of `cert_file`."},
    Field{"systems.*.tls.verify", Kind::boolean, "true", false,
          "Verify the server's certificate chain. Turning it off is logged as a warning at every start."},
    Field{"systems.*.tls.verify_host", Kind::boolean, "true", false,
          "Verify that the certificate names the host. Turning it off is logged as a warning at every start."},
    Field{"systems.*.proxy", Kind::string, "", false,
          "Proxy URL (`http://proxy:3128`). Unset: libcurl's environment (`https_proxy`, `no_proxy`, ...)."},
    Field{"systems.*.http_version", Kind::enumeration, "auto", false,
          "`auto`: HTTP/2 when TLS negotiates it, else HTTP/1.1; `1.1`; `2` (HTTP/2, upgrade on plain http); "
          "`2-prior-knowledge` (HTTP/2 without upgrade on plain http).",
          "auto|1.1|2|2-prior-knowledge"},
    Field{"systems.*.compress", Kind::boolean, "true", false, "Ask for gzip/deflate answers and decode them."},
    Field{"systems.*.max_response_bytes",
          Kind::integer,
          "67108864",
          false,
          "A larger answer is refused (`legacy_failed`): it would be held in memory whole.",
          {},
          1024,
          1LL << 32},
    Field{"systems.*.soap", Kind::section, "", false,
          "For `call->soap(...)`: the envelope and the prefixes of answers."},
    Field{"systems.*.soap.version", Kind::enumeration, "1.1", false,
          "SOAP 1.1 (text/xml and a SOAPAction header) or 1.2 (application/soap+xml with an action parameter).",
          "1.1|1.2"},
    Field{"systems.*.soap.namespaces", Kind::map, "", false,
          "Prefix → namespace URI, for XPath on answers (`SoapResponse::values(\"//kyc:status\")`)."},
    Field{"systems.*.postgres", Kind::section, "", false,
          "A PostgreSQL database, for `sql` steps and `call->sql(...)`: queries with parameters only (never text "
          "substitution), on a pool of connections driven by the event loop (libpq's asynchronous API)."},
    Field{"systems.*.postgres.dsn", Kind::string, "", true,
          "A libpq connection string (`host=127.0.0.1 port=5432 dbname=bank user=fx password=${PGPASSWORD}`) or "
          "URI (`postgresql://...`)."},
    Field{"systems.*.postgres.pool",
          Kind::integer,
          "4",
          false,
          "Connections at most, opened when needed; a query beyond waits for one until its request's deadline.",
          {},
          1,
          1000},
    Field{"systems.*.postgres.statement_timeout", Kind::duration, "10s", false,
          "The longest a query may run (the server's `statement_timeout`; shortened to what is left of the "
          "request's deadline). Past it: `legacy_timeout`."},
    Field{"systems.*.postgres.connect_timeout", Kind::duration, "5s", false, "The longest a new connection may take."},
    Field{"systems.*.postgres.max_rows",
          Kind::integer,
          "1000",
          false,
          "More rows than this is `legacy_failed` (never silently truncated); a step's `max_rows` may lower it.",
          {},
          1,
          10000000},
    Field{"systems.*.sftp", Kind::section, "", false,
          "A file exchange on an SFTP server (through libcurl), for `file_exchange` steps and "
          "`call->file_exchange(...)`; host keys always verified."},
    Field{"systems.*.sftp.url", Kind::string, "", true, "`sftp://host[:port]/folder`: where files are exchanged."},
    Field{"systems.*.sftp.user", Kind::string, "", true, "The SSH user."},
    Field{"systems.*.sftp.key_file", Kind::string, "", false,
          "The user's private key (relative paths start at the config's directory); its public key is read from "
          "`<key_file>.pub` when that exists."},
    Field{"systems.*.sftp.password", Kind::string, "", false,
          "A password instead of, or besides, a key (use `${VAR}`)."},
    Field{"systems.*.sftp.known_hosts", Kind::string, "", true,
          "An OpenSSH known_hosts file with the server's host key; a server whose key is missing or differs is "
          "refused (`legacy_unavailable`, not retried)."},
    Field{"systems.*.sftp.poll", Kind::duration, "250ms", false,
          "How often the folder is looked at for the answer file."},
    Field{"systems.*.sftp.complete", Kind::enumeration, "size_stable", false,
          "When an answer file counts as complete: `size_stable` (its size and modification time unchanged for "
          "`stable_for`) or `marker` (a file named like it plus `marker_suffix` exists; both are then taken).",
          "size_stable|marker"},
    Field{"systems.*.sftp.stable_for", Kind::duration, "500ms", false,
          "`complete: size_stable`: how long the answer must stay unchanged before it is read."},
    Field{"systems.*.sftp.marker_suffix", Kind::string, ".done", false,
          "`complete: marker`: the marker file's name is the answer's plus this."},
    Field{"systems.*.sftp.await_timeout", Kind::duration, "60s", false,
          "How long a `file_exchange` waits for its answer when the step sets no `await.timeout` (never past the "
          "request's deadline)."},
    Field{"systems.*.sftp.max_file_bytes",
          Kind::integer,
          "67108864",
          false,
          "A larger answer file is `legacy_failed` (it would be held in memory whole).",
          {},
          1,
          1LL << 32},
    Field{"systems.*.sftp.timeout", Kind::duration, "10s", false,
          "The longest one transfer may take (upload, listing, download, rename)."},
    Field{"systems.*.sftp.connect_timeout", Kind::duration, "5s", false, "The longest the SSH connection may take."},
    Field{"systems.*.dir", Kind::section, "", false,
          "A file exchange in a local (or mounted) folder, for `file_exchange` steps and "
          "`call->file_exchange(...)`."},
    Field{"systems.*.dir.path", Kind::string, "", true,
          "The folder (relative paths start at the config's directory); it must exist."},
    Field{"systems.*.dir.poll", Kind::duration, "250ms", false,
          "How often the folder is looked at for the answer file."},
    Field{"systems.*.dir.complete", Kind::enumeration, "size_stable", false,
          "When an answer file counts as complete: `size_stable` (its size and modification time unchanged for "
          "`stable_for`) or `marker` (a file named like it plus `marker_suffix` exists; both are then taken).",
          "size_stable|marker"},
    Field{"systems.*.dir.stable_for", Kind::duration, "500ms", false,
          "`complete: size_stable`: how long the answer must stay unchanged before it is read."},
    Field{"systems.*.dir.marker_suffix", Kind::string, ".done", false,
          "`complete: marker`: the marker file's name is the answer's plus this."},
    Field{"systems.*.dir.await_timeout", Kind::duration, "60s", false,
          "How long a `file_exchange` waits for its answer when the step sets no `await.timeout` (never past the "
          "request's deadline)."},
    Field{"systems.*.dir.max_file_bytes",
          Kind::integer,
          "67108864",
          false,
          "A larger answer file is `legacy_failed` (it would be held in memory whole).",
          {},
          1,
          1LL << 32},
    Field{"systems.*.exec", Kind::section, "", false,
          "A command run once per call (a script, an RPA bot), for `exec` steps and `call->exec(...)`: an argument "
          "list, never a shell; its process group is killed at the timeout or the request's deadline."},
    Field{"systems.*.exec.command", Kind::list, "", true,
          "The program and its first arguments (`[bin/bot, --mode, batch]`); a call's arguments follow. A program "
          "with a `/` is relative to the config's directory, else looked up in PATH."},
    Field{"systems.*.exec.timeout", Kind::duration, "30s", false,
          "The longest a command may run (never past the request's deadline); then its process group is killed "
          "and the call is `legacy_timeout`."},
    Field{"systems.*.exec.env", Kind::list, "", false,
          "Names of the connector's environment variables the command gets (`[PATH, LANG]`); no others."},
    Field{"systems.*.exec.working_dir", Kind::string, "", false,
          "Where the command runs (relative paths start at the config's directory). Unset: the config's directory."},
    Field{"systems.*.exec.max_output_bytes",
          Kind::integer,
          "1048576",
          false,
          "The most each of stdout and stderr may hold; a command writing more is killed (`legacy_failed`).",
          {},
          1,
          1LL << 30},
    Field{"systems.*.exec.max_in_flight",
          Kind::integer,
          "4",
          false,
          "Commands running at once; calls beyond wait for a slot until their request's deadline.",
          {},
          1,
          1000},
    Field{"systems.*.exec.unavailable_exit_codes", Kind::list, "75", false,
          "Exit codes meaning \"try again later\" (`legacy_unavailable`, retriable; 75 is EX_TEMPFAIL). Any other "
          "non-zero exit is `legacy_failed` with the end of stderr."},

    Field{"observability", Kind::section, "", false, "Tracing, metrics and health endpoints."},
    Field{"observability.service_name", Kind::string, "", false,
          "The connector's name in traces (`service.name`). Unset: kafka.group_id."},
    Field{"observability.tracing", Kind::section, "", false,
          "Traces continuing the engine's (W3C `traceparent` or Jaeger `uber-trace-id`), exported to an "
          "OTLP/HTTP collector such as Jaeger."},
    Field{"observability.tracing.otlp_endpoint", Kind::string, "", false,
          "`http://host:port` or `https://host:port` of the collector; `/v1/traces` is appended. Unset: no "
          "tracing, and trace headers pass through untouched."},
    Field{"observability.tracing.ca_file", Kind::string, "", false,
          "For an `https://` collector: PEM file of the CAs to trust (relative to the config file). Unset: the "
          "system's trust store. The certificate and its host name are always verified."},
    Field{"observability.tracing.cert_file", Kind::string, "", false,
          "For an `https://` collector asking for mutual TLS: PEM client certificate, with `key_file`."},
    Field{"observability.tracing.key_file", Kind::string, "", false, "PEM private key of `cert_file`."},
    Field{"observability.tracing.headers", Kind::map, "", false,
          "Headers sent with every export, e.g. a hosted collector's API key (`x-api-key: ${file:/run/secrets/otlp}`). "
          "Their values are secrets whatever the header's name: never printed, redacted everywhere."},
    Field{"observability.tracing.sampler", Kind::string, "parent", false,
          "`always`, `never`, `ratio:R` (0..1, by trace id) or `parent` (follow the caller's decision; "
          "sample new traces)."},
    Field{"observability.http", Kind::section, "", false, "The HTTP endpoint for metrics and health checks."},
    Field{"observability.http.listen", Kind::string, "", false,
          "`host:port` serving /metrics (Prometheus text format), /health/live and /health/ready. "
          "Unset: no endpoint. Port 0 picks a free port (logged at start)."},
    Field{"observability.http.metrics_token", Kind::string, "", false,
          "A bearer token `/metrics` requires (`Authorization: Bearer <token>`; else 401). The health pages stay "
          "open for probes. Use `${file:...}` or `${VAR}`; never printed. Unset: /metrics is open."},
    Field{"observability.http.tls", Kind::section, "", false,
          "Serve the endpoint over HTTPS (TLS 1.2 or later) instead of HTTP."},
    Field{"observability.http.tls.cert_file", Kind::string, "", true,
          "PEM certificate (chain) of the endpoint (relative to the config file)."},
    Field{"observability.http.tls.key_file", Kind::string, "", true, "PEM private key of `cert_file`."},
    Field{"observability.http.max_connections",
          Kind::integer,
          "64",
          false,
          "Connections open at once; one more is accepted and closed at once (the client may retry) instead of "
          "waiting behind slow ones.",
          {},
          1,
          10000},
    Field{"observability.http.request_timeout", Kind::duration, "10s", false,
          "To complete the TLS handshake (with `tls`), receive a whole request and send its answer: a client that "
          "connects and sends nothing, never completes its handshake, or sends or reads slowly is cut after this."},
    Field{"observability.http.max_request_bytes",
          Kind::integer,
          "8192",
          false,
          "The largest request (request line, headers and body) read; a larger one is closed unanswered.",
          {},
          1024,
          1048576},
    Field{"observability.http.max_headers",
          Kind::integer,
          "32",
          false,
          "The most header fields in a request; a request with more is closed unanswered.",
          {},
          1,
          1000},

    Field{"lists", Kind::yaml, "", false,
          "Value lists for the `lookup` transform of a flow, by name: `<name>: { csv: file.csv, key: column, value: "
          "column, case: insensitive }`, or inline `<name>: { web: WEB, branch: BRN }` (case sensitive; "
          "`{ entries: {...}, case: insensitive }` for the other case). Loaded once at startup."},
    Field{"lists.<name>.csv", Kind::string, "", false,
          "A CSV file (RFC 4180, a header row; relative to the config file's directory). Several keys may "
          "give the same value (aliases)."},
    Field{"lists.<name>.key", Kind::string, "", false, "The CSV column looked up (required with `csv`)."},
    Field{"lists.<name>.value", Kind::string, "", false, "The CSV column returned (required with `csv`)."},
    Field{"lists.<name>.entries", Kind::map, "", false, "Inline `key: value` entries (instead of `csv`)."},
    Field{"lists.<name>.case", Kind::enumeration, "sensitive", false,
          "`insensitive`: keys match whatever their ASCII letters' case.", "sensitive|insensitive"},

    Field{"flow", Kind::yaml, "", false,
          "A declarative connector: a list of steps run in order for each request, instead of `handler`. "
          "Each step is a mapping with one of the keys `validate`, `map`, `call`, `fail_when`, `reply` (the "
          "last step, exactly once). Steps read and write the request's data: `request` (the body), `headers` "
          "(the request's headers, by name), `map` (what `map` steps computed) and each call's `as` name. "
          "Strings in `call` and `reply` are templates: a string that is exactly `\"${path}\"` keeps the value's "
          "type, `${path}` inside text is the value's text; `$${` is a literal `${`. Any failure is the "
          "request's error reply (`error.code`, `retriable`, `field` for a request field, `step`). Environment "
          "variables are not read inside `flow` (`${...}` there is data); `fxconnect test` runs a flow "
          "without Kafka."},
    Field{"flow[].validate.schema", Kind::string, "", false,
          "A JSON Schema (draft 7) file the request body must satisfy (relative to the config file). A "
          "violation is `invalid_request` naming the first field at fault (`request.customer.id`)."},
    Field{"flow[].map", Kind::yaml, "", false,
          "Computes `${map.<name>}` fields, in the order written. Each has one source (`from`, `value`, "
          "`uuid`, `now` or `jq`) and optional transforms, applied in this order: `trim`, `upper`/`lower`, "
          "`date`, `lookup`, `minor_units`, `type`."},
    Field{"flow[].map.<name>.from", Kind::string, "", false,
          "A data path (`request.customer.id`, `request.items[0].sku`, `map.x`) copied exactly: a 20-digit number "
          "stays 20 digits. Absent is an error naming the path unless `default` is set or `required: false` "
          "(then the field is left out); `null` is a value (kept, or refused by a transform)."},
    Field{"flow[].map.<name>.value", Kind::string, "", false,
          "A template instead of `from` (`\"${request.a}-${request.b}\"`, or a constant)."},
    Field{"flow[].map.<name>.required", Kind::boolean, "true", false,
          "`false`: an absent `from` path leaves the field out instead of failing."},
    Field{"flow[].map.<name>.default", Kind::string, "", false,
          "The field's value (any YAML value, used as is, no transform) when the `from` path is absent."},
    Field{"flow[].map.<name>.uuid", Kind::enumeration, "", false, "A new random UUID (version 4).", "v4"},
    Field{"flow[].map.<name>.now", Kind::string, "", false,
          "The current time in this date format (`iso`, `yyyy-MM-dd`, `epoch_ms`...), UTC unless `date.out_zone`."},
    Field{"flow[].map.<name>.jq", Kind::string, "", false,
          "A jq expression over the data (`.request.loan.amount | tonumber > 10000`); its first output. jq numbers "
          "are doubles: use `from` for exact copies. A jq error is a `handler_failed` error reply naming the step."},
    Field{"flow[].map.<name>.trim", Kind::boolean, "false", false, "Remove blanks around a string."},
    Field{"flow[].map.<name>.upper", Kind::boolean, "false", false, "ASCII upper case."},
    Field{"flow[].map.<name>.lower", Kind::boolean, "false", false, "ASCII lower case."},
    Field{"flow[].map.<name>.date", Kind::yaml, "", false,
          "`{ in: dd/MM/yyyy, out: yyyy-MM-dd, zone: Europe/Bucharest, out_zone: UTC }`: re-format a date or "
          "time, with a calendar check (31/02 is refused). Letters: yyyy MM dd HH mm ss SSS XXX (two-digit "
          "years are refused); `iso` for ISO 8601, `epoch_ms` for milliseconds since 1970. `zone` (IANA, "
          "default UTC) reads a time without offset; `out_zone` (default `zone`) writes it."},
    Field{"flow[].map.<name>.lookup", Kind::string, "", false,
          "The name of a list under `lists`: the value becomes the list's value for it; a value not in the "
          "list is `invalid_request` naming it and up to 5 close valid ones."},
    Field{"flow[].map.<name>.minor_units", Kind::string, "", false,
          "A currency (template, e.g. `\"${request.loan.currency}\"`): an exact decimal amount becomes an integer "
          "of its ISO 4217 minor units (12.34 EUR → 1234, 5 JPY → 5, 1.234 KWD → 1234); more decimals than the "
          "currency has is an error, never rounded."},
    Field{"flow[].map.<name>.type", Kind::enumeration, "", false,
          "Convert to this JSON type (exactly; `\"42\"` → 42, 1 → `\"1\"`, `\"true\"` → true).",
          "number|string|boolean"},
    Field{"flow[].call", Kind::yaml, "", false,
          "Calls a system of `systems` (with its retries, timeouts, breaker and limits, within the request's "
          "deadline); the answer is `${<as>.status}`, `${<as>.headers.<lower-case name>}`, `${<as>.body}` (JSON "
          "when the answer is JSON, else text). SOAP answers: `${<as>.body}` (the Body as JSON), `${<as>.xml}`, "
          "`${<as>.http_status}` and each `extract` name."},
    Field{"flow[].call.as", Kind::string, "", false,
          "The name the answer is kept under (letters, digits, `_`); default: the system's name."},
    Field{"flow[].call.when", Kind::string, "", false,
          "A jq condition: the call is made only when it holds (`.request.kycRequired`); otherwise the step is "
          "skipped and `${<as>...}` is absent."},
    Field{"flow[].call.system", Kind::string, "", true, "A name under `systems`."},
    Field{"flow[].call.method", Kind::enumeration, "GET", false, "The HTTP method (REST calls).",
          "GET|POST|PUT|PATCH|DELETE|HEAD"},
    Field{"flow[].call.path", Kind::string, "/", false, "A text template appended to the system's endpoint."},
    Field{"flow[].call.query", Kind::map, "", false, "Query parameters (text templates), percent-encoded."},
    Field{"flow[].call.headers", Kind::map, "", false, "Request headers (text templates)."},
    Field{"flow[].call.body", Kind::yaml, "", false,
          "REST: a JSON template sent as `application/json`. SOAP: an XML text template for the inside of "
          "soap:Body, each `${...}` value XML-escaped."},
    Field{"flow[].call.accept", Kind::list, "", false,
          "The HTTP statuses that answer the call (default 200-299); any other is `legacy_failed`."},
    Field{"flow[].call.soap", Kind::yaml, "", false,
          "`{ action: urn:kyc#CheckCustomer, version: \"1.1\" }` makes this a SOAP call (version defaults to the "
          "system's `soap.version`). A SOAP Fault is `legacy_failed` with its faultcode and faultstring."},
    Field{"flow[].call.extract", Kind::yaml, "", false,
          "SOAP: `<name>: { xpath: //k:Status, type: string|integer|number|boolean|list, required: true }`, "
          "with the prefixes of the system's `soap.namespaces` (matched by namespace URI, whatever prefix the "
          "answer uses). A required value that is missing or not of its type is `legacy_failed`."},
    Field{"flow[].call.fail_when", Kind::yaml, "", false,
          "Answers that are errors although their status is accepted: a list of `{ if: <jq condition>, error: { "
          "code, retriable, message } }`, checked in order after the call (`message` may interpolate jq: "
          "`'rejected: \\(.account.body.reason)'`; code defaults to `handler_failed`). Also a step of its own."},
    Field{"flow[].sql", Kind::yaml, "", false,
          "Runs a query on a `postgres` system (within the request's deadline); the answer is `${<as>}`: the row "
          "(`rows: one`/`optional`), an array of rows (`many`) or `{ affected: N }` (`none`). Values exact; NULL "
          "is null. `when:` and `fail_when:` as for `call`."},
    Field{"flow[].sql.as", Kind::string, "", false, "The name the answer is kept under; default: the system's name."},
    Field{"flow[].sql.system", Kind::string, "", true, "A `postgres` system under `systems`."},
    Field{"flow[].sql.query", Kind::string, "", true,
          "The query as written, with `$1`, `$2`... for values; `${...}` in it is refused (values go in `params`)."},
    Field{"flow[].sql.params", Kind::list, "", false,
          "One value template per `$n`, in order (`\"${map.customerRef}\"`); null is NULL, numbers keep their "
          "digits, objects and arrays are sent as JSON text."},
    Field{"flow[].sql.rows", Kind::enumeration, "many", false,
          "`one`: exactly one row, else `legacy_failed`; `optional`: the row or null; `many`: an array; `none`: "
          "`{ affected: N }`.",
          "one|optional|many|none"},
    Field{"flow[].sql.max_rows",
          Kind::integer,
          "",
          false,
          "More rows is `legacy_failed`; lowers the system's `max_rows` for this step (unset: the system's).",
          {},
          1,
          10000000},
    Field{"flow[].file_exchange", Kind::yaml, "", false,
          "Writes a request file to a `dir` or `sftp` system and, with `await`, waits for its answer file; the "
          "answer, parsed, is `${<as>}`. `when:` and `fail_when:` as for `call`."},
    Field{"flow[].file_exchange.as", Kind::string, "", false,
          "The name the answer is kept under; default: the system's name."},
    Field{"flow[].file_exchange.system", Kind::string, "", true, "A `dir` or `sftp` system under `systems`."},
    Field{"flow[].file_exchange.write.name", Kind::string, "", true,
          "The request file's name (a text template; give it the request's identity, e.g. `REQ-${@uuid}.json`): "
          "written under a dot-name, then renamed."},
    Field{"flow[].file_exchange.write.body", Kind::yaml, "", true,
          "A value template: a string is written as it is, anything else as JSON (`\"${map}\"`)."},
    Field{"flow[].file_exchange.await.name", Kind::string, "", false,
          "The answer file's name (a text template). Without `await`, the step only writes."},
    Field{"flow[].file_exchange.await.timeout", Kind::duration, "", false,
          "How long to wait for the answer (never past the request's deadline). Unset: the system's "
          "`await_timeout`."},
    Field{"flow[].file_exchange.await.parse", Kind::enumeration, "json", false,
          "How the answer becomes data: JSON (numbers exact), XML (elements by local name, attributes `@name`), CSV "
          "(an array of objects by the header row) or text.",
          "json|xml|csv|text"},
    Field{"flow[].file_exchange.archive", Kind::string, "", false,
          "A folder inside the system's (`done/`) where both files go once answered. Unset: both are removed."},
    Field{"flow[].exec", Kind::yaml, "", false,
          "Runs an `exec` system's command with more arguments; its stdout, parsed, is `${<as>}`. `when:` and "
          "`fail_when:` as for `call`."},
    Field{"flow[].exec.as", Kind::string, "", false, "The name the answer is kept under; default: the system's name."},
    Field{"flow[].exec.system", Kind::string, "", true, "An `exec` system under `systems`."},
    Field{"flow[].exec.args", Kind::list, "", false,
          "Arguments after the system's `command`, each a text template passed as one argument (no shell)."},
    Field{"flow[].exec.stdin", Kind::yaml, "", false,
          "A value template written to the command's stdin: a string as it is, anything else as JSON."},
    Field{"flow[].exec.parse", Kind::enumeration, "json", false, "How stdout becomes data (as for file_exchange).",
          "json|xml|csv|text"},
    Field{"flow[].reply", Kind::yaml, "", false,
          "The reply body: a JSON template (`{ accountId: \"${account.body.id}\", validation: \"${map}\" }`), "
          "or `\"${map}\"`. The last step."},
    Field{"flow_limits", Kind::section, "", false, "Bounds on what a flow may spend on one request."},
    Field{"flow_limits.jq_input_bytes",
          Kind::integer,
          "1048576",
          false,
          "The largest data (JSON text) a jq expression is run on; larger is a `handler_failed` error reply.",
          {},
          1024,
          1LL << 30},

    Field{"log", Kind::section, "", false, "Logging to standard error."},
    Field{"log.level", Kind::enumeration, "info", false, "Lowest level logged.", "trace|debug|info|warn|error"},
    Field{"log.format", Kind::enumeration, "text", false,
          "`text`: one readable line per event. `json`: one JSON object per line (`time`, `level`, "
          "`message`; lines about a request add `processInstanceUuid` and, with tracing, `trace_id` and "
          "`span_id`).",
          "text|json"},
    Field{"log.bodies", Kind::boolean, "false", false,
          "Add the request body (its first 1 KiB, escaped) to each error line. Off by default: "
          "bodies carry personal data."},
};

std::string_view kind_name(Kind kind) {
  switch (kind) {
    case Kind::section: return "section";
    case Kind::string: return "string";
    case Kind::integer: return "integer";
    case Kind::boolean: return "boolean";
    case Kind::duration: return "duration";
    case Kind::enumeration: return "enum";
    case Kind::regex: return "regex";
    case Kind::map: return "map";
    case Kind::named: return "names";
    case Kind::list: return "list";
    case Kind::percent: return "percent";
    case Kind::rate: return "rate";
    case Kind::yaml: return "yaml";
  }
  return "string";
}

}  // namespace

std::span<const Field> connector_fields() { return kFields; }

const Field* find_field(std::string_view path) {
  for (const auto& f : kFields) {
    if (f.path == path) return &f;
  }
  return nullptr;
}

std::string markdown_reference() {
  std::string out =
      "# Connector configuration reference\n\n"
      "<!-- Generated by `fxconnect config-reference` from src/config/spec.cc; a test fails when "
      "this file is stale. -->\n\n"
      "A connector is configured by one YAML file, given to `fxconnect run` and `fxconnect lint`.\n"
      "Any scalar may use `${VAR}` (the environment variable; an error when unset) or\n"
      "`${VAR:-default}` (the default when unset or empty); `$${` stands for a literal `${`.\n"
      "Unknown keys, wrong types and bad values are refused with `file:line:column`.\n\n"
      "Durations are a whole number with a unit: `ms`, `s`, `m` or `h` (`250ms`, `30s`), at most 30 days.\n\n"
      "| key | type | default | description |\n|---|---|---|---|\n";
  for (const auto& f : kFields) {
    std::string type(kind_name(f.kind));
    if (f.kind == Kind::enumeration) type = fmt::format("`{}`", f.choices);
    if (f.kind == Kind::integer) type = fmt::format("integer {}..{}", f.min, f.max);
    std::string def = f.required                ? "required"
                      : f.default_value.empty() ? "unset"
                                                : fmt::format("`{}`", f.default_value);
    if (f.kind == Kind::section) def = f.required ? "required" : "";
    std::string path(f.path);
    for (auto star = path.find(".*"); star != std::string::npos; star = path.find(".*"))
      path.replace(star, 2, ".<name>");
    if (f.kind == Kind::list && !f.default_value.empty()) {
      def = fmt::format("`[{}]`", f.default_value);
    }
    out += fmt::format("| `{}` | {} | {} | {} |\n", path, type, def, f.description);
  }
  out +=
      "\n## Cross-field rules\n\n"
      "- `input.topic` and `input.pattern`: exactly one is set.\n"
      "- `reply.topic` must match `reply.engine_pattern` (whole name).\n"
      "- `errors.dlq_topic` must not match `reply.engine_pattern` (dead letters are not replies).\n"
      "- `reply.topic` and `errors.dlq_topic` must not be the input topic or match the input pattern.\n"
      "- `systems.<name>`: exactly one of `endpoints` (HTTP), `postgres`, `sftp`, `dir`, `exec`; the HTTP keys\n"
      "  (`timeout`, `retry`, `tls`...) only with `endpoints`.\n"
      "- `systems.<name>.endpoints`: each an `http://` or `https://` URL with a host; `tls.*` only matters for\n"
      "  https ones. `tls.cert_file` and `tls.key_file` go together; every file named must be readable.\n"
      "- `systems.<name>.auth`: exactly one of `basic`, `bearer`, `oauth2`.\n"
      "- `systems.<name>.retry.on`: `connect`, `timeout`, `broken` or an HTTP status (100-599);\n"
      "  `retry.max_backoff` not below `retry.backoff`.\n"
      "\n## librdkafka properties fxconnect owns\n\n"
      "These are set by fxconnect and refused in `kafka.*properties`, because the delivery\n"
      "guarantees depend on them: `bootstrap.servers` and `group.id` (use `kafka.bootstrap`,\n"
      "`kafka.group_id`), `enable.auto.offset.store=false` with `enable.auto.commit=true` and\n"
      "`auto.commit.interval.ms` (use `processing.commit_interval`): fxconnect stores an offset only once\n"
      "every request before it is answered and acknowledged, and librdkafka commits what is stored,\n"
      "only while the group is stable (a commit sent during a rejoin makes librdkafka 2.0.2 drop the\n"
      "whole assignment), `partition.assignment.strategy=cooperative-sticky` (revoked partitions are\n"
      "drained before release), `enable.idempotence=true` and `acks=all` (replies are neither lost nor\n"
      "reordered by producer retries), `transactional.id` (replies are not transactional).\n"
      "\n"
      "Defaults fxconnect sets and a user may override: both `reconnect.backoff.max.ms=1000` (back\n"
      "within a second of a healed network cut, not up to 10 s later); consumer `auto.offset.reset=earliest` (a new\n"
      "group serves the requests already waiting; librdkafka's own default, `latest`, would skip them),\n"
      "`queued.max.messages.kbytes=16384`, `statistics.interval.ms=1000` (how readiness learns that a\n"
      "broker is back after an outage); producer `message.timeout.ms=120000`,\n"
      "`message.max.bytes=52428800`, `allow.auto.create.topics=false`.\n";
  return out;
}

}  // namespace fxconnect::config
