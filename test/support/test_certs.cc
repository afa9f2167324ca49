#include "test_certs.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace fxconnect::testing {
namespace {

// The script run in the certificates' directory; each certificate gets its extensions from a file.
constexpr const char* kScript = R"(set -e
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
ca() {  # ca NAME CN
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -sha256 -days 30 -subj "/O=fxconnect tests/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$1.pem"
}
leaf() {  # leaf NAME CA CN EXTENDED_KEY_USAGE [SUBJECT_ALT_NAME]
  key "$1.key"
  openssl req -new -key "$1.key" -sha256 -subj "/O=fxconnect tests/CN=$3" -out "$1.csr"
  printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" "extendedKeyUsage=$4" >"$1.ext"
  if [ -n "$5" ]; then printf '%s\n' "subjectAltName=$5" >>"$1.ext"; fi
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -sha256 -days 30 \
    -extfile "$1.ext" -out "$1.pem"
  rm -f "$1.csr" "$1.ext"
}
ca ca "fxconnect test CA"
leaf server ca localhost serverAuth "IP:127.0.0.1,DNS:localhost"
leaf client ca "fxconnect test client" clientAuth
leaf wrong-name ca elsewhere.invalid serverAuth "DNS:elsewhere.invalid"
ca other-ca "an unrelated CA"
leaf other-server other-ca localhost serverAuth "IP:127.0.0.1,DNS:localhost"
)";

TestCerts make() {
  auto base = std::filesystem::path(FXC_TEST_TMP_DIR);
  std::filesystem::create_directories(base);
  auto pattern = (base / "certs.XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp " + pattern + " failed");
  TestCerts c;
  c.dir = pattern;
  std::ofstream(c.dir + "/make.sh") << kScript;
  auto command = "cd '" + c.dir + "' && sh make.sh >make.log 2>&1";
  if (std::system(command.c_str()) != 0) {  // NOLINT(cert-env33-c): a fixed script, test code
    std::ifstream log(c.dir + "/make.log");
    std::stringstream text;
    text << log.rdbuf();
    throw std::runtime_error("making test certificates with openssl failed (is the openssl CLI installed?):\n" +
                             text.str());
  }
  auto at = [&](const char* name) { return c.dir + "/" + name; };
  c.ca = at("ca.pem");
  c.ca_key = at("ca.key");
  c.server = at("server.pem");
  c.server_key = at("server.key");
  c.client = at("client.pem");
  c.client_key = at("client.key");
  c.wrong_name_server = at("wrong-name.pem");
  c.wrong_name_server_key = at("wrong-name.key");
  c.other_ca = at("other-ca.pem");
  c.other_server = at("other-server.pem");
  c.other_server_key = at("other-server.key");
  return c;
}

}  // namespace

const TestCerts& test_certs() {
  static const TestCerts certs = make();
  return certs;
}

}  // namespace fxconnect::testing
