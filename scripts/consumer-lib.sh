# Shared by scripts/consumer-check.sh and scripts/consumer-check-effect4.sh (sourced, not run):
# the scratch dir, messages, the packed tarball, and the one-copy-of-effect check.
#
# Before sourcing, set: label (the message prefix), node_bin (the node to use), scratch (the
# mktemp name's stem). Afterwards: node_version, work, fail, step, tarball; the current
# directory is "$work/app" and that node is first on PATH (npm's install scripts run with it).

node_version="$("$node_bin" --version)"
work="$(mktemp -d "${TMPDIR:-/tmp}/$scratch.XXXXXX")"
if [ "${KEEP:-}" = "1" ]; then
  trap 'echo "$label: scratch kept in $work" >&2' EXIT
else
  trap 'rm -rf "$work"' EXIT
fi
fail() {
  echo "$label: FAILED on node $node_version: $*"
  exit 1
}
step() { echo "$label: $*"; }

export PATH="$(dirname "$node_bin"):$PATH"
step "node $node_version ($node_bin), npm $(npm --version), scratch $work"

step "npm pack"
mkdir -p "$work/pack" "$work/app"
timeout 300 npm pack --silent --pack-destination "$work/pack" --prefix "$root" >"$work/pack.log" 2>&1 \
  || { tail -40 "$work/pack.log"; fail "npm pack"; }
tarball="$(ls "$work"/pack/effect-sockets-*.tgz)"
step "packed $(basename "$tarball") ($(du -k "$tarball" | cut -f1) KiB)"
cd "$work/app"

# Sets `effect_package` to the one effect/package.json installed, or fails ("$1": when).
one_effect() {
  local effects
  mapfile -t effects < <(find node_modules -path '*/effect/package.json' -not -path '*/effect/*/effect/package.json' \
    | xargs -r grep -l '"name": "effect"')
  [ "${#effects[@]}" -eq 1 ] || fail "$1: expected one copy of effect, found ${#effects[@]}: ${effects[*]}"
  effect_package="${effects[0]}"
}
