/**
 * Backpressure (reliability issue, item 4):
 * - a raw peer tries to send 1 GiB to a stream of ours that nobody reads (TCP, UNIX stream,
 *   TLS): for ~3 s our RSS grows by less than 64 MiB and the peer's writes stall (its write
 *   buffer stays non-empty, far less than 1 GiB reached the kernel): the socket is paused;
 * - our `send` to a raw peer that never reads (TCP, UNIX stream, TLS, the in-memory pair) blocks
 *   — a send does not complete within 500 ms — after a bounded amount, instead of buffering
 *   without bound; interrupting that send and closing leaves no fd behind;
 * - UDP: a receive queue nobody drains stays at its bound (receiveQueueSize), drops the oldest
 *   and counts the drops; UNIX datagram: the kernel's queue is the bound, and a sender to a full
 *   receiver blocks (does not drop) until the receiver takes a datagram.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Option, Queue } from "effect"
import type { Scope } from "effect"
import * as dgram from "node:dgram"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import * as tls from "node:tls"
import { ByteStream, Datagram, Socket } from "../../src/index.js"
import { useTestCerts } from "../helpers/certs.js"
import { countResources, expectBackToBaseline, memoryAfterGc, MiB, mib, report, turns } from "./resources.js"

const certs = useTestCerts()
const HOST = "127.0.0.1"
const GiB = 1024 * MiB
const RSS_LIMIT = 64 * MiB
const FLOOD_MS = 3000

let dir: string | undefined
let unique = 0
const tempPath = () => {
  dir ??= fs.mkdtempSync(path.join(os.tmpdir(), "es-bp-"))
  return path.join(dir, `b${++unique}`)
}
const removeDir = Effect.sync(() => {
  if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true })
  dir = undefined
})

// ---------------------------------------------------------------------------------------------
// Raw peers

type Flavour = "TCP" | "UNIX stream" | "TLS"

/**
 * A raw server (node:net on loopback or a UNIX path, or node:tls) whose connections are handed
 * to `onConnection`; everything is destroyed when the scope closes.
 */
const rawServer = (flavour: Flavour, onConnection: (socket: net.Socket) => void) =>
  Effect.gen(function*() {
    const sockets = new Set<net.Socket>()
    const at = flavour === "UNIX stream" ? tempPath() : undefined
    const handle = (socket: net.Socket) => {
      sockets.add(socket)
      socket.on("error", () => {})
      onConnection(socket)
    }
    const server = yield* Effect.acquireRelease(
      Effect.async<net.Server, Error>((resume) => {
        const server = flavour === "TLS"
          ? tls.createServer({ cert: certs().server.cert, key: certs().server.key }, handle)
          : net.createServer({ pauseOnConnect: true }, handle)
        server.once("error", (error) => resume(Effect.fail(error)))
        const ready = () => resume(Effect.succeed(server))
        if (at !== undefined) server.listen({ path: at }, ready)
        else server.listen({ host: HOST, port: 0 }, ready)
      }),
      (server) =>
        Effect.async<void>((resume) => {
          for (const socket of sockets) socket.destroy()
          server.close(() => resume(Effect.void))
        })
    )
    /** Destroys every connection the server accepted (the peer's side goes away). */
    const destroyPeers = Effect.sync(() => {
      for (const socket of sockets) socket.destroy()
    })
    const connect: Effect.Effect<ByteStream.ByteStream, unknown, Scope.Scope> = at !== undefined
      ? Socket.connectUnix(at)
      : flavour === "TLS"
      ? Socket.connectTcp(HOST, (server.address() as net.AddressInfo).port, { tls: { ca: certs().ca.cert } })
      : Socket.connectTcp(HOST, (server.address() as net.AddressInfo).port)
    return { connect, destroyPeers }
  })

interface FloodResult {
  readonly queued: number
  readonly flushed: number
  readonly stalled: boolean
  readonly writableLength: number
}

/**
 * Writes one 1 MiB buffer over and over (up to `total`), waiting for 'drain' when asked, for at
 * most `withinMs`. Reports what was handed to the kernel and whether the writer stalled.
 */
const flood = (socket: net.Socket, total: number, withinMs: number) =>
  Effect.async<FloodResult>((resume) => {
    const chunk = Buffer.alloc(MiB, 0x61)
    let queued = 0
    let flushed = 0
    let done = false
    const finish = (stalled: boolean) => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.off("drain", pump)
      resume(Effect.succeed({ queued, flushed, stalled, writableLength: socket.writableLength }))
    }
    const timer = setTimeout(() => finish(true), withinMs)
    function pump() {
      while (queued < total && !done) {
        queued += chunk.length
        const more = socket.write(chunk, (error) => {
          if (!error) flushed += chunk.length
          if (flushed >= total) finish(false)
        })
        if (!more) return
      }
    }
    socket.on("drain", pump)
    pump()
    return Effect.sync(() => finish(false))
  })

// ---------------------------------------------------------------------------------------------

describe("backpressure: a peer floods a stream nobody reads", () => {
  const flavours: ReadonlyArray<Flavour> = ["TCP", "UNIX stream", "TLS"]
  for (const flavour of flavours) {
    it.scopedLive(
      `${flavour}: a peer trying to send 1 GiB for ${FLOOD_MS / 1000} s grows our RSS by < 64 MiB and stalls`,
      () =>
        Effect.gen(function*() {
          yield* Effect.addFinalizer(() => removeDir)
          const peers = yield* Queue.unbounded<net.Socket>()
          const server = yield* rawServer(flavour, (socket) => Queue.unsafeOffer(peers, socket))
          const memoryBefore = yield* memoryAfterGc
          const stream = yield* server.connect
          const peer = yield* Queue.take(peers).pipe(Effect.timeout("2 seconds"))
          const result = yield* flood(peer, GiB, FLOOD_MS)
          const rssGrowth = process.memoryUsage().rss - memoryBefore.rss

          // The stream still works: the first bytes are there, in order.
          const first = yield* stream.receive(16)
          report(`backpressure flood ${flavour}`, {
            attempted: mib(GiB),
            handedToKernel: mib(result.flushed),
            peerStalled: result.stalled,
            peerWriteBuffer: mib(result.writableLength),
            rssGrowth: mib(rssGrowth),
            floodMs: FLOOD_MS
          })
          expect(Buffer.from(first).toString()).toBe("a".repeat(first.length))
          expect(result.stalled, "the peer could not hand 1 GiB to the kernel: our side stopped reading").toBe(true)
          expect(result.flushed).toBeLessThan(256 * MiB)
          expect(result.writableLength).toBeGreaterThan(0)
          expect(rssGrowth).toBeLessThan(RSS_LIMIT)
        }),
      30_000
    )
  }
})

describe("backpressure: our send to a peer that never reads blocks", () => {
  const CHUNK = MiB
  const MAX_SENDS = 256

  /** Sends 1 MiB chunks until one does not complete within 500 ms (at most MAX_SENDS). */
  const sendUntilBlocked = (stream: ByteStream.ByteStream) =>
    Effect.gen(function*() {
      const chunk = new Uint8Array(CHUNK).fill(0x62)
      let completed = 0
      const started = Date.now()
      for (let i = 0; i < MAX_SENDS && Date.now() - started < 15_000; i++) {
        const fiber = yield* Effect.fork(stream.send(chunk))
        const exit = yield* Fiber.await(fiber).pipe(Effect.timeout("500 millis"), Effect.option)
        if (Option.isNone(exit)) {
          const interrupted = yield* Fiber.interrupt(fiber)
          return {
            completed,
            blocked: true,
            interruptedCleanly: Exit.isInterrupted(interrupted) || Exit.isSuccess(interrupted)
          }
        }
        if (Exit.isFailure(exit.value)) return yield* Effect.dieMessage(`send failed: ${exit.value.cause}`)
        completed += CHUNK
      }
      return { completed, blocked: false, interruptedCleanly: true }
    })

  const flavours: ReadonlyArray<Flavour> = ["TCP", "UNIX stream", "TLS"]
  for (const flavour of flavours) {
    it.scopedLive(
      `${flavour}: send blocks (no completion within 500 ms) after a bounded amount; no fd is left`,
      () =>
        Effect.gen(function*() {
          yield* Effect.addFinalizer(() => removeDir)
          const peers = yield* Queue.unbounded<net.Socket>()
          const server = yield* rawServer(flavour, (socket) => {
            // Never reads: a TLS socket is paused once its handshake is done.
            socket.pause()
            Queue.unsafeOffer(peers, socket)
          })
          yield* turns(2)
          const baseline = countResources()
          const memoryBefore = yield* memoryAfterGc
          let closeStarted = 0
          // The connection's scope closes on its own fiber: if closing hangs, the test says so
          // (instead of hanging), then frees it by destroying the peer.
          const fiber = yield* Effect.forkDaemon(Effect.scoped(Effect.gen(function*() {
            const stream = yield* server.connect
            yield* Queue.take(peers).pipe(Effect.timeout("2 seconds"))
            yield* Effect.addFinalizer(() => Effect.sync(() => (closeStarted = Date.now())))
            return yield* sendUntilBlocked(stream)
          })))
          const finished = yield* Fiber.await(fiber).pipe(Effect.timeout("6 seconds"), Effect.option)
          const closeMs = closeStarted === 0 ? -1 : Date.now() - closeStarted
          const closeHung = Option.isNone(finished)
          yield* server.destroyPeers
          const exit = closeHung ? yield* Fiber.await(fiber).pipe(Effect.timeout("5 seconds")) : finished.value
          if (Exit.isFailure(exit)) return yield* Effect.die(new Error(`the send loop failed: ${exit.cause}`))
          const outcome = exit.value
          const rssGrowth = process.memoryUsage().rss - memoryBefore.rss
          yield* expectBackToBaseline(`backpressure send ${flavour}`, baseline, "2 seconds", {
            sentBeforeBlocking: mib(outcome.completed),
            blocked: outcome.blocked,
            closeMs: closeHung ? `> ${closeMs} (hung until the peer was destroyed)` : closeMs,
            rssGrowth: mib(rssGrowth)
          })
          expect(closeHung, "closing the stream (scope finalizer) while the peer reads nothing hung").toBe(false)
          expect(outcome.blocked, `send never blocked within ${MAX_SENDS} MiB`).toBe(true)
          expect(outcome.interruptedCleanly).toBe(true)
          expect(outcome.completed).toBeLessThan(64 * MiB)
          expect(rssGrowth).toBeLessThan(RSS_LIMIT)
        }),
      30_000
    )
  }

  /**
   * The sends carry no write callback while the kernel takes them at once; a send Node keeps
   * waits for a fence behind it (src/internal/driver/netStream.ts). This checks that the wait
   * ends when the bytes leave Node, and that nothing is lost or reordered on the way.
   */
  for (const flavour of flavours) {
    it.scopedLive(
      `${flavour}: a send blocked on a peer that does not read completes once it reads, every byte in order`,
      () =>
        Effect.gen(function*() {
          yield* Effect.addFinalizer(() => removeDir)
          const CHUNKS = 32
          const peers = yield* Queue.unbounded<net.Socket>()
          const server = yield* rawServer(flavour, (socket) => {
            socket.pause()
            Queue.unsafeOffer(peers, socket)
          })
          const stream = yield* server.connect
          const peer = yield* Queue.take(peers).pipe(Effect.timeout("2 seconds"))
          // One send onto an idle socket (it carries no write callback of its own).
          const payload = new Uint8Array(CHUNKS * CHUNK)
          for (let i = 0; i < CHUNKS; i++) payload.fill(i, i * CHUNK, (i + 1) * CHUNK)
          const sender = yield* Effect.fork(stream.send(payload))
          // 32 MiB are far more than the loopback buffers hold: the send waits.
          const early = yield* Fiber.await(sender).pipe(Effect.timeout("500 millis"), Effect.option)
          const received = yield* Effect.async<{ readonly bytes: number; readonly firstWrong: number }>((resume) => {
            let bytes = 0
            let firstWrong = -1
            peer.on("data", (chunk: Buffer) => {
              for (let j = 0; j < chunk.length && firstWrong < 0; j++) {
                if (chunk[j] !== Math.floor((bytes + j) / CHUNK)) firstWrong = bytes + j
              }
              bytes += chunk.length
              if (bytes >= CHUNKS * CHUNK || firstWrong >= 0) resume(Effect.succeed({ bytes, firstWrong }))
            })
            peer.resume()
          }).pipe(Effect.timeout("15 seconds"))
          const exit = yield* Fiber.await(sender).pipe(Effect.timeout("5 seconds"))
          expect(Option.isNone(early), "the send did not wait for the peer").toBe(true)
          expect(Exit.isSuccess(exit), String(exit)).toBe(true)
          expect(received).toEqual({ bytes: CHUNKS * CHUNK, firstWrong: -1 })
        }),
      30_000
    )
  }

  it.scopedLive("in-memory pair: send blocks once bufferSize chunks wait unreceived, and resumes when one is received", () =>
    Effect.gen(function*() {
      const [a, b] = yield* ByteStream.makePair({ bufferSize: 16 })
      const outcome = yield* sendUntilBlocked(a)
      // One receive makes room: the next send completes.
      yield* b.receive(CHUNK)
      const resumed = yield* a.send(new Uint8Array(CHUNK)).pipe(Effect.timeout("500 millis"), Effect.option)
      report("backpressure send in-memory pair", {
        sentBeforeBlocking: mib(outcome.completed),
        blocked: outcome.blocked,
        resumed: Option.isSome(resumed)
      })
      expect(outcome.blocked).toBe(true)
      expect(outcome.completed).toBe(16 * CHUNK)
      expect(Option.isSome(resumed)).toBe(true)
    }))
})

describe("backpressure: datagram queues", () => {
  it.scopedLive(
    "UDP: 20,000 datagrams to a socket nobody receives from: the queue holds receiveQueueSize (the newest), the rest are counted as dropped",
    () =>
      Effect.gen(function*() {
        const queueSize = 64
        const total = 20_000
        const socket = yield* Datagram.createUdpSocket({ family: "IPv4", localHost: HOST, receiveQueueSize: queueSize })
        const port = socket.attributes.localAddress.port
        const sender = yield* Effect.acquireRelease(
          Effect.sync(() => dgram.createSocket("udp4")),
          (s) => Effect.async<void>((resume) => void s.close(() => resume(Effect.void)))
        )
        const memoryBefore = yield* memoryAfterGc
        const payload = Buffer.alloc(1024, 0x63)
        // Paced in batches, so the kernel's own receive buffer does not overflow: every datagram
        // reaches Node, and what is dropped is dropped by our queue (and counted).
        let sent = 0
        for (let batch = 0; sent < total; batch++) {
          yield* Effect.async<void>((resume) => {
            let pending = 0
            for (let i = 0; i < 50 && sent < total; i++, sent++) {
              const datagram = Buffer.from(payload)
              datagram.writeUInt32BE(sent, 0)
              pending++
              sender.send(datagram, port, HOST, () => {
                if (--pending === 0) resume(Effect.void)
              })
            }
          })
          yield* turns(2)
        }
        yield* turns(20)
        const dropped = yield* socket.dropped
        const memoryAfter = yield* memoryAfterGc

        const held: Array<number> = []
        for (let i = 0; i < queueSize + 1; i++) {
          const next = yield* socket.receive.pipe(Effect.timeout("100 millis"), Effect.option)
          if (Option.isNone(next)) break
          held.push(Buffer.from(next.value[0]).readUInt32BE(0))
        }
        const lostByKernel = total - dropped - held.length
        report("backpressure UDP queue", {
          sent: total,
          queueBound: queueSize,
          held: held.length,
          dropped,
          lostByKernel,
          firstHeld: held[0],
          lastHeld: held.at(-1),
          heapGrowth: mib(memoryAfter.heapUsed - memoryBefore.heapUsed)
        })
        expect(held.length).toBe(queueSize)
        // The newest are kept, in order: the last one sent is the last one held.
        expect(held.at(-1)).toBe(total - 1)
        expect([...held].sort((x, y) => x - y)).toEqual(held)
        expect(dropped + held.length + lostByKernel).toBe(total)
        expect(lostByKernel).toBeLessThanOrEqual(total / 100)
        expect(dropped).toBeGreaterThanOrEqual(total - queueSize - total / 100)
        expect(memoryAfter.heapUsed - memoryBefore.heapUsed).toBeLessThan(8 * MiB)
      }),
    30_000
  )

  it.scopedLive(
    "UNIX datagram: a sender to a receiver that never receives blocks (no drop) once the kernel queue is full, and resumes when one datagram is taken",
    () =>
      Effect.gen(function*() {
        yield* Effect.addFinalizer(() => removeDir)
        const at = tempPath()
        const receiver = yield* Datagram.createUnixDatagramSocket({ localPath: at })
        const sender = yield* Datagram.createConnectedUnixDatagramSocket(at)
        const payload = new Uint8Array(1024).fill(0x64)
        let sentBeforeBlocking = 0
        let blocked: Fiber.RuntimeFiber<void, unknown> | undefined
        for (let i = 0; i < 100_000 && blocked === undefined; i++) {
          const fiber = yield* Effect.fork(sender.send(payload))
          const exit = yield* Fiber.await(fiber).pipe(Effect.timeout("500 millis"), Effect.option)
          if (Option.isNone(exit)) blocked = fiber
          else if (Exit.isFailure(exit.value)) return yield* Effect.dieMessage(`send failed: ${exit.value.cause}`)
          else sentBeforeBlocking++
        }
        // Taking one datagram makes room: the blocked send completes.
        yield* receiver.receive
        const resumed = blocked === undefined
          ? Option.none()
          : yield* Fiber.await(blocked).pipe(Effect.timeout("1 second"), Effect.option)
        let queued = 0
        while (
          queued < 100_000 && Option.isSome(yield* receiver.receive.pipe(Effect.timeout("50 millis"), Effect.option))
        ) queued++
        report("backpressure UNIX datagram", {
          sentBeforeBlocking,
          blocked: blocked !== undefined,
          resumedAfterOneReceive: Option.isSome(resumed),
          receivedAfterwards: queued + 1
        })
        expect(blocked, "the sender never blocked").toBeDefined()
        expect(sentBeforeBlocking).toBeLessThan(10_000)
        expect(Option.isSome(resumed) && Exit.isSuccess(resumed.value)).toBe(true)
        // Nothing was dropped: everything sent (the blocked one included) arrives.
        expect(queued + 1).toBe(sentBeforeBlocking + 1)
      }),
    30_000
  )
})
