#!/usr/bin/env bash
# scripts/lint.sh -- the written style, checked: clang-format (.clang-format) on every C++ file
# and clang-tidy (.clang-tidy: bugprone, performance, modernize essentials; warnings are errors)
# on the sources of the library, the examples and the benchmarks. Non-zero on any finding.
#   scripts/lint.sh           check (scripts/test.sh runs this)
#   scripts/lint.sh --fix     apply clang-format in place (clang-tidy findings are fixed by hand)
# Needs the release build's compile_commands.json (scripts/setup.sh makes it) and Debian's
# clang-format and clang-tidy (14), which scripts/setup.sh installs.
set -euo pipefail

SCRIPTS="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
# shellcheck source=scripts/versions.sh
source "$SCRIPTS/versions.sh"
cd "$FXC_ROOT"

mapfile -t cxx < <(git ls-files '*.cc' '*.h')
if [[ "${1:-}" == "--fix" ]]; then
  clang-format -i "${cxx[@]}"
  exit 0
fi

status=0
echo "lint: clang-format on ${#cxx[@]} files" >&2
if ! clang-format --dry-run --Werror "${cxx[@]}"; then
  echo "lint: clang-format: the files above differ from .clang-format (scripts/lint.sh --fix applies it)" >&2
  status=1
fi

# Tests are left out: GoogleTest's macros trip bugprone checks by design, and the run takes ~10 s
# per file on this machine.
mapfile -t tidy < <(git ls-files 'src/*.cc' 'bench/*.cc' 'examples/*.cc' | grep -v '/test/')
[[ -f "$FXC_BUILD/compile_commands.json" ]] || { echo "lint: no $FXC_BUILD/compile_commands.json: run scripts/setup.sh" >&2; exit 1; }
echo "lint: clang-tidy on ${#tidy[@]} files" >&2
if ! printf '%s\n' "${tidy[@]}" | xargs -P "$(nproc)" -n 4 clang-tidy -p "$FXC_BUILD" --quiet 2>/dev/null; then
  echo "lint: clang-tidy found problems (above)" >&2
  status=1
fi
exit "$status"
