/**
 * The showcase: runs each example server in-process on a free loopback port, runs the matching
 * client against it, and prints what happened.
 *
 *   npm run showcase
 */
import { Console, Deferred, Effect, Logger, LogLevel, Option, Queue } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Socket } from "../src/index.js"
import { clusterRunner, describeVisit } from "./cluster-runner.js"
import { makeSelfSigned } from "./lib/certs.js"
import { run } from "./lib/cli.js"
import { printSpanTree } from "./lib/spans.js"
import { tcpClient } from "./tcp-client.js"
import { tcpServer } from "./tcp-server.js"
import { tlsClient } from "./tls-client.js"
import { tlsServer } from "./tls-server.js"
import { udpConnected } from "./udp-connected.js"
import { udpHello } from "./udp-hello.js"
import { unixClient } from "./unix-client.js"
import { unixDatagramConnected } from "./unix-datagram-connected.js"
import { unixDatagramHello } from "./unix-datagram-hello.js"
import { unixFdClient } from "./unix-fd-client.js"
import { unixFdServer } from "./unix-fd-server.js"
import { unixServer } from "./unix-server.js"

/** Starts a server example in this scope, waits for its `listening on` line, and returns it. */
const startServer = <E>(server: (announce: (line: string) => Effect.Effect<void>) => Effect.Effect<unknown, E>) =>
  Effect.gen(function*() {
    const listening = yield* Deferred.make<string>()
    yield* Effect.forkScoped(server((line) => Deferred.succeed(listening, line).pipe(Effect.asVoid)))
    return yield* Deferred.await(listening)
  })

/** A fresh temp dir, removed when the scope closes. */
const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "effect-sockets-showcase-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const portOf = (line: string): number => Number(line.slice(line.lastIndexOf(":") + 1))

const tcpDemo = Effect.scoped(Effect.gen(function*() {
  yield* Console.log("== TCP: examples/tcp-server.ts and examples/tcp-client.ts")
  const line = yield* startServer((announce) => tcpServer({ host: "127.0.0.1", port: 0, announce }))
  yield* Console.log(`server: ${line}`)
  const reply = yield* tcpClient({ host: "127.0.0.1", port: portOf(line) })
  yield* Console.log(`client sent "Client\\n", got ${JSON.stringify(reply)}`)

  // Three clients at once: each is served on its own fiber.
  const replies = yield* Effect.forEach([1, 2, 3], () => tcpClient({ host: "127.0.0.1", port: portOf(line) }), {
    concurrency: "unbounded"
  })
  yield* Console.log(`3 concurrent clients served: ${replies.every((r) => r === "Hello, Client\n\n")}`)

  // A typed failure: nothing listens on the port once the server is gone.
  const closed = yield* Effect.flip(Socket.connectTcp("127.0.0.1", 1))
  yield* Console.log(`connect to a closed port fails with ${closed._tag}: ${closed.message}`)
}))

const tlsDemo = Effect.scoped(Effect.gen(function*() {
  yield* Console.log("\n== TLS: examples/tls-server.ts and examples/tls-client.ts (throwaway certificate)")
  const certificate = yield* Effect.acquireRelease(
    Effect.sync(makeSelfSigned),
    (c) => Effect.sync(() => fs.rmSync(c.dir, { recursive: true, force: true }))
  )
  const cert = fs.readFileSync(certificate.certFile)
  const line = yield* startServer((announce) =>
    tlsServer({ host: "127.0.0.1", port: 0, cert, key: fs.readFileSync(certificate.keyFile), announce })
  )
  yield* Console.log(`server: ${line}`)
  const reply = yield* tlsClient({ host: "localhost", port: portOf(line), ca: cert })
  yield* Console.log(`client verified the certificate for "localhost" and got ${JSON.stringify(reply)}`)
  const untrusted = yield* Effect.flip(tlsClient({ host: "localhost", port: portOf(line) }))
  yield* Console.log(`without --ca the client refuses: ${untrusted._tag}: ${untrusted.message}`)
}))

const unixDemo = Effect.scoped(Effect.gen(function*() {
  yield* Console.log("\n== UNIX sockets: examples/unix-server.ts and examples/unix-client.ts")
  const dir = yield* tempDir
  const socketPath = path.join(dir, "mysock")
  yield* Console.log(`server: ${yield* startServer((announce) => unixServer({ path: socketPath, announce }))}`)
  yield* Console.log(`client got ${JSON.stringify(yield* unixClient({ path: socketPath }))}`)

  yield* Console.log("\n== fd passing: examples/unix-fd-server.ts and examples/unix-fd-client.ts")
  const fdPath = path.join(dir, "fdsock")
  const file = path.join(dir, "examplefile")
  fs.writeFileSync(file, "Test file")
  yield* Console.log(`server: ${yield* startServer((announce) => unixFdServer({ path: fdPath, file, announce }))}`)
  const contents = yield* unixFdClient({ path: fdPath })
  yield* Console.log(`client received a file descriptor and read ${JSON.stringify(contents)} through it`)
}))

const datagramDemo = Effect.scoped(Effect.gen(function*() {
  yield* Console.log("\n== UDP: examples/udp-hello.ts and examples/udp-connected.ts")
  const line = yield* startServer((announce) => udpHello({ host: "127.0.0.1", port: 0, announce }))
  yield* Console.log(`server: ${line}`)
  const reply = yield* udpConnected({ host: "127.0.0.1", port: portOf(line) })
  yield* Console.log(`client sent "Hi there!\\n", got ${JSON.stringify(Option.getOrElse(reply, () => "(no reply)"))}`)

  yield* Console.log("\n== UNIX datagrams: examples/unix-datagram-hello.ts and examples/unix-datagram-connected.ts")
  const dir = yield* tempDir
  const socketPath = path.join(dir, "dgsock")
  yield* Console.log(`server: ${yield* startServer((announce) => unixDatagramHello({ path: socketPath, announce }))}`)
  const unixReply = yield* unixDatagramConnected({ path: socketPath })
  yield* Console.log(`client (autobound) got ${JSON.stringify(Option.getOrElse(unixReply, () => "(no reply)"))}`)
}))

const spansDemo = Effect.gen(function*() {
  yield* Console.log("\n== Spans: a TCP server and client traced through @effect/opentelemetry")
  yield* printSpanTree(Effect.scoped(Effect.gen(function*() {
    const line = yield* startServer((announce) => tcpServer({ host: "127.0.0.1", port: 0, announce }))
    yield* tcpClient({ host: "127.0.0.1", port: portOf(line) })
    yield* Effect.ignore(Socket.connectTcp("127.0.0.1", 1))
    // Let the server's connection span end before the scope closes the server.
    yield* Effect.sleep("50 millis")
  })))
})

const clusterDemo = Effect.scoped(Effect.gen(function*() {
  yield* Console.log("\n== Cluster: examples/cluster-runner.ts, two @effect/cluster runners over effect-sockets")
  const sqliteFile = path.join(yield* tempDir, "cluster.db")
  // Both runners in this process here (the test runs them as two processes): each has its own
  // listener, Sharding and SQLite connection; they meet only through the file and our sockets.
  const quiet = Logger.withMinimumLogLevel(LogLevel.Warning)
  const first = yield* startServer((announce) =>
    quiet(clusterRunner({ host: "127.0.0.1", port: 0, sqliteFile, announce }))
  )
  yield* Console.log(`runner 1: ${first}`)
  const replies = yield* Queue.unbounded<string>()
  const second = yield* startServer((announce) =>
    quiet(clusterRunner({
      host: "127.0.0.1",
      port: 0,
      sqliteFile,
      calls: ["alice", "bob", "carol"],
      announce,
      onVisit: (visit) => Queue.offer(replies, describeVisit(visit))
    }))
  )
  yield* Console.log(`runner 2: ${second}; it calls three Greeter entities, wherever their shards live:`)
  for (let i = 0; i < 3; i++) yield* Console.log(`  ${yield* Queue.take(replies)}`)
}))

const showcase = Effect.gen(function*() {
  yield* tcpDemo
  yield* tlsDemo
  yield* unixDemo
  yield* datagramDemo
  yield* spansDemo
  yield* clusterDemo
  yield* Console.log("showcase finished")
})

run(showcase)
