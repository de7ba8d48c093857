/**
 * The Effect 4 edition's batched receives and sends (#17 item 2, #18) over real sockets against
 * raw `node:net`/`node:tls` peers and python3, and over the in-memory pair: the shared scenarios
 * of test/scenarios/batch.ts (which the Effect 3 edition's test/batching.test.ts runs too).
 * `receiveBatch` hands over every buffered chunk at once (a `NonEmptyReadonlyArray`), `stream`
 * emits a batch as one array, `sendAll` and the sink write a batch as one corked flush, and the
 * promises hold: an interrupted receive consumes nothing, one reader, bounded memory both ways,
 * EndOfStream only after the last byte.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Stream } from "effect"
import type { Scope } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import * as tls from "node:tls"
import { type ByteStream, ByteStream as ByteStreams, Socket } from "../../src/effect4/index.js"
import { isNetStream } from "../../src/effect4/internal/netStream.js"
import { connectWithNet } from "../../src/effect4/internal/unixStream.js"
import { makeTestCerts, removeTestCerts, type TestCerts } from "../helpers/certs.js"
import {
  batchScenarios as scenarios,
  bytesOf,
  floodUntilStalled,
  pythonHashPeer,
  serializedBatches
} from "../scenarios/batch.js"
import { spawnPython } from "./helpers/python.js"
import { peerEnd, peerReadBytesToEnd, peerWrite } from "./helpers/rawPeers.js"

const HOST = "127.0.0.1"

let certs: TestCerts
let dir = ""
beforeAll(() => {
  certs = makeTestCerts()
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "es4-batch-"))
})
afterAll(() => {
  removeTestCerts(certs)
  fs.rmSync(dir, { recursive: true, force: true })
})

/** Runs `effect` in a child fiber at once, up to its first suspension (a parked receive parks). */
const started = <A, E>(effect: Effect.Effect<A, E>) => Effect.forkChild(effect, { startImmediately: true })

/** A stream of ours connected to a raw peer, which starts paused (it reads only when asked). */
interface Connected {
  readonly stream: ByteStream.ByteStream
  readonly peer: net.Socket
}

/** A raw server (plain `net` or `tls`), the first connection it accepts, and our client to it. */
const rawPeer = (
  listen: (onConnection: (socket: net.Socket) => void) => net.Server,
  target: { readonly port: number; readonly host: string } | { readonly path: string },
  connect: (server: net.Server) => Effect.Effect<ByteStream.ByteStream, unknown, Scope.Scope>
): Effect.Effect<Connected, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    let resolvePeer!: (socket: net.Socket) => void
    const accepted = new Promise<net.Socket>((resolve) => (resolvePeer = resolve))
    const server = yield* Effect.acquireRelease(
      Effect.promise(async () => {
        const server = listen((socket) => {
          socket.on("error", () => {}) // resets are expected in some tests; assertions are ours
          socket.pause()
          resolvePeer(socket)
        })
        await new Promise<void>((resolve) => server.listen(target, resolve))
        return server
      }),
      (server) =>
        Effect.promise(async () => {
          ;(await Promise.race([accepted, Promise.resolve(undefined)]))?.destroy()
          await new Promise((resolve) => server.close(resolve))
        })
    )
    const stream = yield* connect(server)
    const peer = yield* Effect.promise(() => accepted)
    return { stream, peer }
  })

const portOf = (server: net.Server) => (server.address() as net.AddressInfo).port
const socketPath = () => path.join(dir, `s${Math.random().toString(36).slice(2)}.sock`)
const plainServer = (onConnection: (socket: net.Socket) => void) =>
  net.createServer({ allowHalfOpen: true }, onConnection)

/** Our stream over `node:net` (true) or over the addon (false), as the transport says. */
const expectingNet = (netPath: boolean) => (stream: ByteStream.ByteStream) =>
  Effect.sync(() => {
    expect(isNetStream(stream)).toBe(netPath)
    return stream
  })

const transports: ReadonlyArray<readonly [string, () => Effect.Effect<Connected, unknown, Scope.Scope>]> = [
  ["TCP", () => rawPeer(plainServer, { port: 0, host: HOST }, (server) => Socket.connectTcp(HOST, portOf(server)))],
  ["TLS", () =>
    rawPeer(
      (onConnection) => tls.createServer({ cert: certs.server.cert, key: certs.server.key }, onConnection),
      { port: 0, host: HOST },
      (server) => Socket.connectTcp(HOST, portOf(server), { tls: { ca: certs.ca.cert } })
    )],
  ["UNIX (addon)", () => {
    const at = socketPath()
    return rawPeer(plainServer, { path: at }, () => Effect.flatMap(Socket.connectUnix(at), expectingNet(false)))
  }],
  ["UNIX (node:net)", () => {
    const at = socketPath()
    return rawPeer(
      plainServer,
      { path: at },
      () => Effect.flatMap(connectWithNet(Buffer.from(at), "the node:net path under test"), expectingNet(true))
    )
  }]
]

/**
 * Lets our event loop read what the peer sent: loopback delivers a flushed write at once, and
 * Node reads a readable socket in its next poll phase. Each timer fires in a loop iteration of
 * its own, with a poll phase between two, so four short sleeps pass at least three of them.
 */
const letArrive = Effect.repeat(Effect.sleep("5 millis"), { times: 3 })

/** The peer writes each chunk once we have read the one before: separate chunks in our buffer. */
const writeApart = (peer: net.Socket, chunks: ReadonlyArray<Buffer>) =>
  Effect.as(Effect.forEach(chunks, (chunk) => Effect.andThen(peerWrite(peer, chunk), letArrive)), chunks)

/** Receives until `n` bytes have arrived (bounded in count), with `receiveBatch` or `receive`. */
const receiveBytes = (stream: ByteStream.ByteStream, n: number, batched = true) =>
  Effect.gen(function*() {
    const parts: Array<Uint8Array> = []
    let got = 0
    for (let i = 0; i < 1_000_000 && got < n; i++) {
      for (const part of batched ? yield* stream.receiveBatch() : [yield* stream.receive()]) {
        parts.push(part)
        got += part.length
      }
    }
    return bytesOf(parts)
  })

/** Ends our sending side: `sendEof`, or `close` on TLS (which cannot half-close). */
const finish = (name: string, stream: ByteStream.ByteStream) => name === "TLS" ? stream.close : stream.sendEof

describe.each(transports)("%s", (name, connect) => {
  it.live("a batch holds every chunk the peer wrote before the read, and completes at once", () =>
    Effect.scoped(Effect.gen(function*() {
      const { peer, stream } = yield* connect()
      const sent = yield* writeApart(peer, scenarios.separateWrites())
      // Everything is buffered: the batch completes synchronously (no wake-up), so runSync works.
      const batch = Effect.runSync(stream.receiveBatch())
      expect(Array.isArray(batch)).toBe(true)
      expect(batch.length).toBeGreaterThanOrEqual(2)
      expect(bytesOf(batch).equals(bytesOf(sent))).toBe(true)
    })))

  it.live("receive(maxBytes) is served from buffered bytes; a batch takes the rest", () =>
    Effect.scoped(Effect.gen(function*() {
      const { peer, stream } = yield* connect()
      const { maxBytes, text } = scenarios.splitReads
      yield* peerWrite(peer, text)
      yield* letArrive
      const parts = [Effect.runSync(stream.receive(maxBytes)), Effect.runSync(stream.receive(maxBytes))]
      const rest = Effect.runSync(stream.receiveBatch())
      expect(Buffer.concat([...parts, ...rest]).toString()).toBe(text)
    })))

  it.live("an interrupted receiveBatch consumes nothing: a later receive gets every byte", () =>
    Effect.scoped(Effect.gen(function*() {
      const { peer, stream } = yield* connect()
      // Interrupted while parked, or (racing the data's arrival) just as it is woken: whatever
      // the interrupted fiber did not return, the next receive does, and nothing is lost.
      for (let round = 0; round < scenarios.interruptRounds; round++) {
        const chunk = Buffer.from(`round ${round};`)
        const parked = yield* started(stream.receiveBatch())
        expect(parked.pollUnsafe()).toBeUndefined()
        if (round % 2 === 0) yield* peerWrite(peer, chunk)
        yield* Fiber.interrupt(parked)
        const exit = yield* Fiber.await(parked)
        if (round % 2 === 1) yield* peerWrite(peer, chunk)
        const early = Exit.isSuccess(exit) ? bytesOf(exit.value) : Buffer.alloc(0)
        const late = yield* receiveBytes(stream, chunk.length - early.length, false)
        expect(Buffer.concat([early, late]).toString()).toBe(chunk.toString())
      }
    })))

  it.live("one reader: receive and receiveBatch beside a parked receiveBatch fail with BusyResourceError", () =>
    Effect.scoped(Effect.gen(function*() {
      const { peer, stream } = yield* connect()
      const parked = yield* started(stream.receiveBatch())
      expect(yield* Effect.flip(stream.receiveBatch())).toMatchObject({
        _tag: "BusyResourceError",
        operation: "reading from"
      })
      expect(yield* Effect.flip(stream.receive())).toMatchObject({ _tag: "BusyResourceError" })
      yield* peerWrite(peer, "hello")
      expect(bytesOf(yield* Fiber.join(parked)).toString()).toBe("hello")
    })))

  it.live("EndOfStream comes only after the last batch", () =>
    Effect.scoped(Effect.gen(function*() {
      const { peer, stream } = yield* connect()
      const { first, last } = scenarios.endOfStream
      yield* peerWrite(peer, first)
      yield* letArrive
      yield* peerEnd(peer, last)
      yield* letArrive
      expect((yield* receiveBytes(stream, first.length + last.length)).toString()).toBe(first + last)
      expect(yield* Effect.flip(stream.receiveBatch())).toMatchObject({ _tag: "EndOfStream" })
    })))

  it.live("stream emits what arrived together as one array and ends at EOF", () =>
    Effect.scoped(Effect.gen(function*() {
      const { peer, stream } = yield* connect()
      const sent = yield* writeApart(peer, scenarios.separateWrites())
      yield* peerEnd(peer)
      const pulls = yield* Stream.runCollect(Stream.chunks(stream.stream))
      expect(pulls[0]!.length).toBeGreaterThanOrEqual(2)
      expect(bytesOf(pulls.flat()).equals(bytesOf(sent))).toBe(true)
    })))

  it.live("sendAll of many small chunks arrives whole and in order at the raw peer", () =>
    Effect.scoped(Effect.gen(function*() {
      const { peer, stream } = yield* connect()
      const chunks = scenarios.manySmall()
      const read = yield* Effect.forkChild(peerReadBytesToEnd(peer))
      yield* stream.sendAll(chunks)
      yield* stream.sendAll([]) // nothing to send: completes
      yield* finish(name, stream)
      expect((yield* Fiber.join(read)).equals(bytesOf(chunks))).toBe(true)
    })))

  it.live("the sink writes each array it is given as one batch, in order", () =>
    Effect.scoped(Effect.gen(function*() {
      const { peer, stream } = yield* connect()
      const chunks = scenarios.sink.chunks()
      const read = yield* Effect.forkChild(peerReadBytesToEnd(peer))
      yield* Stream.run(Stream.rechunk(Stream.fromIterable(chunks), scenarios.sink.rechunk), stream.sink)
      yield* finish(name, stream)
      expect((yield* Fiber.join(read)).equals(bytesOf(chunks))).toBe(true)
    })))

  it.live("sendAll converts every element before any I/O: a bad one sends nothing", () =>
    Effect.scoped(Effect.gen(function*() {
      const { peer, stream } = yield* connect()
      const { argument, chunks, then } = scenarios.badElement
      const bad = yield* Effect.flip(stream.sendAll(chunks as ReadonlyArray<string>))
      expect(bad).toMatchObject({ _tag: "InvalidArgumentError", argument })
      expect(yield* Effect.flip(stream.sendAll(null as unknown as Array<string>))).toMatchObject({
        _tag: "InvalidArgumentError",
        argument: "chunks"
      })
      const read = yield* Effect.forkChild(peerReadBytesToEnd(peer))
      yield* stream.sendAll(then)
      yield* finish(name, stream)
      expect((yield* Fiber.join(read)).toString()).toBe(then.join(""))
    })))

  it.live(
    "sendAll to a peer that does not read stays suspended, then completes once it reads",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const { peer, stream } = yield* connect()
        const { piece, polls, total } = scenarios.sendBackpressure
        const chunks = Array.from({ length: total / piece }, (_, i) => Buffer.alloc(piece, i % 251))
        const sending = yield* started(stream.sendAll(chunks))
        // The kernel's buffers take a few MiB at most; the rest waits in ours, and so does the sender.
        for (let i = 0; i < polls; i++) {
          yield* letArrive
          expect(sending.pollUnsafe()).toBeUndefined()
        }
        const read = yield* Effect.forkChild(peerReadBytesToEnd(peer))
        yield* Fiber.join(sending)
        yield* finish(name, stream)
        expect((yield* Fiber.join(read)).equals(bytesOf(chunks))).toBe(true)
      })),
    60_000
  )
})

describe.each(transports.filter(([name]) => name !== "TLS"))("%s backpressure", (_name, connect) => {
  it.live(
    "a peer writing 64 MiB while we do not read stalls in its own buffer; batches stay bounded",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const { peer, stream } = yield* connect()
        const { maxBatch, total } = scenarios.receiveBackpressure
        const { buffered, dispatched } = yield* Effect.promise(() => floodUntilStalled(peer))
        expect(dispatched).toBeLessThan(total / 2)
        expect(buffered).toBeGreaterThan(total / 2)
        // Reading drains it all, and no batch exceeds our buffer's bound.
        let got = 0
        let largest = 0
        for (let i = 0; i < 100_000 && got < total; i++) {
          const size = bytesOf(yield* stream.receiveBatch()).length
          largest = Math.max(largest, size)
          got += size
        }
        expect(got).toBe(total)
        expect(largest).toBeLessThanOrEqual(maxBatch)
      })),
    60_000
  )
})

it.live("TCP sendAll to a python3 peer: 5000 chunks arrive in order (sha256)", () =>
  Effect.scoped(Effect.gen(function*() {
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
  })))

describe("in-memory pair", () => {
  it.live("sendAll into a pipe nobody reads stops at bufferSize chunks; the reader gets all, in order", () =>
    Effect.scoped(Effect.gen(function*() {
      const bufferSize = 4
      const [a, b] = yield* ByteStreams.makePair({ bufferSize })
      const chunks = scenarios.manySmall()
      const sending = yield* started(a.sendAll(chunks))
      for (let i = 0; i < 3; i++) {
        yield* letArrive
        expect(sending.pollUnsafe()).toBeUndefined()
      }
      // The pipe holds bufferSize chunks: the first batch is at most that many.
      const first = yield* b.receiveBatch()
      expect(first.length).toBeLessThanOrEqual(bufferSize)
      yield* Effect.forkChild(Effect.andThen(Fiber.join(sending), a.sendEof))
      const rest = yield* Stream.runCollect(b.stream)
      expect(bytesOf([...first, ...rest]).equals(bytesOf(chunks))).toBe(true)
    })))

  it.live("an interrupted receiveBatch consumes nothing; a concurrent one is BusyResourceError", () =>
    Effect.scoped(Effect.gen(function*() {
      const [a, b] = yield* ByteStreams.makePair()
      const parked = yield* started(b.receiveBatch())
      expect(yield* Effect.flip(b.receiveBatch())).toMatchObject({ _tag: "BusyResourceError" })
      yield* Fiber.interrupt(parked)
      yield* a.sendAll(["one", "two"])
      expect(Buffer.from(yield* b.receive()).toString()).toBe("one")
      expect(bytesOf(yield* b.receiveBatch()).toString()).toBe("two")
      yield* a.sendEof
      expect(yield* Effect.flip(b.receiveBatch())).toMatchObject({ _tag: "EndOfStream" })
    })))

  it.live("buffered: what is buffered comes first as a batch of its own; sendAll passes through", () =>
    Effect.scoped(Effect.gen(function*() {
      const [a, b] = yield* ByteStreams.makePair()
      const buffered = ByteStreams.buffered(b)
      yield* buffered.feedData("fed,")
      yield* a.sendAll(["sent"])
      expect(bytesOf(yield* buffered.receiveBatch()).toString()).toBe("fed,")
      expect(bytesOf(yield* buffered.receiveBatch()).toString()).toBe("sent")
      yield* buffered.sendAll(["back", "wards"])
      expect(bytesOf([yield* a.receive(), yield* a.receive()]).toString()).toBe("backwards")
    })))
})

describe("ByteStream.serialized batches (Effect 4)", () => {
  it.live("sendAll from many fibers: each batch goes out whole, never interleaved with another's", () =>
    Effect.gen(function*() {
      const plan = serializedBatches
      const [a, b] = yield* ByteStreams.makePair({ bufferSize: plan.bufferSize })
      const shared = ByteStreams.serialized(a)
      const received = yield* Effect.forkChild(
        Effect.gen(function*() {
          const parts: Array<Uint8Array> = []
          for (let total = 0; total < plan.total;) {
            const part = yield* b.receive()
            parts.push(part)
            total += part.length
          }
          return Buffer.concat(parts)
        })
      )
      yield* Effect.forEach(plan.batches(), (batch) => shared.sendAll(batch), {
        concurrency: "unbounded",
        discard: true
      })
      const runs = plan.runs(yield* Fiber.join(received))
      expect(runs.length).toBe(plan.fibers)
      expect(new Set(runs).size).toBe(plan.fibers)
    }))
})
