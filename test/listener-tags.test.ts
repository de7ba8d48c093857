/**
 * Stream-typed listener tags (issue #13 item 5a–c): `layerTcp` provides `TcpListener` (or
 * `TlsListener` with `tls`), `layerUnix` provides `UnixListener`, each beside the generic
 * `Listener`; `serveWith(tag, handler)` hands the handler that listener's own stream type.
 * Real sockets on loopback and a temporary UNIX path. The typing itself is checked by tsc in
 * test/types/listener-tags.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Listener, Socket } from "../src/index.js"
import { useTestCerts } from "./helpers/certs.js"

let dir: string
beforeAll(() => void (dir = fs.mkdtempSync(os.tmpdir() + "/es-tags-")))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))
const certs = useTestCerts()

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString()

describe("Listener tags", () => {
  it.scopedLive("a TCP and a UNIX listener layer coexist; each handler gets its own stream type", () =>
    Effect.gen(function*() {
      const at = path.join(dir, "both.sock")
      const file = path.join(dir, "passed.txt")
      fs.writeFileSync(file, "passed through")
      const fd = fs.openSync(file, "r")
      yield* Effect.addFinalizer(() => Effect.sync(() => fs.closeSync(fd)))

      const layer = Layer.merge(Listener.layerTcp({ localHost: "127.0.0.1" }), Listener.layerUnix(at))
      const context = yield* Layer.build(layer)
      const tcp = Listener.serveWith(Listener.TcpListener, (client) =>
        // A TcpStream: its attributes say IPv4/IPv6, never unix.
        client.send(`tcp ${client.attributes.family}\n`))
      const unix = Listener.serveWith(Listener.UnixListener, (client) => client.sendFds("fd", [fd]))
      yield* Effect.forkScoped(Effect.provide(Effect.all([tcp, unix], { concurrency: "unbounded" }), context))

      // (b) a TCP listener's addresses are InetAddress, a UNIX one's UnixAddress.
      const port = yield* Effect.map(Listener.TcpListener, (l) => l.addresses[0]!.port).pipe(Effect.provide(context))
      const unixPath = yield* Effect.map(Listener.UnixListener, (l) => l.addresses[0]!.path).pipe(
        Effect.provide(context)
      )
      expect(unixPath).toBe(at)

      const tcpClient = yield* Socket.connectTcp("127.0.0.1", port)
      expect(text(yield* tcpClient.receive())).toBe("tcp IPv4\n")

      const unixClient = yield* Socket.connectUnix(at)
      const [message, fds] = yield* unixClient.receiveFds(16, 1)
      expect(text(message)).toBe("fd")
      expect(fds.length).toBe(1)
      const buffer = Buffer.alloc(64)
      expect(buffer.toString("utf8", 0, fs.readSync(fds[0]!, buffer, 0, 64, 0))).toBe("passed through")
      fs.closeSync(fds[0]!)

      // The generic tag is still provided (by the layer merged last) and `serve` still works.
      const generic = yield* Effect.map(Listener.Listener, (l) => l.addresses[0]!._tag).pipe(Effect.provide(context))
      expect(generic).toBe("UnixAddress")
    }))

  it.scopedLive("layerTcp with tls provides TlsListener; serveWith hands the handler a TlsStream", () =>
    Effect.gen(function*() {
      const { server, ca } = certs()
      const context = yield* Layer.build(
        Listener.layerTcp({ localHost: "127.0.0.1", tls: { cert: server.cert, key: server.key } })
      )
      const serving = yield* Effect.forkScoped(
        Listener.serveWith(Listener.TlsListener, (client) => client.send(`tls ${client.attributes.tlsVersion}\n`)).pipe(
          Effect.provide(context)
        )
      )
      const port = yield* Effect.map(Listener.TlsListener, (l) => l.addresses[0]!.port).pipe(Effect.provide(context))
      const client = yield* Socket.connectTcp("127.0.0.1", port, { tls: { ca: ca.cert }, tlsHostname: "localhost" })
      expect(text(yield* client.receive())).toMatch(/^tls TLSv1\.[23]\n$/)
      yield* Fiber.interrupt(serving)
    }))

  it.scopedLive("Listener.serve from the generic tag works as before", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(Listener.layerTcp({ localHost: "127.0.0.1" }))
      yield* Effect.forkScoped(Listener.serve((client) => client.send("generic\n")).pipe(Effect.provide(context)))
      const port = yield* Effect.map(Listener.TcpListener, (l) => l.addresses[0]!.port).pipe(Effect.provide(context))
      const client = yield* Socket.connectTcp("127.0.0.1", port)
      expect(text(yield* client.receive())).toBe("generic\n")
    }))
})
