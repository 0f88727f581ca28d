#!/usr/bin/env bash
# Runs every Go fuzz target of the repository for a bounded time each, then keeps the
# corpus it found under the target's package, in testdata/fuzz/<Target>/, where plain
# `go test` (and so `make test`) replays it.
#
#   hack/fuzz.sh [FUZZTIME]      FUZZTIME per target, default 30s (any `go test -fuzztime`)
#
# A target that crashes fails the script; its input is written to testdata/fuzz as well,
# so the crash stays a regression test once fixed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

fuzztime=${1:-30s}
cache=$(go env GOCACHE)/fuzz
module=$(go list -m)
status=0

while IFS=: read -r file target; do
  dir=$(dirname "$file")
  pkg=$(go list "./$dir")
  echo "== $target ($pkg), $fuzztime"
  if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "./$dir"; then
    echo "$target crashed: see $dir/testdata/fuzz/$target" >&2
    status=1
  fi
  found="$cache/$pkg/$target"
  if [ -d "$found" ]; then
    mkdir -p "$dir/testdata/fuzz/$target"
    cp -n "$found"/* "$dir/testdata/fuzz/$target/" 2>/dev/null || true
  fi
done < <(grep -rEo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+' api internal cmd test | sed 's/func //' | sort)

echo "corpus kept under */testdata/fuzz (module $module)"
exit $status
