#!/usr/bin/env bash
# Installs the Debian packages that `make test` needs and a fresh machine may lack, with
# apt-get. Each entry is a command and the package that provides it; a command already on
# PATH is left alone, so on a prepared machine this does nothing.
#
#   hack/ensure-packages.sh
#
# gcc: the race detector (`go test -race`) needs cgo, and cgo needs a C compiler.
set -euo pipefail

needed=(gcc:gcc)

missing=()
for entry in "${needed[@]}"; do
  cmd=${entry%%:*}
  pkg=${entry##*:}
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing Debian packages: ${missing[*]}" >&2
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "need root (or sudo) to apt-get install ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
