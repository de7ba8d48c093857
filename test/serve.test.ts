/**
 * `serve`: decisions S7 (handler failures) and S8 (a connection is scoped to its handler), and
 * the serve policies of API.md: interruption closes everything, isolation and logging of
 * handler failures, `maxConnections`, `drainTimeout`, and bounded memory for unread streams.
 * Peers are raw `node:net` clients on loopback.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Data, Deferred, Effect, Exit, Fiber, Logger, LogLevel, Option } from "effect"
import type { ByteStream } from "../src/ByteStream.js"
import { Listener } from "../src/index.js"
import type { ServeOptions } from "../src/Listener/index.js"
import { connectRaw, connectRawUnscoped, countResources, type RawPeer, settleTo } from "./helpers/resources.js"

// ---------------------------------------------------------------------------------------------
// Helpers

class Boom extends Data.TaggedError("Boom")<{}> {}

const HOST = "127.0.0.1"

/**
 * Binds a loopback listener and forks `serve(handler)` in the test's scope (interrupted when the
 * scope closes, unless the test interrupts it first).
 */
const startServer = <E>(
  handler: (stream: ByteStream) => Effect.Effect<unknown, E>,
  options?: ServeOptions,
  wrap: <A, E2>(serve: Effect.Effect<A, E2>) => Effect.Effect<A, E2> = (serve) => serve
) =>
  Effect.gen(function*() {
    const listener = yield* Listener.createTcpListener({ localHost: HOST })
    const address = listener.addresses[0]!
    const port = address._tag === "InetAddress" ? address.port : 0
    const fiber = yield* Effect.forkScoped(wrap(listener.serve(handler, options)))
    return { port, fiber }
  })

interface LogEntry {
  readonly level: LogLevel.LogLevel
  readonly message: unknown
  readonly cause: Cause.Cause<unknown>
}

/** A logger that records every entry, and a wrapper that installs it instead of the default one. */
const captureLogs = () => {
  const entries: Array<LogEntry> = []
  const logger = Logger.make(({ cause, logLevel, message }) => {
    entries.push({ level: logLevel, message, cause })
  })
  const layer = Logger.replace(Logger.defaultLogger, logger)
  return { entries, withLogs: <A, E>(self: Effect.Effect<A, E>) => Effect.provide(self, layer) }
}

/** Whether a log entry carries `value` (as a failure or a defect of its cause, or in its message). */
const mentions = (entry: LogEntry, value: unknown): boolean =>
  [...Cause.failures(entry.cause), ...Cause.defects(entry.cause)].includes(value) ||
  (Array.isArray(entry.message) ? entry.message : [entry.message]).includes(value)

/** `n` Deferreds, one per handler entry, completed in order of entry. */
const entrySignals = (n: number) =>
  Effect.gen(function*() {
    const signals: Array<Deferred.Deferred<void>> = []
    for (let i = 0; i < n; i++) signals.push(yield* Deferred.make<void>())
    let entered = 0
    return {
      signals,
      get entered() {
        return entered
      },
      /** Called by a handler on entry: its index. */
      enter: Effect.suspend(() => {
        const index = entered++
        return Effect.as(index < n ? Deferred.succeed(signals[index]!, undefined) : Effect.void, index)
      }),
      await: (i: number) => Deferred.await(signals[i]!).pipe(Effect.timeout("2 seconds"))
    }
  })

// ---------------------------------------------------------------------------------------------

describe("S7 handler failures", () => {
  const kinds = [
    { kind: "failure", error: new Boom(), run: (e: unknown) => Effect.fail(e) },
    { kind: "defect", error: new Error("kaboom"), run: (e: unknown) => Effect.die(e) }
  ] as const

  for (const { error, kind, run } of kinds) {
    it.scopedLive(`S7 a handler ${kind} is logged once at error level with its cause; the next client is served (default)`, () =>
      Effect.gen(function*() {
        const logs = captureLogs()
        let connections = 0
        const { fiber, port } = yield* startServer(
          (stream): Effect.Effect<unknown, unknown> =>
            connections++ === 0
              ? run(error)
              : Effect.flatMap(stream.receive(), (data) => stream.send(data)),
          undefined,
          logs.withLogs
        )
        const first = yield* connectRaw(HOST, port)
        yield* first.awaitEnd()

        const second = yield* connectRaw(HOST, port)
        yield* second.write("ping")
        expect((yield* second.receiveAtLeast(4)).toString()).toBe("ping")
        expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)

        // Once serve has stopped, every handler has ended and logged what it had to.
        yield* Fiber.interrupt(fiber)
        const about = logs.entries.filter((entry) => mentions(entry, error))
        expect(about).toHaveLength(1)
        expect(about[0]!.level).toEqual(LogLevel.Error)
        expect(logs.entries.filter((entry) => LogLevel.greaterThanEqual(entry.level, LogLevel.Error))).toHaveLength(1)
      }))
  }

  it.scopedLive("S7 with onHandlerError: \"fail\", serve fails with the handler's error and interrupts the others", () =>
    Effect.gen(function*() {
      const entries = yield* entrySignals(2)
      let othersInterrupted = 0
      const boom = new Boom()
      const { fiber, port } = yield* startServer(
        (stream) =>
          Effect.flatMap(entries.enter, (index): Effect.Effect<unknown, unknown> =>
            index === 0
              ? stream.receive().pipe(Effect.onInterrupt(() => Effect.sync(() => othersInterrupted++)))
              : Effect.fail(boom)),
        { onHandlerError: "fail" }
      )
      const waiting = yield* connectRaw(HOST, port)
      yield* entries.await(0)
      yield* connectRaw(HOST, port)

      const exit = yield* Fiber.await(fiber).pipe(Effect.timeout("2 seconds"))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(yield* Effect.flip(exit)).toBe(boom)
      expect(othersInterrupted).toBe(1)
      yield* waiting.awaitEnd()
    }))
})

describe("S8 a connection is scoped to its handler", () => {
  it.scopedLive("S8 the client sees EOF as soon as the handler returns (well within 0.5 s)", () =>
    Effect.gen(function*() {
      // The handler sends and returns without closing anything.
      const { port } = yield* startServer((stream) => stream.send("x"))
      const peer = yield* connectRaw(HOST, port)
      expect((yield* peer.receiveAtLeast(1)).toString()).toBe("x")
      const started = Date.now()
      yield* peer.awaitEnd("500 millis")
      expect(Date.now() - started).toBeLessThan(250)
      expect(peer.text).toBe("x")
    }))
})

describe("serve policies", () => {
  it.scopedLive("interrupting serve with 200 live connections closes them all and releases every fd and handle", () =>
    Effect.gen(function*() {
      const count = 200
      const listener = yield* Listener.createTcpListener({ localHost: HOST })
      const address = listener.addresses[0]!
      const port = address._tag === "InetAddress" ? address.port : 0
      const baseline = countResources()

      const allIn = yield* Deferred.make<void>()
      let entered = 0
      let interrupted = 0
      const fiber = yield* Effect.fork(listener.serve((stream) =>
        Effect.gen(function*() {
          if (++entered === count) yield* Deferred.succeed(allIn, undefined)
          yield* stream.receive() // the peers never send: blocked until interrupted
        }).pipe(Effect.onInterrupt(() => Effect.sync(() => interrupted++)))
      ))

      const peers: Array<RawPeer> = []
      yield* Effect.addFinalizer(() => Effect.sync(() => peers.forEach((peer) => peer.socket.destroy())))
      yield* Effect.forEach(
        Array.from({ length: count }),
        () => Effect.map(connectRawUnscoped(HOST, port), (peer) => peers.push(peer)),
        { concurrency: 50, discard: true }
      )
      yield* Deferred.await(allIn).pipe(Effect.timeout("10 seconds"))

      yield* Fiber.interrupt(fiber).pipe(Effect.timeout("5 seconds"))
      expect(interrupted).toBe(count)
      yield* Effect.forEach(peers, (peer) => peer.awaitEnd("3 seconds"), { concurrency: "unbounded", discard: true })
      for (const peer of peers) peer.socket.destroy()

      const after = yield* settleTo(baseline, "2 seconds")
      expect(after.fds).toBeLessThanOrEqual(baseline.fds)
      expect(after.handles).toBeLessThanOrEqual(baseline.handles)
    }))

  it.scopedLive("maxConnections: 2 — a third client is not served until a handler finishes", () =>
    Effect.gen(function*() {
      const entries = yield* entrySignals(3)
      let running = 0
      let maxRunning = 0
      const { port } = yield* startServer(
        (stream) =>
          Effect.gen(function*() {
            maxRunning = Math.max(maxRunning, ++running)
            yield* entries.enter
            yield* stream.receive() // returns when its client sends
          }).pipe(Effect.ensuring(Effect.sync(() => running--))),
        { maxConnections: 2 }
      )
      const first = yield* connectRaw(HOST, port)
      yield* entries.await(0)
      yield* connectRaw(HOST, port)
      yield* entries.await(1)
      yield* connectRaw(HOST, port)

      // A negative check needs a wait: the third client stays unserved for 300 ms.
      yield* Effect.sleep("300 millis")
      expect(entries.entered).toBe(2)

      yield* first.write("done")
      yield* entries.await(2)
      expect(entries.entered).toBe(3)
      expect(maxRunning).toBe(2)
    }))

  it.scopedLive("drainTimeout: a running handler may finish; one that never ends is interrupted after it", () =>
    Effect.gen(function*() {
      const drainMillis = 1000
      const entries = yield* entrySignals(2)
      const gate = yield* Deferred.make<void>()
      // The second handler never ends during the test. It waits on `teardown`, completed only
      // when the test's scope closes, so that a serve that cannot stop does not hang the run.
      const teardown = yield* Deferred.make<void>()
      const interrupted = [false, false]
      const { fiber, port } = yield* startServer(
        (stream) =>
          Effect.flatMap(entries.enter, (index) =>
            (index === 0
              ? Effect.zipRight(Deferred.await(gate), stream.send("done"))
              : Deferred.await(teardown)).pipe(
                Effect.onInterrupt(() => Effect.sync(() => (interrupted[index] = true)))
              )),
        { drainTimeout: `${drainMillis} millis` }
      )
      yield* Effect.addFinalizer(() => Deferred.succeed(teardown, undefined))
      const finishing = yield* connectRaw(HOST, port)
      yield* entries.await(0)
      const stuck = yield* connectRaw(HOST, port)
      yield* entries.await(1)

      const started = Date.now()
      const stopping = yield* Effect.fork(Fiber.interrupt(fiber))
      yield* Effect.sleep("200 millis")
      // serve is draining: both handlers still run.
      expect(Option.isNone(yield* Fiber.poll(stopping))).toBe(true)
      expect(interrupted).toEqual([false, false])

      yield* Deferred.succeed(gate, undefined)
      expect((yield* finishing.receiveAtLeast(4, "1 second")).toString()).toBe("done")
      yield* finishing.awaitEnd("1 second")

      yield* Fiber.join(stopping).pipe(
        Effect.timeoutFail({
          duration: `${drainMillis + 2000} millis`,
          onTimeout: () =>
            new Error(`serve did not stop within drainTimeout + 2 s (handler interrupted: ${interrupted[1]})`)
        })
      )
      const elapsed = Date.now() - started
      expect(elapsed).toBeGreaterThanOrEqual(drainMillis - 50)
      expect(elapsed).toBeLessThan(drainMillis + 1000)
      expect(interrupted).toEqual([false, true])
      yield* stuck.awaitEnd("1 second")
    }))

  it.scopedLive("an unread stream keeps memory bounded while its peer tries to send 64 MiB", () =>
    Effect.gen(function*() {
      const total = 64 * 1024 * 1024
      const chunk = Buffer.alloc(1024 * 1024, 0x61)
      const firstReceived = yield* Deferred.make<number>()
      const { port } = yield* startServer((stream) =>
        Effect.gen(function*() {
          const first = yield* stream.receive()
          yield* Deferred.succeed(firstReceived, first.length)
          yield* Effect.never // nobody reads any more
        })
      )
      const peer = yield* connectRaw(HOST, port)
      const rssBefore = process.memoryUsage().rss

      const flooded = yield* Effect.promise(() => flood(peer, chunk, total, 3000))
      expect(yield* Deferred.await(firstReceived).pipe(Effect.timeout("1 second"))).toBeGreaterThan(0)
      const growth = process.memoryUsage().rss - rssBefore

      // The peer could not hand everything to the kernel: 'drain' stopped firing, so the
      // receiving socket is paused and the kernel's buffers are full.
      expect(flooded.drainStalled).toBe(true)
      expect(flooded.flushed).toBeLessThan(total)
      expect(peer.socket.writableLength).toBeGreaterThan(0)
      expect(growth).toBeLessThan(32 * 1024 * 1024)
    }))
})

/**
 * Writes `chunk` repeatedly (up to `total` bytes), waiting for 'drain' whenever `write` asks
 * to, for at most `withinMs`. Reports how much was handed to the kernel (write callbacks) and
 * whether it stalled waiting for a 'drain' that never came.
 */
const flood = (peer: RawPeer, chunk: Buffer, total: number, withinMs: number) =>
  new Promise<{ readonly queued: number; readonly flushed: number; readonly drainStalled: boolean }>((resolve) => {
    const socket = peer.socket
    let queued = 0
    let flushed = 0
    const finish = (drainStalled: boolean) => {
      clearTimeout(timer)
      socket.off("drain", pump)
      resolve({ queued, flushed, drainStalled })
    }
    const timer = setTimeout(() => finish(true), withinMs)
    function pump() {
      while (queued < total) {
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
  })

describe("serve options are validated", () => {
  it.scopedLive("maxConnections -1, 0, 1.5, NaN, Infinity and drainTimeout -1, NaN, 'soon' are InvalidArgumentError; serve accepts nothing", () =>
    Effect.gen(function*() {
      const listener = yield* Listener.createTcpListener({ localHost: "127.0.0.1" })
      const bad: ReadonlyArray<[string, ServeOptions, string]> = [
        ["maxConnections -1", { maxConnections: -1 }, "maxConnections"],
        ["maxConnections 0", { maxConnections: 0 }, "maxConnections"],
        ["maxConnections 1.5", { maxConnections: 1.5 }, "maxConnections"],
        ["maxConnections NaN", { maxConnections: Number.NaN }, "maxConnections"],
        ["maxConnections Infinity", { maxConnections: Number.POSITIVE_INFINITY }, "maxConnections"],
        ["drainTimeout -1", { drainTimeout: -1 }, "drainTimeout"],
        ["drainTimeout NaN", { drainTimeout: Number.NaN }, "drainTimeout"],
        ["drainTimeout 'soon'", { drainTimeout: "soon" as never }, "drainTimeout"]
      ]
      const outcomes: Array<string> = []
      for (const [label, options, argument] of bad) {
        const exit = yield* Effect.exit(listener.serve(() => Effect.void, options).pipe(Effect.timeout("1 second")))
        const failure = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined
        outcomes.push(
          `${label}: ${(failure as { _tag?: string } | undefined)?._tag}(${
            (failure as { argument?: string } | undefined)?.argument
          })`
        )
        expect(outcomes.at(-1)).toBe(`${label}: InvalidArgumentError(${argument})`)
      }
    }))
})
