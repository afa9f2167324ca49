#!/usr/bin/env bash
# scripts/package-check.sh -- the Debian package as a user gets it: builds it from the release
# build (`cmake --build --preset release --target package` -> build/fxconnect_<version>_<arch>.deb),
# unpacks it with `dpkg -x` into a throwaway root (no root rights, nothing installed on the
# machine), runs the packaged `fxconnect --version`, builds examples/greeter against the packaged
# SDK (CMAKE_PREFIX_PATH=<root>/usr) and runs the greeter's `lint` on examples/greeter/greeter.yaml.
# Prints what it checked; non-zero on any failure. scripts/test.sh runs it.
set -euo pipefail

SCRIPTS="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
# shellcheck source=scripts/versions.sh
source "$SCRIPTS/versions.sh"
cd "$FXC_ROOT"

version="$(sed -n 's/^project(fxconnect VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)"
# CPack writes next to the release preset's build (its binaryDir), whatever FXC_BUILD says.
deb="$FXC_ROOT/build/fxconnect_${version}_$(dpkg --print-architecture).deb"
rm -f "$deb"
cmake --build --preset release --target package >"$FXC_BUILD/package.log" 2>&1 || {
  tail -n 40 "$FXC_BUILD/package.log"
  echo "package-check: cmake --target package failed (log: $FXC_BUILD/package.log)" >&2
  exit 1
}
[[ -f "$deb" ]] || { echo "package-check: $deb was not made" >&2; exit 1; }
echo "package-check: $(basename "$deb"), $(du -h "$deb" | cut -f1)"
dpkg-deb --field "$deb" Package Version Architecture Depends | sed 's/^/package-check:   /'

root="$(mktemp -d "$FXC_BUILD/package-root.XXXXXX")"
trap 'rm -rf "$root"' EXIT
dpkg -x "$deb" "$root"
for f in usr/bin/fxconnect usr/include/fxconnect/fxconnect.h usr/lib/cmake/fxconnect/fxconnectConfig.cmake \
  usr/share/doc/fxconnect/README.md usr/share/doc/fxconnect/config.md usr/share/doc/fxconnect/config.schema.json; do
  [[ -e "$root/$f" ]] || { echo "package-check: /$f is not in the package" >&2; exit 1; }
done

"$root/usr/bin/fxconnect" --version | sed 's/^/package-check: --version: /'
"$root/usr/bin/fxconnect" --version | grep -q "^fxconnect $version$"
"$root/usr/bin/fxconnect" --version | grep -qE '^librdkafka [0-9]+\.[0-9]+'
"$root/usr/bin/fxconnect" --version | grep -qE '^libcurl [0-9]+\.[0-9]+'

cmake -S examples/greeter -B "$root/greeter-build" -G Ninja -DCMAKE_PREFIX_PATH="$root/usr" >"$root/greeter.log" 2>&1 &&
  cmake --build "$root/greeter-build" >>"$root/greeter.log" 2>&1 || {
  tail -n 40 "$root/greeter.log"
  echo "package-check: examples/greeter did not build against the package" >&2
  exit 1
}
grep -q "$root/usr/lib/cmake/fxconnect" "$root/greeter-build/CMakeCache.txt" || {
  echo "package-check: the greeter found an fxconnect other than the package's" >&2
  exit 1
}
"$root/greeter-build/greeter-connector" lint examples/greeter/greeter.yaml | sed 's/^/package-check: lint: /'
