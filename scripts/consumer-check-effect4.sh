#!/usr/bin/env bash
# Consumer check for the Effect 4 edition: a strict TypeScript project on Node >= 22.19 with
# effect@4.1 (and nothing else from Effect) installs the packed tarball, imports
# "effect-sockets/effect4" and runs, over real loopback sockets: a TCP echo, a TLS echo (a
# throwaway certificate from openssl), a UNIX echo passing a file descriptor, a UDP and a UNIX
# datagram round trip, and an effect/rpc call over our TCP transport (Platform). It prints
# "effect4 ok".
#
# Usage: NODE=/path/to/node scripts/consumer-check-effect4.sh      Keep the scratch dir: KEEP=1
# Without NODE, the current node if it is >= 22.19, else Node 24 from scripts/node-lines.sh.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
if [ -z "${NODE:-}" ]; then
  if node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=19)?0:1)'; then
    NODE=node
  else
    read -r _ NODE < <(bash "$root/scripts/node-lines.sh" 24)
  fi
fi
node_bin="$(command -v "$NODE")"
label=consumer-check-effect4 scratch=effect-sockets-consumer4
source "$root/scripts/consumer-lib.sh"
echo '{ "name": "effect-sockets-consumer4", "private": true, "type": "module" }' >package.json
step "npm install <tarball> effect@~4.1.0 typescript@~5.9.3 @types/node@^24"
timeout 600 npm install --no-audit --no-fund "$tarball" effect@~4.1.0 typescript@~5.9.3 @types/node@^24 \
  >"$work/install.log" 2>&1 || { tail -60 "$work/install.log"; fail "npm install"; }
one_effect "after npm install"
grep -q '"version": "4\.' "$effect_package" || fail "the installed effect is not 4.x"
timeout 60 npm ls --all >"$work/ls.log" 2>&1 || { cat "$work/ls.log"; fail "npm ls is not clean"; }
[ -f node_modules/effect-sockets/build/Release/effect_sockets.node ] || fail "the install script did not build the addon"

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost" \
  -keyout key.pem -out cert.pem >"$work/openssl.log" 2>&1 || { cat "$work/openssl.log"; fail "openssl"; }

# "DOM" in lib: effect 4.1's own .d.ts name WebCrypto's CryptoKey and Transferable (an Effect 4
# project needs it whatever it imports; skipLibCheck stays false so our .d.ts are checked too).
cat >tsconfig.json <<'JSON'
{
  "compilerOptions": {
    "target": "ES2022", "lib": ["ES2022", "DOM"], "module": "NodeNext", "moduleResolution": "NodeNext",
    "types": ["node"], "strict": true, "exactOptionalPropertyTypes": true, "skipLibCheck": false,
    "outDir": "out"
  },
  "include": ["main.ts"]
}
JSON

cat >main.ts <<'TS'
import { Console, Effect, Layer, Schema } from "effect"
import { Rpc, RpcClient, RpcGroup, RpcSerialization, RpcServer } from "effect/rpc"
import { Datagram, Listener, Platform, Socket } from "effect-sockets/effect4"
import type { ByteStream } from "effect-sockets/effect4"
import * as fs from "node:fs"

const expect = (ok: boolean, what: string) => ok ? Effect.void : Effect.die(new Error(what))
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString()
const dir = fs.mkdtempSync(`${process.env["TMPDIR"] ?? "/tmp"}/consumer4-`)
const portOf = (listener: Listener.Listener) => {
  const address = listener.addresses[0]
  return address?._tag === "InetAddress" ? address.port : 0
}
const echoHandler = (client: ByteStream.ByteStream) => Effect.flatMap(client.receive(), client.send)

const tcp = Effect.scoped(Effect.gen(function*() {
  const listener = yield* Listener.createTcpListener({ localHost: "127.0.0.1", localPort: 0 })
  yield* Effect.forkScoped(listener.serve(echoHandler))
  const client = yield* Socket.connectTcp("127.0.0.1", portOf(listener))
  yield* client.send("hello tcp")
  yield* expect(text(yield* client.receive()) === "hello tcp", "tcp echo")
  yield* Console.log("tcp ok")
}))

const tls = Effect.scoped(Effect.gen(function*() {
  const cert = fs.readFileSync("cert.pem")
  const listener = yield* Listener.createTcpListener({
    localHost: "127.0.0.1",
    localPort: 0,
    tls: { cert, key: fs.readFileSync("key.pem") }
  })
  yield* Effect.forkScoped(listener.serve(echoHandler))
  const client = yield* Socket.connectTcp("127.0.0.1", portOf(listener), {
    tls: { ca: cert },
    tlsHostname: "localhost"
  })
  yield* client.send("hello tls")
  yield* expect(text(yield* client.receive()) === "hello tls", "tls echo")
  yield* Console.log("tls ok")
}))

const unixWithFd = Effect.scoped(Effect.gen(function*() {
  const path = `${dir}/stream.sock`
  fs.writeFileSync(`${dir}/passed.txt`, "passed through SCM_RIGHTS")
  const listener = yield* Listener.createUnixListener(path)
  yield* Effect.forkScoped(listener.serve((client) =>
    Effect.acquireUseRelease(
      Effect.sync(() => fs.openSync(`${dir}/passed.txt`, "r")),
      (fd) => client.sendFds("fd", [fd]),
      (fd) => Effect.sync(() => fs.closeSync(fd))
    )
  ))
  const client = yield* Socket.connectUnix(path)
  const [message, fds] = yield* client.receiveFds(16, 1)
  yield* expect(text(message) === "fd" && fds.length === 1, "unix fd message")
  const content = fs.readFileSync(fds[0]!, "utf8")
  fs.closeSync(fds[0]!)
  yield* expect(content === "passed through SCM_RIGHTS", "the passed fd reads the file")
  yield* Console.log("unix fd ok")
}))

const udp = Effect.scoped(Effect.gen(function*() {
  const server = yield* Datagram.createUdpSocket({ localHost: "127.0.0.1", localPort: 0 })
  const client = yield* Datagram.createUdpSocket({ localHost: "127.0.0.1", localPort: 0 })
  const address = server.attributes.localAddress
  yield* client.sendto("hello udp", address.host, address.port)
  const [packet] = yield* server.receive
  yield* expect(text(packet) === "hello udp", "udp datagram")
  yield* Console.log("udp ok")
}))

const unixDatagram = Effect.scoped(Effect.gen(function*() {
  const server = yield* Datagram.createUnixDatagramSocket({ localPath: `${dir}/dgram.sock` })
  const client = yield* Datagram.createUnixDatagramSocket({ localPath: `${dir}/dgram-client.sock` })
  yield* client.sendto("hello unix datagram", `${dir}/dgram.sock`)
  const [packet] = yield* server.receive
  yield* expect(text(packet) === "hello unix datagram", "unix datagram")
  yield* Console.log("unix datagram ok")
}))

class Api extends RpcGroup.make(Rpc.make("Echo", { payload: { text: Schema.String }, success: Schema.String })) {}

const rpc = Effect.scoped(Effect.gen(function*() {
  const listener = yield* Listener.createTcpListener({ localHost: "127.0.0.1", localPort: 0 })
  yield* Layer.build(RpcServer.layer(Api).pipe(
    Layer.provide(Api.toLayer({ Echo: ({ text }) => Effect.succeed(text) })),
    Layer.provide(RpcServer.layerProtocolSocketServer),
    Layer.provide(Platform.layerSocketServer),
    Layer.provide(Layer.succeed(Listener.Listener, listener)),
    Layer.provide(RpcSerialization.layerNdjson)
  ))
  const context = yield* Layer.build(RpcClient.layerProtocolSocket().pipe(
    Layer.provide(Platform.layerSocket(Socket.tcpConnectable("127.0.0.1", portOf(listener)))),
    Layer.provide(RpcSerialization.layerNdjson)
  ))
  const client = yield* Effect.provide(RpcClient.make(Api), context)
  yield* expect((yield* client.Echo({ text: "hello rpc" })) === "hello rpc", "rpc echo")
  yield* Console.log("rpc ok")
}))

const program = Effect.gen(function*() {
  yield* tcp
  yield* tls
  yield* unixWithFd
  yield* udp
  yield* unixDatagram
  yield* rpc
  yield* Console.log("effect4 ok")
}).pipe(Effect.timeout("20 seconds"), Effect.ensuring(Effect.sync(() => fs.rmSync(dir, { recursive: true }))))

Effect.runPromise(program).then(
  () => process.exit(0),
  (failure: unknown) => {
    console.error("effect4 consumer program failed:", failure)
    process.exit(1)
  }
)
TS

step "tsc (strict, NodeNext, skipLibCheck false)"
timeout 120 "$node_bin" node_modules/typescript/bin/tsc -p . >"$work/tsc.log" 2>&1 || { cat "$work/tsc.log"; fail "tsc"; }
step "run on node $node_version"
output="$(timeout 60 "$node_bin" out/main.js 2>&1)" || { echo "$output"; fail "the program (exit $?)"; }
echo "$output"
echo "$output" | grep -qx "effect4 ok" || fail "the program did not print effect4 ok"
echo "consumer-check-effect4: OK on node $node_version (tcp, tls, unix + fd, udp, unix datagram, rpc)"
