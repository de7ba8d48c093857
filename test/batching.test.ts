/**
 * Batched receives and sends (#17 item 2) over real sockets, against raw `node:net`/`node:tls`
 * peers and python3, as the shared scenarios of test/scenarios/batch.ts say (the Effect 4
 * edition's test/effect4/batch.test.ts runs them too): `receiveBatch` hands over every buffered chunk at once, `stream` emits
 * batches as one Chunk, `sendAll` and the sink write a batch as one corked flush, and the
 * contract's promises hold (an interrupted receive consumes nothing, one reader, bounded
 * memory, EndOfStream only after the last byte).
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Either, Exit, Fiber, Stream } from "effect"
import type { Scope } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import * as tls from "node:tls"
import { afterAll, beforeAll } from "vitest"
import { type ByteStream, Socket } from "../src/index.js"
import { useTestCerts } from "./helpers/certs.js"
import { spawnPython } from "./helpers/python.js"
import { awaitSuspended, peerEnd, peerReadToEnd, peerWrite } from "./helpers/rawPeers.js"
import { batchScenarios as scenarios, bytesOf, floodUntilStalled, pythonHashPeer } from "./scenarios/batch.js"

const certs = useTestCerts()
const HOST = "127.0.0.1"

let dir = ""
beforeAll(() => void (dir = fs.mkdtempSync(path.join(os.tmpdir(), "es-batch-"))))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

/** A stream of ours connected to a raw peer, which starts paused (it reads only when asked). */
interface Connected {
  readonly stream: ByteStream.ByteStream
  readonly peer: net.Socket
}

/** A raw server (plain `net` or `tls`), the first connection it accepts, and our client to it. */
const rawPeer = <S extends net.Server>(
  listen: (onConnection: (socket: net.Socket) => void) => S,
  address: (server: S) => Promise<void>,
  connect: (server: S) => Effect.Effect<ByteStream.ByteStream, unknown, Scope.Scope>
): Effect.Effect<Connected, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    let resolvePeer!: (socket: net.Socket) => void
    const accepted = new Promise<net.Socket>((resolve) => (resolvePeer = resolve))
    const server = yield* Effect.acquireRelease(
      Effect.promise(async () => {
        const server = listen((socket) => {
          socket.on("error", () => {})
          socket.pause()
          resolvePeer(socket)
        })
        await address(server)
        return server
      }),
      (server) =>
        Effect.promise(async () => {
          ;(await accepted.catch(() => undefined))?.destroy()
          await new Promise((resolve) => server.close(resolve))
        })
    )
    const stream = yield* connect(server)
    const peer = yield* Effect.promise(() => accepted)
    return { stream, peer }
  })

const listenOn = (target: { port: number; host: string } | { path: string }) => (server: net.Server) =>
  new Promise<void>((resolve) => server.listen(target, resolve))

const portOf = (server: net.Server) => (server.address() as net.AddressInfo).port

const transports: ReadonlyArray<readonly [string, () => Effect.Effect<Connected, unknown, Scope.Scope>]> = [
  ["TCP", () =>
    rawPeer(
      (onConnection) => net.createServer({ allowHalfOpen: true }, onConnection),
      listenOn({ port: 0, host: HOST }),
      (server) => Socket.connectTcp(HOST, portOf(server))
    )],
  ["TLS", () =>
    rawPeer(
      (onConnection) => tls.createServer({ cert: certs().server.cert, key: certs().server.key }, onConnection),
      listenOn({ port: 0, host: HOST }),
      (server) => Socket.connectTcp(HOST, portOf(server), { tls: { ca: certs().ca.cert } })
    )],
  ["UNIX", () => {
    const at = path.join(dir, `s${Math.random().toString(36).slice(2)}.sock`)
    return rawPeer(
      (onConnection) => net.createServer({ allowHalfOpen: true }, onConnection),
      listenOn({ path: at }),
      () => Socket.connectUnix(at)
    )
  }]
]

/**
 * Lets our event loop read what the peer sent: loopback delivers a flushed write at once, and
 * Node reads a readable socket in its next poll phase. Each timer fires in a loop iteration of
 * its own, with a poll phase between two, so four short sleeps pass at least three of them.
 */
const letArrive = Effect.repeatN(Effect.sleep("5 millis"), 3)

/** Receives until `n` bytes have arrived (bounded in count), with `receive` or `receiveBatch`. */
const receiveBytes = (stream: ByteStream.ByteStream, n: number, batched = true) =>
  Effect.gen(function*() {
    const parts: Array<Uint8Array> = []
    let got = 0
    for (let i = 0; i < 1_000_000 && got < n; i++) {
      const more = batched ? yield* stream.receiveBatch() : Chunk.of(yield* stream.receive())
      for (const part of more) {
        parts.push(part)
        got += part.length
      }
    }
    return bytesOf(parts)
  })

describe.each(transports)("%s", (_name, connect) => {
  it.scopedLive("a batch holds every chunk the peer wrote before the read, and completes at once", () =>
    Effect.gen(function*() {
      const { peer, stream } = yield* connect()
      // Each write flushed and read by Node before the next: separate chunks in our buffer.
      const sent = scenarios.separateWrites()
      for (const chunk of sent) {
        yield* peerWrite(peer, chunk)
        yield* letArrive
      }
      // Everything is buffered: the batch completes synchronously (no wake-up), so runSync works.
      const batch = Effect.runSync(stream.receiveBatch())
      expect(Chunk.size(batch)).toBeGreaterThanOrEqual(2)
      expect(bytesOf(batch).equals(bytesOf(sent))).toBe(true)
    }))

  it.scopedLive("receive(maxBytes) is served from buffered bytes without suspending", () =>
    Effect.gen(function*() {
      const { peer, stream } = yield* connect()
      const { maxBytes, text } = scenarios.splitReads
      yield* peerWrite(peer, text)
      yield* letArrive
      const parts = [Effect.runSync(stream.receive(maxBytes)), Effect.runSync(stream.receive(maxBytes))]
      const rest = Effect.runSync(stream.receiveBatch())
      expect(Buffer.concat([...parts, ...rest]).toString()).toBe(text)
    }))

  it.scopedLive("an interrupted receiveBatch consumes nothing: the next receive gets every byte", () =>
    Effect.gen(function*() {
      const { peer, stream } = yield* connect()
      // Interrupted while parked, or (racing the data's arrival) just as it is woken: whatever
      // the interrupted fiber did not return, the next receive does, and nothing is lost.
      for (let round = 0; round < scenarios.interruptRounds; round++) {
        const chunk = Buffer.from(`round ${round};`)
        const parked = yield* Effect.fork(stream.receiveBatch())
        yield* awaitSuspended(parked)
        if (round % 2 === 0) yield* peerWrite(peer, chunk)
        const exit = yield* Fiber.interrupt(parked)
        if (round % 2 === 1) yield* peerWrite(peer, chunk)
        const early = Exit.isSuccess(exit) ? bytesOf(exit.value) : Buffer.alloc(0)
        const late = yield* receiveBytes(stream, chunk.length - early.length, false)
        expect(Buffer.concat([early, late]).toString()).toBe(chunk.toString())
      }
    }))

  it.scopedLive("one reader: receive and receiveBatch beside a parked receiveBatch fail with BusyResourceError", () =>
    Effect.gen(function*() {
      const { peer, stream } = yield* connect()
      const parked = yield* Effect.fork(stream.receiveBatch())
      yield* awaitSuspended(parked)
      const second = yield* Effect.flip(stream.receiveBatch())
      const third = yield* Effect.flip(stream.receive())
      expect(second._tag).toBe("BusyResourceError")
      expect(third._tag).toBe("BusyResourceError")
      yield* peerWrite(peer, "hello")
      expect(bytesOf(yield* Fiber.join(parked)).toString()).toBe("hello")
    }))

  it.scopedLive("EndOfStream comes only after the last batch", () =>
    Effect.gen(function*() {
      const { peer, stream } = yield* connect()
      const { first, last } = scenarios.endOfStream
      yield* peerWrite(peer, first)
      yield* letArrive
      yield* peerEnd(peer, last)
      yield* letArrive
      const got = yield* receiveBytes(stream, first.length + last.length)
      expect(got.toString()).toBe(first + last)
      const end = yield* Effect.either(stream.receiveBatch())
      expect(Either.isLeft(end) && end.left._tag).toBe("EndOfStream")
    }))

  it.scopedLive("stream emits what arrived together as one Chunk and ends at EOF", () =>
    Effect.gen(function*() {
      const { peer, stream } = yield* connect()
      const sent = scenarios.separateWrites()
      for (const chunk of sent) {
        yield* peerWrite(peer, chunk)
        yield* letArrive
      }
      yield* peerEnd(peer)
      const pulls = yield* Stream.runCollect(Stream.chunks(stream.stream))
      expect(Chunk.size(Chunk.unsafeGet(pulls, 0))).toBeGreaterThanOrEqual(2)
      expect(bytesOf(Chunk.flatten(pulls)).equals(bytesOf(sent))).toBe(true)
    }))

  it.scopedLive("sendAll of many chunks arrives whole and in order", () =>
    Effect.gen(function*() {
      const { peer, stream } = yield* connect()
      const chunks = scenarios.manySmall()
      const read = yield* Effect.fork(peerReadToEnd(peer))
      yield* stream.sendAll(chunks)
      yield* stream.sendAll([]) // nothing to send: completes
      if (_name === "TLS") yield* stream.close
      else yield* stream.sendEof
      expect((yield* Fiber.join(read)).equals(bytesOf(chunks))).toBe(true)
    }))

  it.scopedLive("the sink writes each Chunk it is given as one batch, in order", () =>
    Effect.gen(function*() {
      const { peer, stream } = yield* connect()
      const chunks = scenarios.sink.chunks()
      const read = yield* Effect.fork(peerReadToEnd(peer))
      yield* Stream.run(Stream.rechunk(Stream.fromIterable(chunks), scenarios.sink.rechunk), stream.sink)
      if (_name === "TLS") yield* stream.close
      else yield* stream.sendEof
      expect((yield* Fiber.join(read)).equals(bytesOf(chunks))).toBe(true)
    }))

  it.scopedLive("sendAll converts every element before any I/O: a bad one sends nothing", () =>
    Effect.gen(function*() {
      const { peer, stream } = yield* connect()
      const { argument, chunks, then } = scenarios.badElement
      const bad = yield* Effect.flip(stream.sendAll(chunks as ReadonlyArray<string>))
      expect(bad._tag).toBe("InvalidArgumentError")
      expect((bad as { argument?: string }).argument).toBe(argument)
      const read = yield* Effect.fork(peerReadToEnd(peer))
      yield* stream.sendAll(then)
      if (_name === "TLS") yield* stream.close
      else yield* stream.sendEof
      expect((yield* Fiber.join(read)).toString()).toBe(then.join(""))
    }))
})

describe.each(transports)("%s send backpressure", (name, connect) => {
  it.scopedLive(
    "sendAll to a peer that does not read stays suspended, then completes once it reads",
    () =>
      Effect.gen(function*() {
        const { peer, stream } = yield* connect()
        const { piece, polls, total } = scenarios.sendBackpressure
        const chunks = Array.from({ length: total / piece }, (_, i) => Buffer.alloc(piece, i % 251))
        const sending = yield* Effect.fork(stream.sendAll(chunks))
        // The kernel's buffers take a few MiB at most; the rest waits in ours, and so does the sender.
        for (let i = 0; i < polls; i++) {
          yield* letArrive
          expect(sending.unsafePoll()).toBeNull()
        }
        const read = yield* Effect.fork(peerReadToEnd(peer))
        yield* Fiber.join(sending)
        yield* name === "TLS" ? stream.close : stream.sendEof
        expect((yield* Fiber.join(read)).equals(bytesOf(chunks))).toBe(true)
      }),
    60_000
  )
})

describe.each(transports.filter(([name]) => name !== "TLS"))("%s backpressure", (_name, connect) => {
  it.scopedLive(
    "a peer writing 64 MiB while we do not read stalls in its own buffer; batches stay bounded",
    () =>
      Effect.gen(function*() {
        const { peer, stream } = yield* connect()
        const { maxBatch, total } = scenarios.receiveBackpressure
        const { buffered, dispatched } = yield* Effect.promise(() => floodUntilStalled(peer))
        expect(dispatched).toBeLessThan(total / 2)
        expect(buffered).toBeGreaterThan(total / 2)
        // Reading drains it all, in order, and no batch exceeds our buffer's bound.
        let got = 0
        let largest = 0
        for (let i = 0; i < 100_000 && got < total; i++) {
          const batch = yield* stream.receiveBatch()
          const size = bytesOf(batch).length
          largest = Math.max(largest, size)
          got += size
        }
        expect(got).toBe(total)
        expect(largest).toBeLessThanOrEqual(maxBatch)
      }),
    60_000
  )
})

it.scopedLive("TCP sendAll to a python3 peer: 5000 chunks arrive in order (sha256)", () =>
  Effect.gen(function*() {
    const python = yield* spawnPython(pythonHashPeer)
    const port = Number(yield* python.line())
    const stream = yield* Socket.connectTcp(HOST, port)
    const chunks = scenarios.python()
    yield* stream.sendAll(chunks)
    yield* stream.sendEof
    const expected = Buffer.from(chunks.join(""))
    const [n, digest] = (yield* python.line("10 seconds")).split(" ")
    expect(Number(n)).toBe(expected.length)
    expect(digest).toBe(createHash("sha256").update(expected).digest("hex"))
  }))
