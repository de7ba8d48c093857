/**
 * Leak under churn on the Effect 4 edition (#18 item 4; the Effect 3 edition's is
 * test/reliability/churn.test.ts, whose plain plan and tallies it shares through
 * test/reliability/churnPlan.ts): per transport, N connect/send/receive/close cycles against an
 * echo server of our own, a seeded 30% of them interrupted at a random point (during connect, the
 * TLS handshake, send, receive or close, after 0–4 event-loop turns: sometimes before the
 * operation starts, sometimes in the middle, sometimes too late). Afterwards fds and active
 * handles are back at their baseline, every fiber the cycles started (the cycles, their
 * interrupted phases, the server's handlers) has ended, and the V8 heap (after a forced GC) has
 * not grown with the cycle count. Every echo is checked byte for byte.
 *
 * Effect 4 has no Supervisor: the cycles and their interrupted phases run in FiberSets (whose
 * size is what is still alive), and the server's handlers count themselves in and out.
 *
 * N = 10,000 × RELIABILITY_SCALE for TCP, UNIX stream, UDP and UNIX datagram; TLS (a handshake
 * costs ~1–2 ms of CPU) 1,000 × RELIABILITY_SCALE.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, FiberSet, Logger } from "effect"
import type { Scope } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { ByteStream, Datagram, Listener, Socket } from "../../src/effect4/index.js"
import { makeTestCerts, removeTestCerts, type TestCerts } from "../helpers/certs.js"
import { countResources, fdKinds, gc, handleKinds, MiB, mib } from "../helpers/processResources.js"
import {
  bump,
  INTERRUPTED_FRACTION,
  newStats,
  type Phase,
  type Plan,
  planOf,
  report,
  same,
  scaled,
  SEED,
  type Stats,
  sum
} from "../reliability/churnPlan.js"
import { settleTo } from "./helpers/resources.js"

let certs: TestCerts
beforeAll(() => void (certs = makeTestCerts()))
afterAll(() => removeTestCerts(certs))

const HOST = "127.0.0.1"
/** A heap that grows by more than this over a churn run is a per-cycle leak (≥ ~1 KiB/cycle at N = 10,000). */
const HEAP_GROWTH_LIMIT = 12 * MiB
/** Cycles in flight at once (each is latency-bound: a few event-loop turns). */
const CONCURRENCY = 4
/** How long an echo may take before it counts as lost: a hang guard, not a speed bar. */
const ECHO_TIMEOUT = "10 seconds"
/**
 * A guard, not the plan: on a machine too loaded to finish N cycles in this time, the run stops
 * early (and says so); it must still have done a quarter of them.
 */
const TIME_BUDGET_MS = 45_000

/** Lets the event loop run `n` times (I/O callbacks included). */
const turns = (n: number): Effect.Effect<void> =>
  Effect.gen(function*() {
    for (let i = 0; i < n; i++) yield* Effect.callback<void>((resume) => void setImmediate(() => resume(Effect.void)))
  })

/** RSS and heap after a full GC (a few rounds, with I/O turns between for finalizers). */
const memoryAfterGc = Effect.gen(function*() {
  for (let i = 0; i < 3; i++) {
    gc()
    yield* turns(1)
  }
  const usage = process.memoryUsage()
  return { rss: usage.rss, heapUsed: usage.heapUsed, external: usage.external + usage.arrayBuffers }
})

/** Polls (every 10 ms, at most `withinMs`) until `live` is 0; the last count. */
const settleFibers = (live: Effect.Effect<number>, withinMs: number) =>
  Effect.gen(function*() {
    const deadline = Date.now() + withinMs
    let count = yield* live
    while (count > 0 && Date.now() < deadline) {
      yield* Effect.sleep("10 millis")
      count = yield* live
    }
    return count
  })

class Cut {
  readonly _tag = "Cut"
}
const cut = new Cut()

/**
 * Runs one phase of a cycle. In the planned phase, the operation runs on its own fiber (in
 * `phases`, not started before we yield, as Effect 3's `fork`), which is interrupted after
 * `plan.turns` event-loop turns: if the interrupt lands, the cycle stops there (its scope then
 * closes whatever was opened).
 */
const stage = <A, E, R>(
  phases: FiberSet.FiberSet<unknown, unknown>,
  plan: Plan,
  phase: Phase,
  stats: Stats,
  self: Effect.Effect<A, E, R>
): Effect.Effect<A, E | Cut, R> =>
  plan.phase !== phase ? self : Effect.gen(function*() {
    const fiber = yield* FiberSet.run(phases, self, { startImmediately: false })
    yield* turns(plan.turns)
    yield* Fiber.interrupt(fiber)
    const exit = yield* Fiber.await(fiber)
    if (Exit.isSuccess(exit)) {
      bump(stats.late, phase)
      return exit.value
    }
    if (Cause.hasInterruptsOnly(exit.cause)) {
      bump(stats.landed, phase)
      return yield* Effect.fail(cut)
    }
    return yield* exit
  })

/** Receives exactly `n` bytes (bounded chunk count). */
const receiveExactly = (stream: ByteStream.ByteStream, n: number) =>
  Effect.gen(function*() {
    const chunks: Array<Uint8Array> = []
    let got = 0
    for (let i = 0; i < 100_000 && got < n; i++) {
      const chunk = yield* stream.receive(n - got)
      chunks.push(chunk)
      got += chunk.length
    }
    return Buffer.concat(chunks)
  })

/** The server side: how its handlers ended, and how many are running (each counts itself in and out). */
interface Server {
  readonly ends: Record<string, number>
  liveHandlers: number
}

/** Runs a handler's body counted in `server.liveHandlers`. */
const counted = <A, E, R>(server: Server, self: Effect.Effect<A, E, R>) =>
  Effect.suspend(() => {
    server.liveHandlers++
    return self
  }).pipe(Effect.ensuring(Effect.sync(() => server.liveHandlers--)))

/**
 * The stream echo handler for serve: reads the 4-byte length, echoes that many bytes (header
 * included) and returns, so the server closes first: the TIME_WAIT state stays on the
 * listener's side instead of using up the client's ephemeral ports over 10,000 cycles.
 */
const echoHandler = (server: Server) => (stream: ByteStream.ByteStream) =>
  counted(
    server,
    Effect.gen(function*() {
      const buffered = ByteStream.buffered(stream)
      const header = yield* buffered.receiveExactly(4)
      yield* buffered.send(header)
      let remaining = Buffer.from(header).readUInt32BE(0) - 4
      for (let i = 0; i < 1_000_000 && remaining > 0; i++) {
        const chunk = yield* buffered.receive(Math.min(remaining, 65536))
        remaining -= chunk.length
        yield* buffered.send(chunk)
      }
      bump(server.ends, "echoed")
    }).pipe(Effect.catch((error) => Effect.sync(() => bump(server.ends, error._tag))))
  )

/** Counts log entries at warning level and above (serve logs handler failures at error level). */
const countingLogger = () => {
  const counts = { warnings: 0, errors: 0 }
  const firstErrors: Array<string> = []
  const logger = Logger.make(({ cause, logLevel, message }) => {
    if (logLevel === "Error" || logLevel === "Fatal") {
      counts.errors++
      if (firstErrors.length < 3) firstErrors.push(`${String(message)} ${Cause.pretty(cause)}`)
    } else if (logLevel === "Warn") counts.warnings++
  })
  return { counts, firstErrors, layer: Logger.layer([logger]) }
}

type Cycle = (phases: FiberSet.FiberSet<unknown, unknown>, plan: Plan, stats: Stats) => Effect.Effect<
  void,
  unknown,
  Scope.Scope
>

interface Transport {
  readonly name: string
  readonly cycles: number
  /** The cycle count its time budget is for. */
  readonly nominal: number
  readonly phases: ReadonlyArray<Phase>
  readonly maxPayload: number
  /** Starts the server (in the test's scope); returns one client cycle. */
  readonly setup: (server: Server) => Effect.Effect<Cycle, unknown, Scope.Scope>
}

/** The client cycle over a byte stream: connect, (handshake), send, receive the echo, close. */
const streamCycle = <E1, E2>(
  connect: Effect.Effect<ByteStream.ByteStream, E1, Scope.Scope>,
  handshake?: (stream: ByteStream.ByteStream) => Effect.Effect<ByteStream.ByteStream, E2, Scope.Scope>
): Cycle =>
(phases, plan, stats) =>
  Effect.gen(function*() {
    let stream = yield* stage(phases, plan, "connect", stats, connect)
    if (handshake) stream = yield* stage(phases, plan, "handshake", stats, handshake(stream))
    yield* stage(phases, plan, "send", stats, stream.send(plan.payload))
    const echo = yield* stage(
      phases,
      plan,
      "receive",
      stats,
      Effect.timeout(receiveExactly(stream, plan.payload.length), ECHO_TIMEOUT)
    )
    if (!same(echo, plan.payload)) stats.mismatches++
    yield* stage(phases, plan, "close", stats, stream.close)
    stats.completed++
  })

/** The client cycle over a connected datagram socket: create (connect), send, receive the echo, close. */
const datagramCycle =
  <E>(connect: Effect.Effect<Datagram.ConnectedDatagramSocket, E, Scope.Scope>): Cycle => (phases, plan, stats) =>
    Effect.gen(function*() {
      const socket = yield* stage(phases, plan, "connect", stats, connect)
      yield* stage(phases, plan, "send", stats, socket.send(plan.payload))
      const echo = yield* stage(phases, plan, "receive", stats, Effect.timeout(socket.receive, ECHO_TIMEOUT))
      if (!same(echo, plan.payload)) stats.mismatches++
      yield* stage(phases, plan, "close", stats, socket.close)
      stats.completed++
    })

/** Runs a datagram echo loop on its own fiber for the test's scope (bounded by the test's life). */
const echoLoop = <E extends { readonly _tag: string }>(server: Server, echo: Effect.Effect<void, E>) =>
  Effect.forkScoped(Effect.forever(Effect.catch(echo, (error) => Effect.sync(() => bump(server.ends, error._tag)))))

let unique = 0
const withTempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "es4-churn-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const streamPhases: ReadonlyArray<Phase> = ["connect", "send", "receive", "close"]

const transports: ReadonlyArray<Transport> = [
  {
    name: "TCP",
    cycles: scaled(10_000),
    nominal: 10_000,
    phases: streamPhases,
    maxPayload: 32 * 1024,
    setup: (server) =>
      Effect.gen(function*() {
        const listener = yield* Listener.createTcpListener({ localHost: HOST })
        yield* Effect.forkScoped(listener.serve(echoHandler(server)))
        return streamCycle(Socket.connectTcp(HOST, listener.addresses[0]!.port))
      })
  },
  {
    name: "TLS",
    cycles: scaled(1_000),
    nominal: 1_000,
    phases: ["connect", "handshake", "send", "receive", "close"],
    maxPayload: 32 * 1024,
    setup: (server) =>
      Effect.gen(function*() {
        const listener = yield* Listener.createTcpListener({
          localHost: HOST,
          tls: { cert: certs.server.cert, key: certs.server.key }
        })
        yield* Effect.forkScoped(listener.serve(echoHandler(server)))
        return streamCycle(
          Socket.connectTcp(HOST, listener.addresses[0]!.port),
          (stream) => Socket.wrapTls(stream, { hostname: HOST, ca: certs.ca.cert })
        )
      })
  },
  {
    name: "UNIX stream",
    cycles: scaled(10_000),
    nominal: 10_000,
    phases: streamPhases,
    maxPayload: 32 * 1024,
    setup: (server) =>
      Effect.gen(function*() {
        const at = path.join(yield* withTempDir, `s${++unique}`)
        const listener = yield* Listener.createUnixListener(at)
        yield* Effect.forkScoped(listener.serve(echoHandler(server)))
        return streamCycle(Socket.connectUnix(at))
      })
  },
  {
    name: "UDP",
    cycles: scaled(10_000),
    nominal: 10_000,
    phases: streamPhases,
    maxPayload: 1024,
    setup: (server) =>
      Effect.gen(function*() {
        const socket = yield* Datagram.createUdpSocket({ family: "IPv4", localHost: HOST })
        yield* echoLoop(
          server,
          Effect.flatMap(socket.receive, ([payload, [host, port]]) => socket.sendto(payload, host, port))
        )
        return datagramCycle(Datagram.createConnectedUdpSocket(HOST, socket.attributes.localAddress.port))
      })
  },
  {
    name: "UNIX datagram",
    cycles: scaled(10_000),
    nominal: 10_000,
    phases: streamPhases,
    maxPayload: 1024,
    setup: (server) =>
      Effect.gen(function*() {
        const at = path.join(yield* withTempDir, `d${++unique}`)
        const socket = yield* Datagram.createUnixDatagramSocket({ localPath: at })
        yield* echoLoop(
          server,
          Effect.flatMap(socket.receive, ([payload, sender]) =>
            sender === null
              ? Effect.sync(() => bump(server.ends, "unboundSender"))
              : socket.sendto(payload, sender))
        )
        return datagramCycle(Datagram.createConnectedUnixDatagramSocket(at, { autobind: true }))
      })
  }
]

const tagOf = (error: unknown): string => (error as { _tag?: string })._tag ?? String(error)

describe("leak under churn (Effect 4)", () => {
  transports.forEach((transport, index) => {
    const seed = SEED + index
    const budgetMs = TIME_BUDGET_MS * Math.max(1, transport.cycles / transport.nominal)
    it.live(
      `${transport.name}: ${transport.cycles} connect/send/receive/close cycles, ${
        INTERRUPTED_FRACTION * 100
      }% interrupted at random points, leave no fd, handle, fiber or heap behind`,
      () =>
        Effect.gen(function*() {
          const logs = countingLogger()
          const server: Server = { ends: {}, liveHandlers: 0 }
          const cycleFibers = yield* FiberSet.make<unknown, unknown>()
          const phaseFibers = yield* FiberSet.make<unknown, unknown>()
          const cycle = yield* transport.setup(server).pipe(Effect.provide(logs.layer))
          // Each cycle on its own fiber in `cycleFibers`, in its own scope; awaited before the next starts.
          const runCycle = (plan: Plan, stats: Stats) =>
            FiberSet.run(
              cycleFibers,
              Effect.scoped(cycle(phaseFibers, plan, stats)).pipe(
                Effect.catch((error) =>
                  Effect.sync(() => {
                    const tag = tagOf(error)
                    if (tag === "Cut") return
                    bump(stats.errors, tag)
                    if (tag === "TimeoutError") stats.mismatches++
                  })
                ),
                Effect.ensuring(Effect.sync(() => stats.cycles++))
              )
            ).pipe(
              Effect.flatMap(Fiber.await),
              // A defect (or an interruption from outside) is no typed error, but counts as one.
              Effect.flatMap((exit) =>
                Exit.isSuccess(exit) ? Effect.void : Effect.sync(() => bump(stats.errors, Cause.pretty(exit.cause)))
              )
            )

          // Warm up (lazy loads: the addon, TLS contexts), then take the baseline.
          const warm = newStats()
          for (let i = 0; i < 20; i++) {
            const plan = planOf(i, transport.phases, seed ^ 0xffff, transport.maxPayload)
            yield* runCycle({ ...plan, phase: undefined }, warm)
          }
          expect(warm.errors).toEqual({})
          yield* turns(5)
          const before = countResources()
          const memoryBefore = yield* memoryAfterGc

          const stats = newStats()
          const started = Date.now()
          const deadline = started + budgetMs
          let skipped = 0
          // The first quarter always runs (the churn must be real on a loaded machine); the time
          // budget only cuts the rest, so no assertion here depends on the machine's speed.
          const alwaysRun = transport.cycles / 4
          yield* Effect.forEach(
            Array.from({ length: transport.cycles }, (_, i) => i),
            (i) =>
              i >= alwaysRun && Date.now() > deadline
                ? Effect.sync(() => skipped++)
                : Effect.suspend(() => runCycle(planOf(i, transport.phases, seed, transport.maxPayload), stats)),
            { concurrency: CONCURRENCY, discard: true }
          ).pipe(Effect.provide(logs.layer))
          const elapsed = Date.now() - started

          const liveCycleFibers = yield* settleFibers(FiberSet.size(cycleFibers), 2_000)
          const livePhaseFibers = yield* settleFibers(FiberSet.size(phaseFibers), 2_000)
          const liveHandlers = yield* settleFibers(Effect.sync(() => server.liveHandlers), 1_000)
          const memoryAfter = yield* memoryAfterGc
          const heapGrowth = memoryAfter.heapUsed - memoryBefore.heapUsed
          const settleStarted = Date.now()
          const after = yield* settleTo(before, 2_000)
          report(`churn (Effect 4) ${transport.name}`, {
            fdsBefore: before.fds,
            fdsAfter: after.fds,
            handlesBefore: before.handles,
            handlesAfter: after.handles,
            settledMs: Date.now() - settleStarted,
            seed,
            cycles: stats.cycles,
            completedUninterrupted: stats.completed,
            cutShortByTimeBudget: skipped,
            concurrency: CONCURRENCY,
            elapsedMs: elapsed,
            cyclesPerSecond: Math.round(stats.cycles / (elapsed / 1000)),
            interruptsLanded: stats.landed,
            interruptsLate: stats.late,
            clientErrors: stats.errors,
            mismatches: stats.mismatches,
            serverEnds: server.ends,
            serverWarnings: logs.counts.warnings,
            serverErrorLogs: logs.counts.errors,
            liveCycleFibers,
            livePhaseFibers,
            liveHandlers,
            heapBefore: mib(memoryBefore.heapUsed),
            heapAfter: mib(memoryAfter.heapUsed),
            heapGrowth: mib(heapGrowth),
            rssGrowth: mib(memoryAfter.rss - memoryBefore.rss),
            externalGrowth: mib(memoryAfter.external - memoryBefore.external)
          })
          const detail = after.fds > before.fds || after.handles > before.handles
            ? ` (open fds: ${JSON.stringify(fdKinds())}; handles: ${JSON.stringify(handleKinds())})`
            : ""
          expect(after.fds, `fds back to baseline${detail}`).toBeLessThanOrEqual(before.fds)
          expect(after.handles, `handles back to baseline${detail}`).toBeLessThanOrEqual(before.handles)

          expect(stats.cycles + skipped).toBe(transport.cycles)
          expect(stats.cycles, "the always-run quarter ran").toBeGreaterThanOrEqual(alwaysRun)
          expect(sum(stats.landed), "some interrupts landed").toBeGreaterThan(0)
          expect(stats.errors, "a cycle failed with a typed error").toEqual({})
          expect(stats.mismatches, "lost or mismatched echoes").toBe(0)
          expect(logs.counts.errors, `error logs (defects in serve?): ${logs.firstErrors.join("\n")}`).toBe(0)
          expect(liveCycleFibers).toBe(0)
          expect(livePhaseFibers).toBe(0)
          expect(liveHandlers).toBe(0)
          expect(heapGrowth).toBeLessThan(HEAP_GROWTH_LIMIT)
          // The echo server only ever ends a connection at the client's EOF or reset.
          for (const tag of Object.keys(server.ends)) {
            expect(["echoed", "IncompleteRead", "EndOfStream", "BrokenResourceError"]).toContain(tag)
          }
        }),
      // A hang guard, not a speed bar: three budgets, room for the always-run quarter under load.
      3 * budgetMs + 30_000
    )
  })
})
