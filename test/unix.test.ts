/**
 * UNIX stream sockets and listeners (`Socket.connectUnix`, `Listener.createUnixListener`,
 * `Listener.layerUnix`): conformance C42–C51, D53–D58 and decisions S12–S14, the path rules and
 * `serve` over UNIX. fd passing and the `node:net` fallback are in unix-fds.test.ts.
 *
 * Not applicable: C52 and D59 (adopting an existing socket: no such API), D55's setsockopt
 * part (no socket-option API), D60 (no MultiListener).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Cause, Deferred, Effect, Either, Exit, Fiber, Layer, Logger, LogLevel, Queue, Stream } from "effect"
import type { Scope } from "effect"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import type { ByteStream } from "../src/ByteStream.js"
import { Listener, type NetError, Socket } from "../src/index.js"
import { runPython, spawnPython } from "./helpers/python.js"
import { awaitSuspended, peerEnd, peerRead, peerReadToEnd, peerWrite } from "./helpers/rawPeers.js"
import { connectRawPathUnscoped, countResources, type RawPeer, settleTo } from "./helpers/resources.js"

let dir: string
beforeAll(() => void (dir = fs.mkdtempSync(os.tmpdir() + "/es-")))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

let unique = 0
const tempPath = (name = "s"): string => path.join(dir, `${name}${++unique}`)
const abstractName = (): string => `\0es-test-${crypto.randomBytes(8).toString("hex")}`
const nonUtf8Path = (): Buffer =>
  Buffer.concat([Buffer.from(`${dir}/bad-${++unique}-`), Buffer.from([0xff, 0xfe, 0x41])])
const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString()
const reversed = (s: string): string => [...s].reverse().join("")
const MiB = 1024 * 1024

/** A raw `node:net` server on a UNIX path (filesystem or abstract); accepted sockets start paused. */
const rawUnixServer = (at: string) =>
  Effect.gen(function*() {
    const accepted = yield* Queue.unbounded<net.Socket>()
    const sockets = new Set<net.Socket>()
    yield* Effect.acquireRelease(
      Effect.async<net.Server, Error>((resume) => {
        const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => {
          sockets.add(socket)
          socket.on("error", () => {})
          Queue.unsafeOffer(accepted, socket)
        })
        server.once("error", (error) => resume(Effect.fail(error)))
        server.listen({ path: at }, () => resume(Effect.succeed(server)))
      }),
      (server) =>
        Effect.async<void>((resume) => {
          for (const socket of sockets) socket.destroy()
          server.close(() => resume(Effect.void))
        })
    )
    return {
      accept: Effect.timeoutFail(Queue.take(accepted), {
        duration: "2 seconds",
        onTimeout: () => new Error("no connection")
      })
    }
  })

/** A raw `node:net` client on a UNIX path, destroyed when the scope closes. */
const rawClient = (at: string): Effect.Effect<RawPeer, Error, Scope.Scope> =>
  Effect.acquireRelease(connectRawPathUnscoped(at), (peer) => Effect.sync(() => peer.socket.destroy()))

/** Every chunk until EndOfStream (bounded). */
const receiveAll = (stream: ByteStream, maxChunks = 10_000) =>
  Effect.gen(function*() {
    const chunks: Array<Uint8Array> = []
    for (let i = 0; i < maxChunks; i++) {
      const result = yield* Effect.either(stream.receive())
      if (Either.isRight(result)) chunks.push(result.right)
      else if (result.left._tag === "EndOfStream") return chunks
      else return yield* Effect.fail(result.left)
    }
    return yield* Effect.dieMessage(`no EndOfStream after ${maxChunks} chunks`)
  })

/** A connected client and the raw server's end of it. */
const connectedToRaw = (at: string | Uint8Array = tempPath()) =>
  Effect.gen(function*() {
    const server = yield* rawUnixServer(typeof at === "string" ? at : Buffer.from(at).toString())
    const client = yield* Socket.connectUnix(at)
    return { client, peer: yield* server.accept }
  })

const python = {
  echoReversedServer: String.raw`
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(bytes.fromhex(sys.argv[1])); s.listen(1); print("ready")
c, _ = s.accept(); c.sendall(c.recv(100)[::-1]); c.close(); s.close()`,
  blahClient: String.raw`
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(bytes.fromhex(sys.argv[1])); s.sendall(b"blah"); print(s.recv(100).decode()); s.close()`,
  bindAndExit: String.raw`
import socket, sys
socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).bind(sys.argv[1])`
}

describe("C UNIX streams", () => {
  it.scopedLive("C42 attributes (filesystem path and abstract name)", () =>
    Effect.gen(function*() {
      const at = tempPath()
      const { client } = yield* connectedToRaw(at)
      expect(client.attributes.family).toBe("unix")
      expect(client.attributes.localAddress).toEqual({ _tag: "UnixAddress", path: "" })
      expect(client.attributes.remoteAddress).toEqual({ _tag: "UnixAddress", path: at })
      expect(Object.keys(client.attributes)).not.toContain("localPort")
      expect(Object.keys(client.attributes)).not.toContain("remotePort")

      const name = abstractName()
      const peer = yield* spawnPython(python.echoReversedServer, [Buffer.from(name).toString("hex")])
      expect(yield* peer.line()).toBe("ready")
      const abstract = yield* Socket.connectUnix(name)
      const remote = abstract.attributes.remoteAddress.path
      expect(remote).toBeInstanceOf(Uint8Array)
      expect(Buffer.from(remote as Uint8Array).equals(Buffer.from(name))).toBe(true)
    }))

  // python3 binds abstract names with their exact length (node:net pads them to 108 bytes).
  const forms = [
    ["a string path", () => tempPath()],
    ["a Buffer path", () => Buffer.from(tempPath())],
    ["an abstract name", () => abstractName()],
    ["an abstract name as a Buffer", () => Buffer.from(abstractName())]
  ] as const
  for (const [form, make] of forms) {
    it.scopedLive(`C43 round trip with ${form} (python3 peer)`, () =>
      Effect.gen(function*() {
        const at = make()
        const peer = yield* spawnPython(python.echoReversedServer, [Buffer.from(at).toString("hex")])
        expect(yield* peer.line()).toBe("ready")
        const client = yield* Socket.connectUnix(at)
        yield* client.send("blah")
        expect(text(yield* client.receive())).toBe("halb")
        yield* peer.done()
      }))
  }

  it.scopedLive("C44 1 MiB received in a loop; 1 MiB sent with one send that waits for the reader", () =>
    Effect.gen(function*() {
      const { client, peer } = yield* connectedToRaw()
      const inbound = Buffer.alloc(MiB, 0xff)
      yield* Effect.fork(peerEnd(peer, inbound))
      const chunks = yield* receiveAll(client)
      expect(chunks.every((chunk) => chunk.length >= 1 && chunk.length <= 65536)).toBe(true)
      expect(Buffer.concat(chunks).equals(inbound)).toBe(true)

      const outbound = crypto.randomBytes(MiB)
      const sending = yield* Effect.fork(client.send(outbound))
      yield* awaitSuspended(sending) // more than the socket buffers hold: blocked until the peer reads
      const received = yield* peerRead(peer, MiB)
      yield* Fiber.join(sending)
      expect(received.equals(outbound)).toBe(true)
    }))

  it.scopedLive("C49 sendEof: the client still receives after its half-close; twice is fine; send after it is Closed", () =>
    Effect.gen(function*() {
      const { client, peer } = yield* connectedToRaw()
      yield* client.send("hello, ")
      yield* client.send("world\n")
      yield* client.sendEof
      yield* client.sendEof
      expect((yield* Effect.flip(client.send("x")))._tag).toBe("ClosedResourceError")
      const got = yield* peerReadToEnd(peer)
      yield* peerEnd(peer, reversed(got.toString()))
      expect(text(Buffer.concat(yield* receiveAll(client)))).toBe("\ndlrow ,olleh")
    }))

  it.scopedLive("C49 iteration yields each chunk and ends cleanly at EOF", () =>
    Effect.gen(function*() {
      const { client, peer } = yield* connectedToRaw()
      yield* peerWrite(peer, "bl")
      const items = yield* client.stream.pipe(
        Stream.tap((chunk) => (text(chunk) === "bl" ? peerEnd(peer, "ah") : Effect.void)),
        Stream.map(text),
        Stream.runCollect,
        Effect.timeout("2 seconds")
      )
      expect([...items]).toEqual(["bl", "ah"])
    }))

  it.scopedLive("C49 a concurrent receive or send is Busy; close during a blocked receive or send is Closed", () =>
    Effect.gen(function*() {
      const { client } = yield* connectedToRaw()
      const receiving = yield* Effect.fork(client.receive())
      yield* awaitSuspended(receiving)
      expect(yield* Effect.flip(client.receive())).toMatchObject({
        _tag: "BusyResourceError",
        operation: "reading from"
      })
      const sending = yield* Effect.fork(client.send(Buffer.alloc(8 * MiB))) // the peer never reads
      yield* awaitSuspended(sending)
      expect(yield* Effect.flip(client.send("foo"))).toMatchObject({
        _tag: "BusyResourceError",
        operation: "writing to"
      })
      yield* client.close
      expect((yield* Effect.flip(Fiber.join(receiving)))._tag).toBe("ClosedResourceError")
      expect((yield* Effect.flip(Fiber.join(sending)))._tag).toBe("ClosedResourceError")
    }))

  for (const kind of ["receive", "send"] as const) {
    it.scopedLive(`C50 closing after a cancelled ${kind} is clean when serve is interrupted`, () =>
      Effect.gen(function*() {
        const at = tempPath()
        const listener = yield* Listener.createUnixListener(at)
        const errors: Array<Cause.Cause<unknown>> = []
        const logger = Logger.make(({ cause, logLevel }) => {
          if (LogLevel.greaterThanEqual(logLevel, LogLevel.Warning)) errors.push(cause)
        })
        const child = yield* Deferred.make<Fiber.RuntimeFiber<unknown, unknown>>()
        const closeExits: Array<Exit.Exit<void>> = []
        const busy = (stream: ByteStream) =>
          kind === "receive" ? stream.receive() : Effect.forever(stream.send(Buffer.alloc(65536)))
        const server = yield* Effect.fork(
          listener.serve((stream) =>
            Effect.gen(function*() {
              const fiber = yield* Effect.fork(busy(stream))
              yield* Deferred.succeed(child, fiber)
              yield* Fiber.join(fiber)
            }).pipe(Effect.ensuring(Effect.flatMap(Effect.exit(stream.close), (exit) =>
              Effect.sync(() => closeExits.push(exit)))))
          ).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
        )
        const client = yield* Socket.connectUnix(at) // never reads: the server's send loop blocks
        yield* awaitSuspended(yield* Deferred.await(child).pipe(Effect.timeout("2 seconds")))
        const exit = yield* Fiber.interrupt(server).pipe(Effect.timeout("5 seconds"))
        expect(Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)).toBe(true)
        expect(closeExits).toHaveLength(1)
        expect(Exit.isSuccess(closeExits[0]!)).toBe(true)
        expect(errors).toEqual([])
        yield* receiveAll(client) // what the server sent, then EndOfStream: its side is closed
      }))
  }

  it.scopedLive("C51 a missing path is NotFound; an unbound abstract name is ConnectionRefused", () =>
    Effect.gen(function*() {
      const missing = yield* Effect.flip(Effect.scoped(Socket.connectUnix(path.join(dir, "missing"))))
      expect(missing).toMatchObject({ _tag: "ConnectError", reason: "NotFound" })
      const unbound = yield* Effect.flip(Effect.scoped(Socket.connectUnix(abstractName())))
      expect(unbound).toMatchObject({ _tag: "ConnectError", reason: "ConnectionRefused" })
    }))

  it.scopedLive("C51 a non-UTF-8 byte path connects (python3 listener) and is reported as bytes", () =>
    Effect.gen(function*() {
      const at = nonUtf8Path()
      const peer = yield* spawnPython(python.echoReversedServer, [at.toString("hex")])
      expect(yield* peer.line()).toBe("ready")
      const client = yield* Socket.connectUnix(at)
      expect(Buffer.from(client.attributes.remoteAddress.path as Uint8Array).equals(at)).toBe(true)
      yield* client.send("blah")
      expect(text(yield* client.receive())).toBe("halb")
      yield* peer.done()
    }))
})

describe("path rules", () => {
  it.scopedLive("a 107-byte path works for listening and connecting", () =>
    Effect.gen(function*() {
      const at = path.join(dir, "p".repeat(107 - dir.length - 1))
      expect(Buffer.byteLength(at)).toBe(107)
      const listener = yield* Listener.createUnixListener(at)
      expect(listener.addresses).toEqual([{ _tag: "UnixAddress", path: at }])
      const client = yield* Socket.connectUnix(at)
      const accepted = yield* listener.accept
      yield* client.send("long")
      expect(text(yield* accepted.receive())).toBe("long")
    }))

  it.scopedLive("108 bytes, or a NUL inside a filesystem path, is an argument error (naming the limit, 107); nothing is created", () =>
    Effect.gen(function*() {
      const tooLong = path.join(dir, "q".repeat(108 - dir.length - 1))
      for (const [at, why] of [[tooLong, "107"], [path.join(dir, "nul\0inside"), "NUL"]] as const) {
        const attempts: Array<Effect.Effect<unknown, NetError.NetError, Scope.Scope>> = [
          Socket.connectUnix(at),
          Listener.createUnixListener(at)
        ]
        for (const attempt of attempts) {
          const error = yield* Effect.flip(Effect.scoped(attempt))
          expect(error._tag).toBe("InvalidArgumentError")
          expect(error.message).toContain(why)
        }
      }
      expect(fs.readdirSync(dir).filter((name) => name.startsWith("qqq") || name.startsWith("nul"))).toEqual([])
    }))
})

describe("D UNIX listeners", () => {
  it.scopedLive("D53 attributes of the listener and of an accepted stream", () =>
    Effect.gen(function*() {
      const at = tempPath()
      const listener = yield* Listener.createUnixListener(at)
      expect(listener.addresses).toEqual([{ _tag: "UnixAddress", path: at }])
      yield* rawClient(at)
      const accepted = yield* listener.accept
      expect(accepted.attributes.family).toBe("unix")
      expect(accepted.attributes.localAddress).toEqual({ _tag: "UnixAddress", path: at })
      expect(accepted.attributes.remoteAddress).toEqual({ _tag: "UnixAddress", path: "" })
      expect(Object.keys(accepted.attributes).filter((key) => key.endsWith("Port"))).toEqual([])
    }))

  for (const [form, toPath] of [["string", (p: string) => p], ["Buffer", (p: string) => Buffer.from(p)]] as const) {
    it.scopedLive(`D54 accept round trip (${form} path)`, () =>
      Effect.gen(function*() {
        const at = tempPath()
        const listener = yield* Listener.createUnixListener(toPath(at))
        const peer = yield* rawClient(at)
        const accepted = yield* listener.accept
        yield* peer.write("blah")
        yield* accepted.send(reversed(text(yield* accepted.receive())))
        expect((yield* peer.receiveAtLeast(4)).toString()).toBe("halb")
      }))
  }

  it.scopedLive("a blocked accept can be interrupted, and the listener accepts afterwards", () =>
    Effect.gen(function*() {
      const at = tempPath()
      const listener = yield* Listener.createUnixListener(at)
      const accepting = yield* Effect.fork(Effect.scoped(listener.accept))
      yield* awaitSuspended(accepting)
      const exit = yield* Fiber.interrupt(accepting).pipe(
        Effect.timeoutFail({
          duration: "2 seconds",
          onTimeout: () => new Error("interrupting a blocked accept did not complete within 2 s")
        })
      )
      expect(Exit.isInterrupted(exit)).toBe(true)
      yield* rawClient(at)
      yield* listener.accept.pipe(Effect.timeout("2 seconds"))
    }))

  it.scopedLive("D56 sending to a half-closed client works", () =>
    Effect.gen(function*() {
      const at = tempPath()
      const listener = yield* Listener.createUnixListener(at)
      const peer = yield* rawClient(at)
      const accepted = yield* listener.accept
      peer.socket.end("bye")
      expect(text(Buffer.concat(yield* receiveAll(accepted)))).toBe("bye")
      yield* accepted.send("still here")
      expect((yield* peer.receiveAtLeast(10)).toString()).toBe("still here")
    }))

  it.scopedLive("D57 create, close and create again on the same path", () =>
    Effect.gen(function*() {
      const at = tempPath()
      yield* Effect.scoped(Listener.createUnixListener(at))
      expect(fs.lstatSync(at).isSocket()).toBe(true)
      const listener = yield* Listener.createUnixListener(at)
      yield* rawClient(at)
      yield* listener.accept
    }))

  it.scopedLive("D58 a non-UTF-8 byte path listens (python3 client) and is reported as bytes", () =>
    Effect.gen(function*() {
      const at = nonUtf8Path()
      const listener = yield* Listener.createUnixListener(at)
      expect(listener.addresses).toEqual([{ _tag: "UnixAddress", path: at }])
      expect(fs.readdirSync(dir, { encoding: "buffer" }).some((name) => at.subarray(dir.length + 1).equals(name))).toBe(
        true
      )
      const peer = yield* spawnPython(python.blahClient, [at.toString("hex")])
      const accepted = yield* listener.accept
      yield* accepted.send(reversed(text(yield* accepted.receive())))
      expect((yield* peer.done()).trim()).toBe("halb")
    }))
})

describe("S12–S14 the socket file", () => {
  it.scopedLive("S12 a regular file or a directory at the path is AddressInUse and left untouched", () =>
    Effect.gen(function*() {
      const file = tempPath("file")
      fs.writeFileSync(file, "precious")
      fs.utimesSync(file, new Date(2001, 1, 1), new Date(2001, 1, 1))
      const before = fs.statSync(file)
      expect(yield* Effect.flip(Effect.scoped(Listener.createUnixListener(file)))).toMatchObject({
        _tag: "ListenError",
        reason: "AddressInUse"
      })
      const after = fs.statSync(file)
      expect(fs.readFileSync(file, "utf8")).toBe("precious")
      expect([after.isFile(), after.ino, after.mtimeMs]).toEqual([true, before.ino, before.mtimeMs])

      const directory = tempPath("dir")
      fs.mkdirSync(directory)
      expect(yield* Effect.flip(Effect.scoped(Listener.createUnixListener(directory)))).toMatchObject({
        reason: "AddressInUse"
      })
      expect(fs.statSync(directory).isDirectory()).toBe(true)
    }))

  it.scopedLive("S12 a stale socket file (bound by a process that exited) is replaced", () =>
    Effect.gen(function*() {
      const at = tempPath()
      yield* runPython(python.bindAndExit, [at])
      expect(fs.lstatSync(at).isSocket()).toBe(true)
      expect(yield* Effect.flip(Effect.scoped(Socket.connectUnix(at)))).toMatchObject({ reason: "ConnectionRefused" })
      const listener = yield* Listener.createUnixListener(at)
      const peer = yield* rawClient(at)
      const accepted = yield* listener.accept
      yield* peer.write("fresh")
      expect(text(yield* accepted.receive())).toBe("fresh")
    }))

  it.scopedLive("S12 a live socket (a raw server or our own listener) is AddressInUse and keeps working", () =>
    Effect.gen(function*() {
      const raw = tempPath()
      const server = yield* rawUnixServer(raw)
      expect(yield* Effect.flip(Effect.scoped(Listener.createUnixListener(raw)))).toMatchObject({
        _tag: "ListenError",
        reason: "AddressInUse"
      })
      yield* rawClient(raw)
      yield* server.accept

      const ours = tempPath()
      const listener = yield* Listener.createUnixListener(ours)
      expect(yield* Effect.flip(Effect.scoped(Listener.createUnixListener(ours)))).toMatchObject({
        reason: "AddressInUse"
      })
      yield* rawClient(ours)
      yield* listener.accept
    }))

  it.scopedLive("S13 the file remains after close by default, and is removed with unlinkOnClose", () =>
    Effect.gen(function*() {
      const kept = tempPath()
      yield* Effect.scoped(Listener.createUnixListener(kept))
      expect(fs.lstatSync(kept).isSocket()).toBe(true)
      const removed = tempPath()
      yield* Effect.scoped(
        Effect.tap(
          Listener.createUnixListener(removed, { unlinkOnClose: true }),
          () => Effect.sync(() => expect(fs.existsSync(removed)).toBe(true))
        )
      )
      expect(fs.existsSync(removed)).toBe(false)
    }))

  for (const mode of [0o600, 0o660]) {
    it.scopedLive(`S14 mode ${mode.toString(8)} sets the socket file's bits as soon as the listener exists`, () =>
      Effect.gen(function*() {
        const at = tempPath()
        yield* Listener.createUnixListener(at, { mode })
        expect(fs.statSync(at).mode & 0o777).toBe(mode)
      }))
  }
})

describe("serve over UNIX", () => {
  it.scopedLive("layerUnix + serve: an echo handler serves two clients", () =>
    Effect.gen(function*() {
      const at = tempPath()
      const context = yield* Layer.build(Listener.layerUnix(at))
      const echo = (stream: ByteStream) => Stream.run(stream.stream, stream.sink)
      yield* Effect.forkScoped(Effect.provide(Listener.serve(echo), context))
      for (const word of ["ping", "pong"]) {
        const client = yield* Socket.connectUnix(at)
        yield* client.send(word)
        yield* client.sendEof
        expect(text(Buffer.concat(yield* receiveAll(client)))).toBe(word)
      }
    }))

  it.scopedLive("interrupting serve with live UNIX connections closes them and releases their fds", () =>
    Effect.gen(function*() {
      const at = tempPath()
      const listener = yield* Listener.createUnixListener(at)
      const baseline = countResources()
      const count = 20
      const allIn = yield* Deferred.make<void>()
      let entered = 0
      const server = yield* Effect.fork(listener.serve((stream) =>
        Effect.zipRight(
          entered++ === count - 1 ? Deferred.succeed(allIn, undefined) : Effect.void,
          stream.receive() // the peers never send
        )
      ))
      const peers = yield* Effect.forEach(Array.from({ length: count }), () => rawClient(at))
      yield* Deferred.await(allIn).pipe(Effect.timeout("5 seconds"))
      yield* Fiber.interrupt(server).pipe(Effect.timeout("5 seconds"))
      yield* Effect.forEach(peers, (peer) => peer.awaitEnd("3 seconds"), { discard: true })
      for (const peer of peers) peer.socket.destroy()
      const after = yield* settleTo(baseline)
      expect(after.fds).toBeLessThanOrEqual(baseline.fds)
    }))
})
