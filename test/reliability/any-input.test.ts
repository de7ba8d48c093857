/**
 * No defect from any input (hardening issue, "the class behind them"): fast-check calls every
 * public constructor and operation with arbitrary values for every argument (the scenarios and
 * arbitraries are shared with the Effect 4 edition: test/scenarios/anyInput.ts). Every outcome
 * must be a success or a typed NetError in the error channel: never a defect, never an uncaught
 * exception, never a hang (each case is bounded by a timeout), and no fd left open once its
 * scope has closed.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Option } from "effect"
import type { Scope } from "effect"
import fc from "fast-check"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import * as modules from "../../src/index.js"
import { ByteStream, Datagram, Listener, Socket } from "../../src/index.js"
import {
  type AnyInputCase,
  constructorCases,
  datagramCases,
  judgeFailure,
  streamCases,
  wrapTlsCase
} from "../scenarios/anyInput.js"
import { countResources, expectBackToBaseline, report } from "./resources.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "es-any-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const CASE_TIMEOUT = "3 seconds"

/** What one case did: fine, or a description of what it must never do. */
const verdict = (exit: Exit.Exit<unknown, unknown>): string | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure)) return judgeFailure(failure.value)
  return `a defect: ${Cause.pretty(exit.cause).split("\n").slice(0, 4).join(" | ")}`
}

/** A case's call as an effect of this edition: bounded when it may wait, fed when it receives. */
const toEffect = <T>(
  c: AnyInputCase<T>,
  target: T,
  args: ReadonlyArray<unknown>,
  feed: () => void
): Effect.Effect<unknown, unknown, Scope.Scope> => {
  const called = c.sync
    ? Effect.sync(() => c.call(target, args))
    : Effect.suspend(() => c.call(target, args) as Effect.Effect<unknown, unknown, Scope.Scope>)
  const bounded = c.mayWait ? Effect.timeoutOption(called, "50 millis") : called
  return c.fed ? Effect.zipRight(Effect.sync(feed), Effect.zipRight(Effect.sleep("1 millis"), bounded)) : bounded
}

/** Runs a case's property against `target` (made per input by `targetOf`); returns how many inputs it tried. */
const check = <T>(
  c: AnyInputCase<T>,
  numRuns: number,
  targetOf: Effect.Effect<T, unknown, Scope.Scope>,
  feed: () => void = () => {}
) =>
  Effect.promise(async () => {
    let runs = 0
    await fc.assert(
      fc.asyncProperty(c.args, async (args) => {
        runs++
        const exit = await Effect.runPromiseExit(
          Effect.flatMap(targetOf, (target) => toEffect(c, target, args, feed)).pipe(
            Effect.scoped,
            Effect.timeoutFail({ duration: CASE_TIMEOUT, onTimeout: () => ({ _tag: "CaseTimeout" }) })
          )
        )
        const bad = verdict(exit)
        if (bad !== undefined) throw new Error(`${c.name} gave ${bad}`)
      }),
      { numRuns, endOnFailure: true }
    )
    return runs
  })

/** wrapTls over a fresh in-memory pair per input. */
const memoryTarget = Effect.map(ByteStream.makePair(), ([memory]) => ({ modules, memory }))

describe("no defect from any input", () => {
  it.live(
    "every constructor, with arbitrary arguments: a success or a typed NetError, no hang, no fd left",
    () =>
      Effect.gen(function*() {
        const before = countResources()
        const counts: Record<string, number> = {}
        for (const c of constructorCases(dir)) counts[c.name] = yield* check(c, 250, Effect.succeed(modules))
        const total = Object.values(counts).reduce((a, b) => a + b, 0)
        yield* expectBackToBaseline("any-input constructors", before, "3 seconds", { cases: total, ...counts })
        expect(total).toBeGreaterThan(2000)
      }),
    120_000
  )

  it.live(
    "every stream operation, with arbitrary arguments, on one live TCP stream that keeps working",
    () =>
      Effect.gen(function*() {
        const listener = yield* Listener.createTcpListener({ localHost: "127.0.0.1" })
        const port = (listener.addresses[0] as { port: number }).port
        const peerSocket = yield* Effect.async<net.Socket>((resume) => {
          const server = listener
          void server
          const socket = net.connect({ host: "127.0.0.1", port }, () => resume(Effect.succeed(socket)))
        })
        yield* Effect.addFinalizer(() => Effect.sync(() => peerSocket.destroy()))
        peerSocket.on("data", () => {})
        const stream = yield* listener.accept
        const counts: Record<string, number> = {}
        const target = Effect.succeed({ modules, stream, buffered: ByteStream.buffered(stream) })
        for (const c of streamCases) counts[c.name] = yield* check(c, 250, target, () => peerSocket.write("z"))
        // Still a working stream after everything it was given.
        yield* stream.send("still here")
        const total = Object.values(counts).reduce((a, b) => a + b, 0)
        report("any-input stream operations", { cases: total, ...counts })
        expect(total).toBeGreaterThan(1000)
      }).pipe(Effect.scoped),
    120_000
  )

  it.live(
    "every datagram and UNIX stream operation, with arbitrary arguments, on live sockets",
    () =>
      Effect.gen(function*() {
        const udp = yield* Datagram.createUdpSocket({ localHost: "127.0.0.1" })
        const connected = yield* Datagram.createConnectedUdpSocket("127.0.0.1", udp.attributes.localAddress.port)
        const at = path.join(dir, "ops.sock")
        const listener = yield* Listener.createUnixListener(at)
        const unix = yield* Socket.connectUnix(at)
        const peer = yield* listener.accept
        const counts: Record<string, number> = {}
        for (const c of datagramCases) counts[c.name] = yield* check(c, 200, Effect.succeed({ udp, connected, unix }))
        counts[wrapTlsCase.name] = yield* check(wrapTlsCase, 200, memoryTarget)
        // Both still work after everything they were given.
        yield* connected.send("still here")
        yield* unix.send("still here")
        void peer
        const total = Object.values(counts).reduce((a, b) => a + b, 0)
        report("any-input datagram and UNIX operations", { cases: total, ...counts })
        expect(total).toBeGreaterThan(2000)
      }).pipe(Effect.scoped),
    120_000
  )
})
