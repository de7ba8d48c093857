/**
 * `effect-sockets/Platform`: our connections as @effect/platform's `Socket`, our listeners as
 * its `SocketServer`, with the semantics of @effect/platform-node's NodeSocket and
 * NodeSocketServer. The rpc tests over this bridge are in rpc.test.ts.
 */
import * as PlatformSocket from "@effect/platform/Socket"
import * as SocketServer from "@effect/platform/SocketServer"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Layer, Queue } from "effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { ByteStream, Listener, NetError, Socket } from "../src/index.js"
import * as Platform from "../src/Platform.js"
import { useTestCerts } from "./helpers/certs.js"

const certs = useTestCerts()
const HOST = "127.0.0.1"
const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString()

let dir: string
beforeAll(() => void (dir = fs.mkdtempSync(os.tmpdir() + "/es-platform-")))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const portOf = (listener: Listener.Listener): number => {
  const address = listener.addresses[0]!
  return address._tag === "InetAddress" ? address.port : 0
}

/** A listener whose connections each get `#n:` and then an echo of everything, until EOF. */
const echoServer = Effect.gen(function*() {
  const listener = yield* Listener.createTcpListener({ localHost: HOST })
  let n = 0
  yield* Effect.forkScoped(listener.serve((client) =>
    Effect.gen(function*() {
      yield* client.send(`#${++n}:`)
      yield* Effect.forever(Effect.flatMap(client.receive(), client.send))
    }).pipe(Effect.catchTag("EndOfStream", () => Effect.void))
  ))
  return listener
})

/** Runs `socket` until `until` is among what it received, writing `message` once it is open. */
const exchange = (socket: PlatformSocket.Socket, message: string, until: string) =>
  Effect.scoped(Effect.gen(function*() {
    const write = yield* socket.writer
    let got = ""
    const done = yield* Deferred.make<string>()
    const fiber = yield* Effect.fork(socket.run((chunk) => {
      got += text(chunk)
      if (got.includes(until)) Deferred.unsafeDone(done, Exit.succeed(got))
    }, { onOpen: Effect.ignore(write(message)) }))
    const result = yield* Deferred.await(done)
    yield* Fiber.interrupt(fiber)
    return result
  }))

describe("Platform.toSocket", () => {
  it.scopedLive("dials anew on every run", () =>
    Effect.gen(function*() {
      const listener = yield* echoServer
      const socket = yield* Platform.toSocket(Socket.tcpConnectable(HOST, portOf(listener)))
      expect(PlatformSocket.isSocket(socket)).toBe(true)
      expect(yield* exchange(socket, "one", "one")).toBe("#1:one")
      expect(yield* exchange(socket, "two", "two")).toBe("#2:two")
    }))

  it.scopedLive("the peer's end of stream ends run normally; handler effects are forked, not awaited", () =>
    Effect.gen(function*() {
      const listener = yield* Listener.createTcpListener({ localHost: HOST })
      yield* Effect.forkScoped(listener.serve((client) => Effect.andThen(client.send("a"), client.send("b"))))
      const socket = yield* Platform.toSocket(Socket.tcpConnectable(HOST, portOf(listener)))
      const seen: Array<string> = []
      const exit = yield* Effect.exit(socket.run((chunk) => {
        seen.push(text(chunk))
        return Effect.never // a stalled handler effect must not stop reading
      }))
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(seen.join("")).toBe("ab")
    }))

  it.scopedLive("a failing handler effect fails run", () =>
    Effect.gen(function*() {
      const listener = yield* echoServer
      const socket = yield* Platform.toSocket(Socket.tcpConnectable(HOST, portOf(listener)))
      const error = yield* Effect.flip(socket.run(() => Effect.fail("boom" as const)))
      expect(error).toBe("boom")
    }))

  it.scopedLive("open failures are SocketGenericError Open with our typed error as cause", () =>
    Effect.gen(function*() {
      const listener = yield* Listener.createTcpListener({ localHost: HOST })
      const port = portOf(listener)
      yield* listener.close
      const socket = yield* Platform.toSocket(Socket.tcpConnectable(HOST, port))
      const error = yield* Effect.flip(socket.run(() => {}))
      expect(error).toBeInstanceOf(PlatformSocket.SocketGenericError)
      expect(error.reason).toBe("Open")
      expect((error as PlatformSocket.SocketGenericError).cause).toMatchObject({ _tag: "ConnectError" })
    }))

  it.scopedLive("read failures are SocketGenericError Read", () =>
    Effect.gen(function*() {
      const broken = ByteStream.make({
        receive: () =>
          Effect.fail(
            new NetError.BrokenResourceError({ reason: "ConnectionReset", operation: "receive", cause: "reset" })
          ),
        send: () => Effect.void,
        sendEof: Effect.void,
        close: Effect.void,
        attributes: {}
      })
      const socket = yield* Platform.fromStream(broken)
      const error = yield* Effect.flip(socket.run(() => {}))
      expect(error.reason).toBe("Read")
      expect((error as PlatformSocket.SocketGenericError).cause).toMatchObject({ _tag: "BrokenResourceError" })
    }))

  it.scopedLive("a CloseEvent closes the connection; writes wait for a run; concurrent writes go out whole", () =>
    Effect.gen(function*() {
      const listener = yield* Listener.createTcpListener({ localHost: HOST })
      const received = yield* Queue.unbounded<string>()
      yield* Effect.forkScoped(listener.serve((client) =>
        Effect.gen(function*() {
          let all = ""
          while (true) {
            const chunk = yield* Effect.either(client.receive())
            if (chunk._tag === "Left") break
            all += text(chunk.right)
          }
          yield* Queue.offer(received, all)
        })
      ))
      const socket = yield* Platform.toSocket(Socket.tcpConnectable(HOST, portOf(listener)))
      const write = yield* socket.writer
      const line = (i: number) => `${String(i).padStart(3, "0")}${"x".repeat(60_000)}|`
      // Written before any run: they wait for it.
      const writes = yield* Effect.fork(
        Effect.forEach(Array.from({ length: 20 }, (_, i) => i), (i) => write(line(i)), { concurrency: "unbounded" })
      )
      const run = yield* Effect.fork(socket.run(() => {}))
      yield* Fiber.join(writes)
      yield* write(new PlatformSocket.CloseEvent())
      const exit = yield* Fiber.await(run)
      expect(exit).toMatchObject({ _tag: "Failure" })
      const error = yield* Effect.flip(exit)
      expect(PlatformSocket.SocketCloseError.is(error)).toBe(true)
      const all = yield* Queue.take(received)
      const parts = all.split("|").filter((s) => s !== "")
      expect(parts).toHaveLength(20)
      for (const part of parts) expect(part.slice(3)).toBe("x".repeat(60_000))
    }))

  it.scopedLive("interrupting run closes the connection", () =>
    Effect.gen(function*() {
      const listener = yield* Listener.createTcpListener({ localHost: HOST })
      const ended = yield* Deferred.make<string>()
      yield* Effect.forkScoped(listener.serve((client) =>
        Effect.flatMap(Effect.either(client.receive()), (r) =>
          Deferred.succeed(ended, r._tag === "Left" ? r.left._tag : "data"))
      ))
      const socket = yield* Platform.toSocket(Socket.tcpConnectable(HOST, portOf(listener)))
      const opened = yield* Deferred.make<void>()
      const run = yield* Effect.fork(socket.run(() => {}, { onOpen: Deferred.succeed(opened, void 0) }))
      yield* Deferred.await(opened)
      yield* Fiber.interrupt(run)
      expect(yield* Deferred.await(ended)).toBe("EndOfStream")
    }))
})

describe("Platform.fromStream", () => {
  it.scopedLive("runs one existing stream once; a second run fails with SocketCloseError", () =>
    Effect.gen(function*() {
      const listener = yield* echoServer
      const stream = yield* Socket.connectTcp(HOST, portOf(listener))
      const socket = yield* Platform.fromStream(stream)
      expect(yield* exchange(socket, "hi", "hi")).toBe("#1:hi")
      const error = yield* Effect.flip(socket.run(() => {}))
      expect(PlatformSocket.SocketCloseError.is(error)).toBe(true)
      // The first run closed the stream.
      expect((yield* Effect.flip(stream.send("x")))._tag).toBe("ClosedResourceError")
    }))
})

describe("Platform.toSocketServer", () => {
  const serveAndDial = (
    listenerLayer: Layer.Layer<Listener.Listener, unknown>,
    connectable: (address: SocketServer.Address) => Socket.Connectable
  ) =>
    Effect.gen(function*() {
      const server = yield* SocketServer.SocketServer
      yield* Effect.forkScoped(server.run((socket) =>
        Effect.scoped(Effect.gen(function*() {
          const write = yield* socket.writer
          yield* socket.run((chunk) => write(`echo:${text(chunk)}`))
        }))
      ))
      const client = yield* Platform.toSocket(connectable(server.address))
      return [server.address, yield* exchange(client, "ping", "ping")] as const
    }).pipe(Effect.provide(Layer.provide(Platform.layerSocketServer, listenerLayer)))

  it.scopedLive("serves TCP, with a TcpAddress", () =>
    Effect.gen(function*() {
      const [address, got] = yield* serveAndDial(
        Listener.layerTcp({ localHost: HOST }),
        (a) => Socket.tcpConnectable(HOST, a._tag === "TcpAddress" ? a.port : 0)
      )
      expect(address).toMatchObject({ _tag: "TcpAddress", hostname: HOST })
      expect(got).toBe("echo:ping")
    }))

  it.scopedLive("serves UNIX, with a UnixAddress", () =>
    Effect.gen(function*() {
      const at = path.join(dir, "server.sock")
      const [address, got] = yield* serveAndDial(Listener.layerUnix(at), () => Socket.unixConnectable(at))
      expect(address).toEqual({ _tag: "UnixAddress", path: at })
      expect(got).toBe("echo:ping")
    }))

  it.scopedLive("serves TLS", () =>
    Effect.gen(function*() {
      const [, got] = yield* serveAndDial(
        Listener.layerTcp({ localHost: HOST, tls: { cert: certs().server.cert, key: certs().server.key } }),
        (a) => Socket.tcpConnectable(HOST, a._tag === "TcpAddress" ? a.port : 0, { tls: { ca: certs().ca.cert } })
      )
      expect(got).toBe("echo:ping")
    }))

  it.scopedLive("toSocketServer over a listener value; interrupting run closes connections", () =>
    Effect.gen(function*() {
      const listener = yield* Listener.createTcpListener({ localHost: HOST })
      const server = Platform.toSocketServer(listener)
      const opened = yield* Deferred.make<void>()
      const run = yield* Effect.fork(
        server.run((socket) => socket.run(() => {}, { onOpen: Deferred.succeed(opened, void 0) }))
      )
      const stream = yield* Socket.connectTcp(HOST, portOf(listener))
      yield* Deferred.await(opened)
      yield* Fiber.interrupt(run)
      expect((yield* Effect.flip(stream.receive()))._tag).toBe("EndOfStream")
    }))
})

describe("the root entry without @effect/platform", () => {
  it("imports, and only effect-sockets/Platform needs the peer", () => {
    const out = execFileSync(process.execPath, [
      "--import",
      "tsx",
      "--import",
      "./test/helpers/hidePlatform.mjs",
      "--input-type=module",
      "-e",
      `const root = await import("./src/index.ts")
console.log("root:", Object.keys(root).sort().join(","))
try { await import("./src/Platform.ts"); console.log("platform: loaded") }
catch (error) { console.log("platform:", error.code) }`
    ], { cwd: path.resolve(import.meta.dirname, ".."), encoding: "utf8" })
    expect(out).toContain("root: ByteStream,Datagram,Listener,NetError,Socket")
    expect(out).toContain("platform: ERR_MODULE_NOT_FOUND")
  })
})
