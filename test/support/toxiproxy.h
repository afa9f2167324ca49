// A client for Toxiproxy's HTTP API (scripts/toxiproxy.sh), for tests: TCP proxies between a
// client and a server, and "toxics" on them (latency, bandwidth caps, timeouts, connection
// resets) or a full cut (enable(name, false)). Every call is one blocking HTTP request
// (http_get.h); a failure (no answer, or a status other than 2xx) throws std::runtime_error naming
// the call, the status and Toxiproxy's answer. Test code only.
//
// One Toxiproxy may serve several tests of a run: give proxies names of their own and remove
// them; reset() affects every proxy of the server.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

namespace fxconnect::testing {

class Toxiproxy {
 public:
  // `api_url` is Toxiproxy's API address, http://127.0.0.1:PORT.
  explicit Toxiproxy(std::string api_url);

  // The Toxiproxy named by FXC_TOXIPROXY_URL (set by scripts/lib.sh's fxc_private_toxiproxy), or
  // nothing when that variable is unset or empty: tests then GTEST_SKIP().
  static std::optional<Toxiproxy> from_env();

  const std::string& api_url() const { return api_url_; }

  // GET /version, e.g. "2.5.0".
  std::string version();

  // POST /proxies: a proxy listening on `listen` ("127.0.0.1:P"; port 0 lets Toxiproxy pick a free
  // one) that forwards to `upstream` ("127.0.0.1:U"), enabled. Returns the address it listens on
  // (with the actual port). A name already in use throws (HTTP 409).
  std::string create_proxy(const std::string& name, const std::string& listen, const std::string& upstream);
  // DELETE /proxies/{name}: stops listening and closes its connections.
  void remove_proxy(const std::string& name);
  // POST /reset: enables every proxy and removes every toxic (of every proxy of the server).
  void reset();
  // POST /proxies/{name} {"enabled": ...}: disabled, the proxy stops listening (connecting is
  // refused) and closes its open connections; enabled again, it listens on the same address.
  void enable(const std::string& name, bool enabled);
  // GET /proxies: the names of every proxy, sorted.
  std::vector<std::string> proxies();

  // Toxics, on the "downstream" (server to client) or "upstream" (client to server) direction of
  // every connection of `proxy`, open or new. Each returns the toxic's name, "<type>_<stream>"
  // (e.g. "latency_downstream"), for remove_toxic(); a second toxic of the same type on the same
  // stream needs add_toxic() with a name of its own.
  // Delays data by `ms` +- `jitter_ms`.
  std::string add_latency(const std::string& proxy, int ms, int jitter_ms = 0, std::string_view stream = "downstream");
  // Caps the rate at `kb_per_s` KB/s.
  std::string add_bandwidth(const std::string& proxy, long kb_per_s, std::string_view stream = "downstream");
  // Stops all data and closes the connection after `ms` (0: never closes; data stays stopped
  // until the toxic is removed).
  std::string add_timeout(const std::string& proxy, int ms, std::string_view stream = "downstream");
  // Resets the connection (TCP RST) after `ms`.
  std::string add_reset_peer(const std::string& proxy, int ms, std::string_view stream = "downstream");
  // POST /proxies/{proxy}/toxics: any toxic; `name` empty: "<type>_<stream>".
  std::string add_toxic(const std::string& proxy, std::string_view type, std::string_view stream,
                        const boost::json::object& attributes, std::string name = {}, double toxicity = 1.0);
  // DELETE /proxies/{proxy}/toxics/{toxic_name}.
  void remove_toxic(const std::string& proxy, const std::string& toxic_name);
  // GET /proxies/{proxy}/toxics: the names of the proxy's toxics.
  std::vector<std::string> toxics(const std::string& proxy);

  // One API call: `method` on `path` with an optional JSON body; returns the parsed answer (null
  // when empty, a string when it is not JSON). Throws as described above.
  boost::json::value api(std::string_view method, const std::string& path,
                         const std::optional<boost::json::value>& body = std::nullopt);

 private:
  std::string api_url_;
};

}  // namespace fxconnect::testing
