/**
 * `serve` under load (reliability issue, item 5), with raw `node:net` clients on loopback:
 * - 1,000 concurrent clients doing 3 request/response rounds each; then interrupting serve ends
 *   every handler fiber, closes every connection, and leaves no fd or handle behind;
 * - handlers that die, fail or never end, mixed with good ones under concurrency: the good ones
 *   are served, each failure is logged once with its cause (a custom Logger records them), and
 *   interrupting serve ends the stuck ones without logging them;
 * - `maxConnections` holds under a burst of 400 clients;
 * - graceful shutdown under load: in-flight requests finish and serve stops as soon as they
 *   have (well before `drainTimeout`); handlers that never end are interrupted at `drainTimeout`.
 *
 * Both ends of every connection live in this process: 1,000 clients need ~2,000 fds. The test
 * checks the soft limit (`/proc/self/limits`) and skips, saying why, if it is too low.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Data, Deferred, Effect, Exit, Fiber, Logger, LogLevel } from "effect"
import { ByteStream, Listener } from "../../src/index.js"
import type { ServeOptions } from "../../src/Listener/index.js"
import {
  connectRawUnscoped,
  countResources,
  expectBackToBaseline,
  fdLimit,
  memoryAfterGc,
  mib,
  type RawPeer,
  trackFibers
} from "./resources.js"

const HOST = "127.0.0.1"
const CLIENTS = 1000
const ROUNDS = 3
const FDS_NEEDED = 2 * CLIENTS + 256
const limit = fdLimit()
const tooFewFds = limit < FDS_NEEDED
if (tooFewFds) {
  console.log(
    `[reliability] serve under load: skipped — the fd limit is ${limit}, ${FDS_NEEDED} are needed (both ends of ${CLIENTS} connections)`
  )
}

class Boom extends Data.TaggedError("Boom")<{ readonly client: number }> {}

/** A loopback listener; `serve(handler)` forked and tracked. */
const startServer = <E>(
  handler: (stream: ByteStream.ByteStream) => Effect.Effect<unknown, E>,
  options?: ServeOptions,
  logger?: Logger.Logger<unknown, void>
) =>
  Effect.gen(function*() {
    const listener = yield* Listener.createTcpListener({ localHost: HOST })
    const address = listener.addresses[0]!
    const port = address._tag === "InetAddress" ? address.port : 0
    const fibers = yield* trackFibers
    const baseline = countResources()
    const serve = fibers.supervised(listener.serve(handler, options))
    const fiber = yield* Effect.forkScoped(
      logger ? Effect.provide(serve, Logger.replace(Logger.defaultLogger, logger)) : serve
    )
    return { port, fiber, fibers, baseline }
  })

/** Connects `n` raw clients at once; all are destroyed when the test's scope closes. */
const connectMany = (port: number, n: number) =>
  Effect.gen(function*() {
    const peers: Array<RawPeer> = []
    yield* Effect.addFinalizer(() => Effect.sync(() => peers.forEach((peer) => peer.socket.destroy())))
    yield* Effect.forEach(
      Array.from({ length: n }, (_, i) => i),
      () => Effect.map(connectRawUnscoped(HOST, port), (peer) => void peers.push(peer)),
      { concurrency: "unbounded", discard: true }
    )
    return peers
  })

/** The lines a raw peer has received so far. */
const lines = (peer: RawPeer): Array<string> => peer.text.split("\n").filter((line) => line.length > 0)

/** A line protocol: each request line is answered with `ok <line>`; returns at end of stream. */
const lineEcho = (stream: ByteStream.ByteStream, onRequest?: (line: string) => Effect.Effect<void>) =>
  Effect.gen(function*() {
    const buffered = ByteStream.buffered(stream)
    for (let i = 0; i < 1000; i++) {
      const line = yield* Effect.either(buffered.receiveUntil("\n", 1024))
      if (line._tag === "Left") return
      const text = Buffer.from(line.right).toString()
      if (onRequest) yield* onRequest(text)
      yield* buffered.send(`ok ${text}\n`)
    }
  })

interface LogEntry {
  readonly level: LogLevel.LogLevel
  readonly cause: Cause.Cause<unknown>
  readonly message: unknown
}

describe("serve under load", () => {
  it.scopedLive.skipIf(tooFewFds)(
    `${CLIENTS} concurrent clients × ${ROUNDS} request/response rounds; interrupting serve ends every handler and closes every socket`,
    () =>
      Effect.gen(function*() {
        let served = 0
        let rounds = 0
        let interrupted = 0
        const memoryBefore = yield* memoryAfterGc
        const { baseline, fiber, fibers, port } = yield* startServer((stream) =>
          lineEcho(stream, () => Effect.sync(() => void rounds++)).pipe(
            Effect.zipLeft(Effect.sync(() => void served++)),
            Effect.onInterrupt(() => Effect.sync(() => void interrupted++))
          )
        )
        const started = Date.now()
        const peers = yield* connectMany(port, CLIENTS)
        const connectedMs = Date.now() - started
        yield* Effect.forEach(peers, (peer, i) =>
          Effect.gen(function*() {
            for (let r = 0; r < ROUNDS; r++) {
              yield* peer.write(`client ${i} round ${r}\n`)
              yield* peer.until(() => lines(peer).length > r, `reply ${r} of client ${i}`, "20 seconds")
            }
          }), { concurrency: "unbounded", discard: true })
        const roundsMs = Date.now() - started
        const peak = countResources()
        const liveHandlers = yield* fibers.live
        const rssPeak = process.memoryUsage().rss

        // Every reply is the right one, in order.
        let wrong = 0
        peers.forEach((peer, i) => {
          const expected = Array.from({ length: ROUNDS }, (_, r) => `ok client ${i} round ${r}`)
          if (JSON.stringify(lines(peer)) !== JSON.stringify(expected)) wrong++
        })

        const stopping = Date.now()
        yield* Fiber.interrupt(fiber).pipe(Effect.timeout("10 seconds"))
        const stopMs = Date.now() - stopping
        const liveAfter = yield* fibers.settle("2 seconds")
        let ended = 0
        yield* Effect.forEach(peers, (peer) =>
          Effect.map(Effect.either(peer.awaitEnd("5 seconds")), (e) => void (e._tag === "Right" && ended++)), {
          concurrency: "unbounded",
          discard: true
        })
        for (const peer of peers) {
          peer.socket.destroy()
        }
        yield* expectBackToBaseline("serve under load", baseline, "3 seconds", {
          clients: CLIENTS,
          rounds,
          wrongReplies: wrong,
          connectMs: connectedMs,
          allRoundsMs: roundsMs,
          fdsAtPeak: peak.fds,
          handlersLiveAtPeak: liveHandlers,
          stopMs,
          handlersInterrupted: interrupted,
          handlersLiveAfterStop: liveAfter,
          clientsSawEnd: ended,
          rssGrowthAtPeak: mib(rssPeak - memoryBefore.rss),
          fdLimit: limit
        })
        expect(rounds).toBe(CLIENTS * ROUNDS)
        expect(wrong).toBe(0)
        expect(liveHandlers).toBe(CLIENTS)
        expect(peak.fds).toBeGreaterThanOrEqual(baseline.fds + 2 * CLIENTS)
        expect(interrupted).toBe(CLIENTS)
        expect(served).toBe(0) // none had ended: each was waiting for its next request
        expect(liveAfter).toBe(0)
        expect(ended).toBe(CLIENTS)
      }),
    90_000
  )

  it.scopedLive(
    "handlers that die, fail or never end, among 300 concurrent clients: the others are served; each failure is logged once with its cause",
    () =>
      Effect.gen(function*() {
        const n = 300
        const entries: Array<LogEntry> = []
        const logger = Logger.make(({ cause, logLevel, message }) =>
          void entries.push({ level: logLevel, cause, message })
        )
        const errors = new Map<number, unknown>()
        let stuckInterrupted = 0
        const kindOf = (i: number): "die" | "fail" | "hang" | "echo" =>
          i % 10 === 0 ? "die" : i % 10 === 1 ? "fail" : i % 10 === 2 ? "hang" : "echo"
        const { baseline, fiber, fibers, port } = yield* startServer(
          (stream) =>
            Effect.gen(function*() {
              const buffered = ByteStream.buffered(stream)
              const first = Buffer.from(yield* buffered.receiveUntil("\n", 1024)).toString()
              const [kind, index] = first.split(" ") as [string, string]
              const i = Number(index)
              if (kind === "die") {
                const defect = new Error(`kaboom ${i}`)
                errors.set(i, defect)
                return yield* Effect.die(defect)
              }
              if (kind === "fail") {
                const failure = new Boom({ client: i })
                errors.set(i, failure)
                return yield* Effect.fail(failure)
              }
              if (kind === "hang") {
                return yield* Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => void stuckInterrupted++)))
              }
              yield* buffered.send(`ok ${first}\n`)
              yield* lineEcho(buffered)
            }),
          undefined,
          logger
        )
        const peers = yield* connectMany(port, n)
        yield* Effect.forEach(peers, (peer, i) => peer.write(`${kindOf(i)} ${i}\n`), {
          concurrency: "unbounded",
          discard: true
        })
        // Good clients get their reply; failing handlers' clients see their connection end.
        let served = 0
        let endedWithoutReply = 0
        yield* Effect.forEach(peers, (peer, i) => {
          const kind = kindOf(i)
          if (kind === "echo") {
            return Effect.map(
              peer.until(() => lines(peer).length > 0, `reply of ${i}`, "10 seconds"),
              () => void served++
            )
          }
          if (kind === "hang") return Effect.void
          return Effect.map(peer.awaitEnd("10 seconds"), () => void (peer.data.length === 0 && endedWithoutReply++))
        }, { concurrency: "unbounded", discard: true })
        // A second round for the good clients: their handlers kept going.
        yield* Effect.forEach(peers, (peer, i) =>
          kindOf(i) !== "echo" ? Effect.void : Effect.zipRight(
            peer.write("again\n"),
            peer.until(() => lines(peer).length > 1, `second reply of ${i}`, "10 seconds")
          ), { concurrency: "unbounded", discard: true })
        const stuckRunning = yield* fibers.live

        yield* Fiber.interrupt(fiber).pipe(Effect.timeout("5 seconds"))
        const liveAfter = yield* fibers.settle()
        const failing = [...errors.entries()]
        const loggedOnce = failing.filter(([, error]) =>
          entries.filter((entry) => [...Cause.failures(entry.cause), ...Cause.defects(entry.cause)].includes(error))
            .length === 1
        ).length
        const errorLogs = entries.filter((entry) =>
          LogLevel.greaterThanEqual(entry.level, LogLevel.Error)
        ).length
        for (const peer of peers) peer.socket.destroy()
        yield* expectBackToBaseline("serve faulty handlers", baseline, "2 seconds", {
          clients: n,
          served,
          failingHandlers: failing.length,
          failuresLoggedOnceWithCause: loggedOnce,
          errorLogs,
          failingClientsEndedWithoutReply: endedWithoutReply,
          stuckRunningBeforeStop: stuckRunning,
          stuckInterrupted,
          handlersLiveAfterStop: liveAfter
        })
        const expectedGood = peers.filter((_, i) => kindOf(i) === "echo").length
        const expectedHang = peers.filter((_, i) => kindOf(i) === "hang").length
        expect(served).toBe(expectedGood)
        expect(failing.length).toBe(n - expectedGood - expectedHang)
        expect(loggedOnce).toBe(failing.length)
        expect(errorLogs).toBe(failing.length)
        expect(endedWithoutReply).toBe(failing.length)
        expect(stuckRunning).toBe(expectedGood + expectedHang)
        expect(stuckInterrupted).toBe(expectedHang)
        expect(liveAfter).toBe(0)
      }),
    60_000
  )

  it.scopedLive(
    "maxConnections: 50 holds under a burst of 400 clients, and every client is served",
    () =>
      Effect.gen(function*() {
        const n = 400
        const maxConnections = 50
        let running = 0
        let maxRunning = 0
        let served = 0
        // Handlers hold their connection until the gate opens, so the limit is reached for sure.
        const gate = yield* Deferred.make<void>()
        const { baseline, fiber, port } = yield* startServer(
          (stream) =>
            Effect.gen(function*() {
              maxRunning = Math.max(maxRunning, ++running)
              const request = yield* ByteStream.buffered(stream).receiveUntil("\n", 1024)
              yield* Deferred.await(gate)
              yield* stream.send(`ok ${Buffer.from(request).toString()}\n`)
              served++
            }).pipe(Effect.ensuring(Effect.sync(() => void running--))),
          { maxConnections }
        )
        const started = Date.now()
        const peers = yield* connectMany(port, n)
        yield* Effect.forEach(peers, (peer, i) => peer.write(`request ${i}\n`), {
          concurrency: "unbounded",
          discard: true
        })
        for (let i = 0; i < 500 && running < maxConnections; i++) yield* Effect.sleep("10 millis")
        // A negative check needs a wait: with every client connected and waiting, no more start.
        yield* Effect.sleep("300 millis")
        const runningWhileGated = running
        yield* Deferred.succeed(gate, undefined)
        yield* Effect.forEach(
          peers,
          (peer, i) => peer.until(() => lines(peer).length > 0, `reply of ${i}`, "20 seconds"),
          {
            concurrency: "unbounded",
            discard: true
          }
        )
        const elapsed = Date.now() - started
        yield* Fiber.interrupt(fiber)
        for (const peer of peers) peer.socket.destroy()
        yield* expectBackToBaseline("serve maxConnections", baseline, "2 seconds", {
          clients: n,
          maxConnections,
          runningWhileGated,
          maxRunning,
          served,
          elapsedMs: elapsed
        })
        expect(runningWhileGated).toBe(maxConnections)
        expect(maxRunning).toBe(maxConnections)
        expect(served).toBe(n)
      }),
    60_000
  )

  it.scopedLive(
    "graceful shutdown under load: 200 in-flight requests finish and serve stops as soon as they have, well within drainTimeout",
    () =>
      Effect.gen(function*() {
        const n = 200
        const drainMillis = 3000
        const workMillis = 300
        let entered = 0
        let finished = 0
        let interrupted = 0
        const allIn = yield* Deferred.make<void>()
        const { baseline, fiber, port } = yield* startServer(
          (stream) =>
            Effect.gen(function*() {
              const request = yield* ByteStream.buffered(stream).receiveUntil("\n", 1024)
              if (++entered === n) yield* Deferred.succeed(allIn, undefined)
              yield* Effect.sleep(`${workMillis} millis`)
              yield* stream.send(`ok ${Buffer.from(request).toString()}\n`)
              finished++
            }).pipe(Effect.onInterrupt(() => Effect.sync(() => void interrupted++))),
          { drainTimeout: `${drainMillis} millis` }
        )
        const peers = yield* connectMany(port, n)
        yield* Effect.forEach(peers, (peer, i) => peer.write(`request ${i}\n`), {
          concurrency: "unbounded",
          discard: true
        })
        yield* Deferred.await(allIn).pipe(Effect.timeout("10 seconds"))
        const stopping = Date.now()
        yield* Fiber.interrupt(fiber).pipe(Effect.timeout(`${drainMillis + 5000} millis`))
        const stopMs = Date.now() - stopping
        let replies = 0
        yield* Effect.forEach(peers, (peer) =>
          Effect.map(
            Effect.either(peer.until(() => lines(peer).length > 0, "reply", "2 seconds")),
            (e) => void (e._tag === "Right" && replies++)
          ), {
          concurrency: "unbounded",
          discard: true
        })
        for (const peer of peers) peer.socket.destroy()
        yield* expectBackToBaseline("serve graceful drain", baseline, "2 seconds", {
          inFlight: n,
          finished,
          interrupted,
          replies,
          stopMs,
          drainTimeoutMs: drainMillis
        })
        expect(finished).toBe(n)
        expect(replies).toBe(n)
        expect(interrupted).toBe(0)
        expect(stopMs).toBeLessThan(drainMillis)
      }),
    60_000
  )

  it.scopedLive(
    "graceful shutdown under load: handlers that never end are interrupted at drainTimeout; the 100 others finish",
    () =>
      Effect.gen(function*() {
        const good = 100
        const stuck = 10
        const drainMillis = 1000
        let entered = 0
        let finished = 0
        let stuckInterrupted = 0
        let goodInterrupted = 0
        const allIn = yield* Deferred.make<void>()
        const { baseline, fiber, port } = yield* startServer(
          (stream) =>
            Effect.gen(function*() {
              const request = Buffer.from(yield* ByteStream.buffered(stream).receiveUntil("\n", 1024)).toString()
              if (++entered === good + stuck) yield* Deferred.succeed(allIn, undefined)
              if (request.startsWith("stuck")) {
                return yield* Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => void stuckInterrupted++)))
              }
              yield* Effect.sleep("200 millis")
              yield* stream.send(`ok ${request}\n`)
              finished++
            }).pipe(Effect.onInterrupt(() => Effect.sync(() => void goodInterrupted++))),
          { drainTimeout: `${drainMillis} millis` }
        )
        const peers = yield* connectMany(port, good + stuck)
        yield* Effect.forEach(peers, (peer, i) => peer.write(i < stuck ? `stuck ${i}\n` : `request ${i}\n`), {
          concurrency: "unbounded",
          discard: true
        })
        yield* Deferred.await(allIn).pipe(Effect.timeout("10 seconds"))
        const stopping = Date.now()
        const exit = yield* Fiber.interrupt(fiber).pipe(Effect.timeout(`${drainMillis + 5000} millis`))
        const stopMs = Date.now() - stopping
        let ended = 0
        yield* Effect.forEach(peers, (peer) =>
          Effect.map(Effect.either(peer.awaitEnd("2 seconds")), (e) => void (e._tag === "Right" && ended++)), {
          concurrency: "unbounded",
          discard: true
        })
        for (const peer of peers) {
          peer.socket.destroy()
        }
        yield* expectBackToBaseline("serve drainTimeout", baseline, "2 seconds", {
          good,
          stuck,
          finished,
          stuckInterrupted,
          stopMs,
          drainTimeoutMs: drainMillis,
          clientsSawEnd: ended
        })
        expect(Exit.isInterrupted(exit)).toBe(true)
        expect(finished).toBe(good)
        expect(stuckInterrupted).toBe(stuck)
        expect(goodInterrupted - stuckInterrupted).toBe(0)
        expect(stopMs).toBeGreaterThanOrEqual(drainMillis - 50)
        expect(stopMs).toBeLessThan(drainMillis + 1000)
        expect(ended).toBe(good + stuck)
      }),
    60_000
  )
})
