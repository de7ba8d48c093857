/**
 * The Effect 4 edition's `Platform`: our connections as `effect/socket`'s pull-based `Socket`,
 * our listeners as its `SocketServer`, with the semantics of @effect/platform-node 4's NodeSocket
 * and NodeSocketServer, against raw node:net and node:tls peers; STARTTLS through
 * `reader.upgrade` on both sides. The rpc tests over this bridge are in rpc.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Queue, Redacted, Scope } from "effect"
import * as PlatformSocket from "effect/socket/Socket"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import * as tls from "node:tls"
import { Listener, Platform, Socket } from "../../src/effect4/index.js"
import { makeTestCerts, removeTestCerts, type TestCerts } from "../helpers/certs.js"

const HOST = "127.0.0.1"
const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString()

let dir: string
let certs: TestCerts
beforeAll(() => {
  dir = fs.mkdtempSync(os.tmpdir() + "/es4-platform-")
  certs = makeTestCerts()
})
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true })
  removeTestCerts(certs)
})

/** What `toSocket` dials: a TCP connection to `port` on HOST. */
const tcp = (port: number) => Socket.tcpConnectable(HOST, port)

const within = <A, E, R>(effect: Effect.Effect<A, E, R>, what: string) =>
  Effect.timeoutOrElse(effect, { duration: "5 seconds", orElse: () => Effect.fail(new Error(`timed out: ${what}`)) })

/**
 * A raw node:net server: each connection first gets `#n:`, then an echo of what it sends; a
 * connection that sends `STARTTLS\n` gets `OK\n` and continues as a TLS server (echoing).
 */
const rawServer = Effect.acquireRelease(
  Effect.callback<net.Server>((resume) => {
    let n = 0
    const server = net.createServer((socket) => {
      socket.on("error", () => {})
      socket.write(`#${++n}:`)
      let pending = ""
      const onData = (chunk: Buffer) => {
        pending += chunk.toString()
        if (pending === "STARTTLS\n") {
          socket.off("data", onData)
          socket.write("OK\n", () => {
            const secure = new tls.TLSSocket(socket, { isServer: true, cert: certs.server.cert, key: certs.server.key })
            secure.on("error", () => {})
            secure.on("data", (data) => secure.write(`tls:${data}`))
          })
        } else if (!"STARTTLS\n".startsWith(pending)) {
          socket.write(pending)
          pending = ""
        }
      }
      socket.on("data", onData)
    })
    server.listen(0, HOST, () => resume(Effect.succeed(server)))
  }),
  (server) => Effect.callback<void>((resume) => void server.close(() => resume(Effect.void)))
)
const portOf = (server: net.Server) => (server.address() as net.AddressInfo).port

/** Pulls (bounded) until the text received contains `until`; all of it. */
const pullUntil = (
  pull: Effect.Effect<ReadonlyArray<Uint8Array | string>, PlatformSocket.SocketError>,
  until: string
) =>
  within(
    Effect.gen(function*() {
      let got = ""
      while (!got.includes(until)) {
        for (const frame of yield* pull) got += typeof frame === "string" ? frame : text(frame)
      }
      return got
    }),
    `"${until}"`
  )

describe("Platform.toSocket (Effect 4 edition)", () => {
  it.live("each reader acquisition dials anew; the writer is shared and waits for a connection", () =>
    Effect.gen(function*() {
      const server = yield* rawServer
      const socket = yield* Platform.toSocket(tcp(portOf(server)))
      const writer = yield* socket.writer
      // written before any connection: it waits for the first one
      const early = yield* Effect.forkChild(writer.write("early"))
      for (const n of [1, 2]) {
        yield* Effect.scoped(Effect.gen(function*() {
          const { pull } = yield* socket.reader
          if (n === 1) yield* Fiber.join(early)
          else yield* writer.write("again")
          expect(yield* pullUntil(pull, n === 1 ? "early" : "again")).toBe(n === 1 ? "#1:early" : "#2:again")
        }))
      }
    }))

  it.live("writeAll sends the batch in order; concurrent writes each go out whole", () =>
    Effect.gen(function*() {
      const server = yield* rawServer
      const socket = yield* Platform.toSocket(tcp(portOf(server)))
      const { pull } = yield* socket.reader
      const writer = yield* socket.writer
      yield* writer.writeAll(["a", new Uint8Array([98]), "c"])
      expect(yield* pullUntil(pull, "abc")).toBe("#1:abc")
      const frames = Array.from({ length: 20 }, (_, i) => `<${i}:${"x".repeat(1000)}>`)
      yield* Effect.forEach(frames, (frame) => writer.write(frame), { concurrency: "unbounded" })
      const total = frames.join("").length
      let got = ""
      while (got.length < total) for (const frame of yield* within(pull, "the echoes")) got += text(frame as Uint8Array)
      // whole: no frame is interleaved with another
      for (const frame of frames) expect(got).toContain(frame)
    }))

  it.live("every end is a SocketError: the peer's end 1000, our scope's close 1006 (failing a suspended pull)", () =>
    Effect.gen(function*() {
      // the peer closes after its greeting
      const closing = yield* Effect.acquireRelease(
        Effect.callback<net.Server>((resume) => {
          const server = net.createServer((s) => s.end("bye"))
          server.listen(0, HOST, () => resume(Effect.succeed(server)))
        }),
        (server) => Effect.callback<void>((resume) => void server.close(() => resume(Effect.void)))
      )
      const ended = yield* Effect.scoped(Effect.gen(function*() {
        const { pull } = yield* (yield* Platform.toSocket(tcp(portOf(closing)))).reader
        expect(yield* pullUntil(pull, "bye")).toBe("bye")
        return yield* within(Effect.flip(pull), "the end")
      }))
      expect(ended.reason).toMatchObject({ _tag: "SocketCloseError", code: 1000 })

      const server = yield* rawServer
      const socket = yield* Platform.toSocket(tcp(portOf(server)))
      const scope = yield* Scope.make()
      const { pull } = yield* Scope.provide(socket.reader, scope)
      yield* pullUntil(pull, "#1:")
      const suspended = yield* Effect.forkChild(pull, { startImmediately: true })
      yield* Scope.close(scope, Exit.void)
      const exit = yield* within(Fiber.await(suspended), "the suspended pull")
      expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("SocketCloseError")
    }))

  it.live("open failures are SocketOpenError with our typed error as cause; a CloseEvent closes the connection", () =>
    Effect.gen(function*() {
      const port = yield* Effect.scoped(Effect.map(rawServer, portOf))
      const socket = yield* Platform.toSocket(tcp(port))
      const error = yield* Effect.flip(Effect.scoped(socket.reader))
      expect(error.reason).toMatchObject({ _tag: "SocketOpenError", kind: "Unknown" })
      expect((error.reason as PlatformSocket.SocketOpenError).cause).toMatchObject({
        _tag: "ConnectError",
        reason: "ConnectionRefused"
      })

      const server = yield* rawServer
      const live = yield* Platform.toSocket(tcp(portOf(server)))
      const { pull } = yield* live.reader
      const writer = yield* live.writer
      yield* pullUntil(pull, "#1:")
      yield* writer.write(new PlatformSocket.CloseEvent(1000))
      expect((yield* within(Effect.flip(pull), "the close")).reason).toMatchObject({
        _tag: "SocketCloseError",
        code: 1000
      })
    }))

  it.live("STARTTLS: upgrade runs the client handshake over the connection; bad credentials are SocketUpgradeError", () =>
    Effect.gen(function*() {
      const server = yield* rawServer
      const socket = yield* Platform.toSocket(tcp(portOf(server)))
      const { pull, upgrade } = yield* socket.reader
      const writer = yield* socket.writer
      yield* pullUntil(pull, "#1:")
      yield* writer.write("STARTTLS\n")
      expect(yield* pullUntil(pull, "OK\n")).toBe("OK\n")
      const half = yield* Effect.flip(upgrade({ cert: certs.client.cert }))
      expect(half.reason._tag).toBe("SocketUpgradeError")
      yield* within(upgrade({ ca: certs.ca.cert, servername: "localhost" }), "the TLS handshake")
      yield* writer.write("secret")
      expect(yield* pullUntil(pull, "secret")).toBe("tls:secret")
      expect((yield* Effect.flip(upgrade({ ca: certs.ca.cert }))).reason._tag).toBe("SocketUpgradeError")
    }))

  it.live("a second reader of fromStream fails with SocketCloseError", () =>
    Effect.gen(function*() {
      const server = yield* rawServer
      const stream = yield* Socket.connectTcp(HOST, portOf(server))
      const socket = yield* Platform.fromStream(stream)
      yield* Effect.scoped(Effect.flatMap(socket.reader, ({ pull }) => pullUntil(pull, "#1:")))
      const second = yield* Effect.flip(Effect.scoped(socket.reader))
      expect(second.reason._tag).toBe("SocketCloseError")
    }))
})

describe("Platform.toSocketServer (Effect 4 edition)", () => {
  /** Serves `listener` with an echo handler (server-side STARTTLS on `STARTTLS\n`). */
  const serveEcho = (listener: Listener.Listener) =>
    Effect.gen(function*() {
      const server = Platform.toSocketServer(listener)
      yield* Effect.forkScoped(server.run((socket) =>
        Effect.scoped(
          Effect.gen(function*() {
            const { pull, upgrade } = yield* socket.reader
            const writer = yield* socket.writer
            while (true) {
              const frames = yield* pull
              const got = frames.map((frame) => (typeof frame === "string" ? frame : text(frame))).join("")
              if (got === "STARTTLS\n") {
                yield* writer.write("OK\n")
                yield* upgrade({ key: Redacted.make(certs.server.key), cert: certs.server.cert })
              } else {
                yield* writer.write(`echo:${got}`)
              }
            }
          }).pipe(Effect.catchReason("SocketError", "SocketCloseError", () => Effect.void))
        )
      ))
      return server
    })

  /** A raw client: sends `message`; what it got back once that is `expected.length` long or the server closed. */
  const ask = (connect: () => net.Socket, message: string, expected: string) =>
    within(
      Effect.callback<string>((resume) => {
        const socket = connect()
        let got = ""
        // A reset (the server closing with our bytes unread) ends it like a close: `got` tells.
        socket.on("error", () => {})
        socket.on("data", (data) => {
          got += data.toString()
          if (got.length >= expected.length) {
            socket.destroy()
            resume(Effect.succeed(got))
          }
        })
        socket.on("close", () => resume(Effect.succeed(got)))
        socket.write(message)
        return Effect.sync(() => socket.destroy())
      }),
      message
    )

  it.live("serves TCP (an InetAddress) and UNIX (a UnixPathAddress) to raw peers", () =>
    Effect.gen(function*() {
      const tcp = yield* Listener.createTcpListener({ localHost: HOST })
      const tcpServer = yield* serveEcho(tcp)
      expect(tcpServer.address._tag).toMatch(/^InetAddressV[46]$/)
      const port = (tcp.addresses[0] as { port: number }).port
      expect(yield* ask(() => net.connect(port, HOST), "hi", "echo:hi")).toBe("echo:hi")

      const at = path.join(dir, "server.sock")
      const unix = yield* Listener.createUnixListener(at)
      const unixServer = yield* serveEcho(unix)
      expect(unixServer.address).toMatchObject({ _tag: "UnixPathAddress", path: at })
      expect(yield* ask(() => net.connect(at), "there", "echo:there")).toBe("echo:there")
    }))

  it.live("STARTTLS on the server side: upgrade runs the server handshake for a raw node:tls client", () =>
    Effect.gen(function*() {
      const listener = yield* Listener.createTcpListener({ localHost: HOST })
      yield* serveEcho(listener)
      const port = (listener.addresses[0] as { port: number }).port
      const got = yield* within(
        Effect.callback<string, Error>((resume) => {
          const raw = net.connect(port, HOST, () => raw.write("STARTTLS\n"))
          raw.on("error", (error) => resume(Effect.fail(error)))
          raw.once("data", (data) => {
            if (data.toString() !== "OK\n") return resume(Effect.fail(new Error(`got ${data}`)))
            const secure = tls.connect(
              { socket: raw, ca: certs.ca.cert, servername: "localhost" },
              () => secure.write("over tls")
            )
            secure.on("error", (error) => resume(Effect.fail(error)))
            secure.on("data", (reply) => {
              secure.destroy()
              resume(Effect.succeed(reply.toString()))
            })
          })
          return Effect.sync(() => raw.destroy())
        }),
        "the TLS echo"
      )
      expect(got).toBe("echo:over tls")
    }))

  it.live("a failing handler is logged, not fatal: the server keeps serving", () =>
    Effect.gen(function*() {
      const listener = yield* Listener.createTcpListener({ localHost: HOST })
      const seen = yield* Queue.unbounded<string>()
      const server = Platform.toSocketServer(listener)
      let n = 0
      yield* Effect.forkScoped(server.run((socket) =>
        Effect.scoped(Effect.gen(function*() {
          const writer = yield* socket.writer
          yield* Queue.offer(seen, `conn ${++n}`)
          if (n === 1) return yield* Effect.fail(new Error("handler failed"))
          // a write needs the connection open: the reader's acquisition opens it
          yield* socket.reader
          yield* writer.write("served")
        }))
      ))
      const port = (listener.addresses[0] as { port: number }).port
      // the failed handler's connection is closed: the client sees the end, and no reply
      expect(yield* ask(() => net.connect(port, HOST), "x", "never")).toBe("")
      expect(yield* ask(() => net.connect(port, HOST), "y", "served")).toBe("served")
      expect(yield* Queue.takeAll(seen)).toEqual(["conn 1", "conn 2"])
    }))
})
