#!/usr/bin/env bash
# Consumer check: does the packed library work in a user's project?
#
# 1. `npm pack` this checkout (prepack builds dist/) into a temp dir.
# 2. A scratch ESM project installs the tarball next to effect@~3.22 only (no --force, no
#    --legacy-peer-deps). Its install script builds the addon offline from the shipped sources,
#    as in a user's install (npm 11.19 runs an unreviewed dependency install script with a
#    notice; allowScripts matches registry names, which a local tarball does not have).
# 3. Exactly one copy of effect; none of @effect/platform-node, cluster, rpc, sql, workflow.
# 4. A strict NodeNext program importing "effect-sockets" (at run time, not only its types) and
#    the subpaths "effect-sockets/Socket" and "effect-sockets/Listener" is compiled with the
#    scratch project's tsc (skipLibCheck false, so our .d.ts are checked too) and run with $NODE
#    (default `node`), with @effect/platform NOT installed: a TCP echo on 127.0.0.1 port 0,
#    printing "echo ok"; when the addon was built, a UNIX echo too.
# 5. Then @effect/platform (the optional peer) is installed: still one copy of effect, nothing
#    heavy; a second program imports "effect-sockets/Platform" and makes a round trip through
#    Platform.toSocket(Socket.tcpConnectable(...)) to one of our listeners served as a platform
#    SocketServer (Platform.toSocketServer), printing "platform ok".
#
# Usage: NODE=/path/to/node scripts/consumer-check.sh      Keep the scratch dir: KEEP=1
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
NODE="${NODE:-node}"
node_bin="$(command -v "$NODE")"
label=consumer-check scratch=effect-sockets-consumer
source "$root/scripts/consumer-lib.sh"
cat >package.json <<'JSON'
{
  "name": "effect-sockets-consumer",
  "private": true,
  "type": "module"
}
JSON

step "npm install <tarball> effect@~3.22.4 typescript@~5.9.3 @types/node@^20"
timeout 600 npm install --no-audit --no-fund "$tarball" effect@~3.22.4 typescript@~5.9.3 @types/node@^20 \
  >"$work/install.log" 2>&1 || { tail -60 "$work/install.log"; fail "npm install"; }
grep -i "warn\|effect-sockets:" "$work/install.log" || true

step "one copy of effect, none of the heavy @effect packages"
one_effect "after npm install"
timeout 60 npm ls effect --all >"$work/ls.log" 2>&1 || { cat "$work/ls.log"; fail "npm ls effect"; }
for heavy in @effect/platform-node @effect/cluster @effect/rpc @effect/sql @effect/workflow; do
  [ ! -e "node_modules/$heavy" ] || fail "$heavy was installed"
done
timeout 60 npm ls --all >"$work/ls-all.log" 2>&1 || { cat "$work/ls-all.log"; fail "npm ls is not clean"; }
step "effect $(sed -n 's/.*"version": "\(.*\)".*/\1/p' "$effect_package"), $(($(npm ls --all --parseable | wc -l) - 1)) packages in all"

addon=node_modules/effect-sockets/build/Release/effect_sockets.node
if [ -f "$addon" ]; then
  unix=1
  step "the install script built the addon ($addon)"
else
  unix=0
  step "WARNING: the addon was not built (only TCP is checked); install log:"
  tail -20 "$work/install.log"
fi

cat >tsconfig.json <<'JSON'
{
  "compilerOptions": {
    "target": "ES2022",
    "lib": ["ES2022"],
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "types": ["node"],
    "strict": true,
    "exactOptionalPropertyTypes": true,
    "skipLibCheck": false,
    "noEmit": false,
    "outDir": "out"
  },
  "include": ["main.ts", "platform.ts"]
}
JSON

cat >main.ts <<'TS'
import { Console, Effect, Fiber, type Scope } from "effect"
import * as EffectSockets from "effect-sockets"
import type { ByteStream, NetError } from "effect-sockets"
import * as Listener from "effect-sockets/Listener"
import * as Socket from "effect-sockets/Socket"

// Echo one message through a listener, then close everything (the scope).
const echo = <A extends ByteStream.ByteStream, B extends ByteStream.ByteStream>(
  listener: Effect.Effect<Listener.Listener<A>, NetError.NetError, Scope.Scope>,
  connect: (address: ByteStream.SocketAddress) => Effect.Effect<B, NetError.NetError, Scope.Scope>,
  label: string
) =>
  Effect.scoped(Effect.gen(function*() {
    const server = yield* listener
    const served = yield* Effect.fork(server.serve((client) => Effect.flatMap(client.receive(), client.send)))
    const address = server.addresses[0]
    if (address === undefined) return yield* Effect.die("the listener has no address")
    const stream = yield* connect(address)
    yield* stream.send(`hello ${label}`)
    const reply = Buffer.from(yield* stream.receive()).toString()
    if (reply !== `hello ${label}`) return yield* Effect.die(`echo mismatch: ${JSON.stringify(reply)}`)
    yield* Fiber.interrupt(served)
    yield* Console.log(`${label} echo ok`)
  }))

const tcp = echo(
  Listener.createTcpListener({ localHost: "127.0.0.1", localPort: 0 }),
  (address) =>
    address._tag === "InetAddress" ? Socket.connectTcp(address.host, address.port) : Effect.die("not inet"),
  "tcp"
)

const socketPath = `${process.env["TMPDIR"] ?? "/tmp"}/effect-sockets-consumer-${process.pid}.sock`
const unix = echo(
  Listener.createUnixListener(socketPath),
  () => Socket.connectUnix(socketPath),
  "unix"
)

const program = Effect.gen(function*() {
  // The root entry, loaded at run time (without @effect/platform installed).
  if (typeof EffectSockets.NetError.isNetError !== "function") return yield* Effect.die("root entry: no NetError")
  yield* tcp
  if (process.argv.includes("--unix")) yield* unix
  yield* Console.log("echo ok")
}).pipe(
  Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => "timed out after 10 s" }),
  Effect.catchAll((error) =>
    Effect.sync(() => {
      const text = typeof error === "string" ? error : `${error._tag}: ${error.message}`
      console.error(`consumer program failed: ${text}`)
      process.exitCode = 1
    })
  )
)

Effect.runPromise(program).then(
  () => process.exit(),
  (defect: unknown) => {
    console.error("consumer program died:", defect)
    process.exit(1)
  }
)
TS

cat >platform.ts <<'TS'
import * as PlatformSocket from "@effect/platform/Socket"
import { Console, Deferred, Effect } from "effect"
import * as Listener from "effect-sockets/Listener"
import * as Platform from "effect-sockets/Platform"
import * as Socket from "effect-sockets/Socket"

// Our listener as a platform SocketServer that echoes, and a platform Socket that dials it
// through a connectable: one message there and back.
const program = Effect.scoped(Effect.gen(function*() {
  const listener = yield* Listener.createTcpListener({ localHost: "127.0.0.1", localPort: 0 })
  const server = Platform.toSocketServer(listener)
  if (server.address._tag !== "TcpAddress") return yield* Effect.die("the server address is not a TcpAddress")
  yield* Effect.forkScoped(server.run((socket) =>
    Effect.flatMap(socket.writer, (write) => socket.run((chunk) => write(chunk))).pipe(Effect.scoped)
  ))
  const socket = yield* Platform.toSocket(Socket.tcpConnectable("127.0.0.1", server.address.port))
  const reply = yield* Deferred.make<string>()
  yield* Effect.forkScoped(socket.run((chunk) => Deferred.succeed(reply, new TextDecoder().decode(chunk))))
  const write = yield* socket.writer
  yield* write("hello platform")
  const echoed = yield* Deferred.await(reply)
  if (echoed !== "hello platform") return yield* Effect.die(`echo mismatch: ${JSON.stringify(echoed)}`)
  yield* write(new PlatformSocket.CloseEvent())
  yield* Console.log("platform ok")
})).pipe(
  Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error("timed out after 10 s") })
)

Effect.runPromise(program).then(
  () => process.exit(),
  (failure: unknown) => {
    console.error("platform program failed:", failure)
    process.exit(1)
  }
)
TS

step "tsc (strict, NodeNext, skipLibCheck false), without @effect/platform"
[ ! -e node_modules/@effect/platform ] || fail "@effect/platform is installed before the Platform step"
mv platform.ts platform.ts.later
timeout 120 "$node_bin" node_modules/typescript/bin/tsc -p . >"$work/tsc.log" 2>&1 || { cat "$work/tsc.log"; fail "tsc"; }
mv platform.ts.later platform.ts

step "run on node $node_version"
args=()
[ "$unix" = 1 ] && args+=(--unix)
output="$(timeout 30 "$node_bin" out/main.js "${args[@]}" 2>&1)" || { echo "$output"; fail "the program (exit $?)"; }
echo "$output"
echo "$output" | grep -qx "echo ok" || fail "the program did not print echo ok"

step "npm install @effect/platform@~0.97.2 (the optional peer, for effect-sockets/Platform)"
timeout 600 npm install --no-audit --no-fund @effect/platform@~0.97.2 >"$work/install-platform.log" 2>&1 \
  || { tail -60 "$work/install-platform.log"; fail "npm install @effect/platform"; }
one_effect "with @effect/platform"
for heavy in @effect/platform-node @effect/cluster @effect/rpc @effect/sql @effect/workflow; do
  [ ! -e "node_modules/$heavy" ] || fail "$heavy was installed with @effect/platform"
done
timeout 60 npm ls --all >"$work/ls-all.log" 2>&1 || { cat "$work/ls-all.log"; fail "npm ls is not clean with @effect/platform"; }

step "tsc with effect-sockets/Platform"
timeout 120 "$node_bin" node_modules/typescript/bin/tsc -p . >"$work/tsc-platform.log" 2>&1 \
  || { cat "$work/tsc-platform.log"; fail "tsc with effect-sockets/Platform"; }

step "run the Platform round trip on node $node_version"
output="$(timeout 30 "$node_bin" out/platform.js 2>&1)" || { echo "$output"; fail "the Platform program (exit $?)"; }
echo "$output"
echo "$output" | grep -qx "platform ok" || fail "the Platform program did not print platform ok"

if [ "$unix" = 1 ]; then
  echo "consumer-check: OK on node $node_version (tcp and unix echo, addon built at install; Platform round trip)"
else
  echo "consumer-check: OK on node $node_version (tcp echo; the addon was NOT built at install; Platform round trip)"
fi
