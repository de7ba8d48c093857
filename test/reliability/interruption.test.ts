/**
 * Interruption properties (reliability issue, item 3), with fast-check: random programs of
 * send / receive / sendEof / close on a connected pair, each operation possibly interrupted
 * after 0–4 event-loop turns, checked against a model of the byte stream:
 *
 * - bytes arrive in order, exactly once: what the reader received is the concatenation, in
 *   order, of every completed send in full and of a prefix (possibly empty, possibly all) of
 *   every interrupted send — an interrupted send may or may not have delivered its bytes, never
 *   out of order or twice; an interrupted receive delivers nothing and loses nothing (its bytes
 *   come with a later receive);
 * - a receive gives 1..maxBytes bytes; nothing after EndOfStream (which repeats), and
 *   EndOfStream only once the writer has half-closed or closed and every completed send has
 *   been received in full;
 * - failures are only the documented tagged errors, with precedence Closed > Broken >
 *   EndOfStream: a closed reader's receive is ClosedResourceError even with EOF or data
 *   pending, a closed or half-closed writer's send is ClosedResourceError even when the peer
 *   is gone; Broken only when the peer closed; no defects; no operation hangs;
 * - after each program, closing the pair returns fds and handles to what they were.
 *
 * Pairs: the in-memory `ByteStream.makePair`, TCP on loopback and UNIX stream (addon), with the
 * writer being the client or the accepted side at random.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Option } from "effect"
import type { Scope } from "effect"
import * as fc from "effect/FastCheck"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { ByteStream, Listener, Socket } from "../../src/index.js"
import { countResources, prng, report, scaled, SEED, settleTo, turns } from "./resources.js"

const HOST = "127.0.0.1"

// ---------------------------------------------------------------------------------------------
// Programs

type Op =
  /** `bytes` are made from `seed` (a compact counterexample when a property fails). */
  | { readonly op: "send"; readonly size: number; readonly seed: number; readonly interrupt: number | null }
  | { readonly op: "receive"; readonly maxBytes: number; readonly interrupt: number | null }
  | { readonly op: "sendEof" }
  /** A receive left waiting (no data) while another operation runs; then awaited. */
  | {
    readonly op: "receiveDuring"
    readonly maxBytes: number
    readonly during: "send" | "sendEof" | "closeWriter" | "closeReader"
    readonly size: number
    readonly seed: number
  }
  | { readonly op: "closeWriter"; readonly interrupt: number | null }
  | { readonly op: "closeReader"; readonly interrupt: number | null }

interface Program {
  readonly writerIsClient: boolean
  readonly ops: ReadonlyArray<Op>
}

const interruptArb = fc.option(fc.nat(4), { nil: null, freq: 2 })
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant("send" as const),
      size: fc.integer({ min: 1, max: 4096 }),
      seed: fc.nat(),
      interrupt: interruptArb
    })
  },
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant("receive" as const),
      maxBytes: fc.integer({ min: 1, max: 8192 }),
      interrupt: interruptArb
    })
  },
  { weight: 1, arbitrary: fc.constant({ op: "sendEof" as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("receiveDuring" as const),
      maxBytes: fc.integer({ min: 1, max: 8192 }),
      during: fc.constantFrom("send" as const, "sendEof" as const, "closeWriter" as const, "closeReader" as const),
      size: fc.integer({ min: 1, max: 4096 }),
      seed: fc.nat()
    })
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("closeWriter" as const), interrupt: interruptArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("closeReader" as const), interrupt: interruptArb }) }
)
const programArb: fc.Arbitrary<Program> = fc.record({
  writerIsClient: fc.boolean(),
  ops: fc.array(opArb, { minLength: 1, maxLength: 25, size: "max" })
})

const bytesOf = (size: number, seed: number): Uint8Array => {
  const random = prng(seed)
  return Uint8Array.from({ length: size }, () => random.int(256))
}

// ---------------------------------------------------------------------------------------------
// The model's check of what was received

type Delivery = "all" | "prefix" | "none"

interface SendRecord {
  readonly bytes: Uint8Array
  /** "all": completed, so delivered in full; "prefix": interrupted or failed, any prefix. */
  delivery: Delivery
}

/**
 * Whether `received` is the in-order concatenation of each send's admissible delivery. With
 * `complete`, every completed send must be there in full (the reader reached EndOfStream);
 * without, `received` may stop anywhere (the reader closed early).
 */
const admissible = (received: Uint8Array, sends: ReadonlyArray<SendRecord>, complete: boolean): boolean => {
  const failed = new Set<number>()
  const key = (pos: number, i: number) => i * (received.length + 1) + pos
  const go = (pos: number, i: number): boolean => {
    if (pos === received.length) return !complete || sends.slice(i).every((s) => s.delivery !== "all")
    if (i === sends.length) return false
    if (failed.has(key(pos, i))) return false
    const send = sends[i]!
    let common = 0
    const limit = Math.min(send.bytes.length, received.length - pos)
    while (common < limit && received[pos + common] === send.bytes[common]) common++
    let ok = false
    if (send.delivery === "none") ok = go(pos, i + 1)
    else if (send.delivery === "all") {
      ok = common === send.bytes.length ? go(pos + common, i + 1) : !complete && pos + common === received.length
    } else {
      for (let p = common; p >= 0 && !ok; p--) ok = go(pos + p, i + 1)
    }
    if (!ok) failed.add(key(pos, i))
    return ok
  }
  return go(0, 0)
}

// ---------------------------------------------------------------------------------------------
// Running a program

interface Pair {
  readonly writer: ByteStream.ByteStream
  readonly reader: ByteStream.ByteStream
}

interface Stats {
  runs: number
  ops: number
  readonly landed: Record<string, number>
  readonly late: Record<string, number>
  readonly errors: Record<string, number>
  bytesDelivered: number
}

const newStats = (): Stats => ({ runs: 0, ops: 0, landed: {}, late: {}, errors: {}, bytesDelivered: 0 })
const bump = (record: Record<string, number>, key: string) => void (record[key] = (record[key] ?? 0) + 1)

const tagOf = (exit: Exit.Exit<unknown, { readonly _tag: string }>): string => {
  if (Exit.isSuccess(exit)) return "Success"
  if (Cause.isInterruptedOnly(exit.cause)) return "Interrupted"
  const failure = Cause.failureOption(exit.cause)
  return Option.isSome(failure) ? failure.value._tag : `Defect: ${Cause.pretty(exit.cause)}`
}

/** Runs `self` on a fiber: interrupted after `interrupt` turns, or awaited (bounded) if null. */
const runOp = <A, E extends { readonly _tag: string }>(
  self: Effect.Effect<A, E>,
  interrupt: number | null,
  stats: Stats,
  name: string
): Effect.Effect<Exit.Exit<A, E> | "hung"> =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(self)
    if (interrupt === null) {
      const exit = yield* Fiber.await(fiber).pipe(Effect.timeout("3 seconds"), Effect.option)
      if (Option.isNone(exit)) {
        yield* Fiber.interrupt(fiber)
        return "hung" as const
      }
      return exit.value
    }
    yield* turns(interrupt)
    const exit = yield* Fiber.interrupt(fiber)
    bump(Exit.isInterrupted(exit) ? stats.landed : stats.late, name)
    return exit
  })

/** Waits (bounded) until `fiber` is parked in an asynchronous wait (true) or done (false). */
const parkedOrDone = <A, E>(fiber: Fiber.RuntimeFiber<A, E>): Effect.Effect<boolean> =>
  Effect.gen(function*() {
    for (let i = 0; i < 200; i++) {
      const status = yield* Fiber.status(fiber)
      if (status._tag === "Done") return false
      if (status._tag === "Suspended") return true
      yield* turns(1)
    }
    return yield* Effect.dieMessage("a receive neither completed nor parked within 200 event-loop turns")
  })

const runProgram = (
  program: Program,
  makePair: (writerIsClient: boolean) => Effect.Effect<Pair, unknown, Scope.Scope>,
  stats: Stats
) =>
  Effect.gen(function*() {
    const { reader, writer } = yield* makePair(program.writerIsClient)
    const violations: Array<string> = []
    const sends: Array<SendRecord> = []
    let received = new Uint8Array(0)
    let readerClosed = false
    let writerClosed = false
    let eofSent = false
    let eofSeen = false
    let writerBroken = false
    /** sendEof failed (BrokenResourceError, peer gone): sends may then report Closed or Broken. */
    let eofFailed = false
    let completedBytes = 0
    const violate = (step: number, what: string) => violations.push(`step ${step}: ${what}`)

    const onReceive = (
      step: number,
      exit: Exit.Exit<Uint8Array, { readonly _tag: string }> | "hung",
      maxBytes: number
    ) => {
      if (exit === "hung") return violate(step, "receive hung although the model says it must complete")
      const tag = tagOf(exit)
      if (tag !== "Success" && tag !== "Interrupted") bump(stats.errors, `receive:${tag}`)
      if (readerClosed) {
        if (tag !== "ClosedResourceError" && tag !== "Interrupted") {
          violate(step, `receive on a closed reader gave ${tag}, not ClosedResourceError`)
        }
        return
      }
      switch (tag) {
        case "Interrupted":
          return
        case "Success": {
          const chunk = (exit as Exit.Success<Uint8Array, never>).value
          if (chunk.length < 1 || chunk.length > maxBytes) {
            violate(step, `receive(${maxBytes}) gave ${chunk.length} bytes`)
          }
          if (eofSeen) {
            violate(step, `${chunk.length} bytes after EndOfStream`)
          }
          const next = new Uint8Array(received.length + chunk.length)
          next.set(received)
          next.set(chunk, received.length)
          received = next
          return
        }
        case "EndOfStream":
          if (!eofSent && !writerClosed) violate(step, "EndOfStream although the writer neither half-closed nor closed")
          if (!admissible(received, sends, true)) {
            violate(step, `EndOfStream before every completed send was received (${received.length} bytes received)`)
          }
          eofSeen = true
          return
        default:
          violate(step, `receive failed with ${tag}`)
      }
    }

    const onSend = (step: number, record: SendRecord, exit: Exit.Exit<void, { readonly _tag: string }> | "hung") => {
      if (exit === "hung") {
        return violate(step, "send hung (nothing should block at these sizes)")
      }
      const tag = tagOf(exit)
      if (tag !== "Success" && tag !== "Interrupted") bump(stats.errors, `send:${tag}`)
      if (writerClosed || eofSent) {
        record.delivery = "none"
        if (tag !== "ClosedResourceError" && tag !== "Interrupted") {
          violate(step, `send after close/sendEof gave ${tag}, not ClosedResourceError`)
        }
        return
      }
      switch (tag) {
        case "Success":
          if (writerBroken) violate(step, "a send succeeded after an earlier one failed with BrokenResourceError")
          record.delivery = "all"
          completedBytes += record.bytes.length
          return
        case "Interrupted":
          record.delivery = "prefix"
          return
        case "ClosedResourceError":
          record.delivery = "none"
          if (!eofFailed) violate(step, "send failed with ClosedResourceError although this side is open")
          return
        case "BrokenResourceError":
          record.delivery = "prefix"
          writerBroken = true
          if (!readerClosed) violate(step, "send failed with BrokenResourceError while the peer is open")
          return
        default:
          record.delivery = "prefix"
          violate(step, `send failed with ${tag}`)
      }
    }

    /** A receive must complete when data, EOF or a closed state is certain. */
    const receiveMustComplete = () =>
      readerClosed || eofSeen || eofSent || writerClosed || completedBytes > received.length

    const runStep = (step: number, op: Op): Effect.Effect<void> =>
      Effect.gen(function*() {
        switch (op.op) {
          case "send": {
            const bytes = bytesOf(op.size, op.seed)
            const record: SendRecord = { bytes, delivery: "prefix" }
            sends.push(record)
            onSend(step, record, yield* runOp(writer.send(bytes), op.interrupt, stats, "send"))
            break
          }
          case "receive": {
            const interrupt = op.interrupt === null && !receiveMustComplete() ? 2 : op.interrupt
            onReceive(step, yield* runOp(reader.receive(op.maxBytes), interrupt, stats, "receive"), op.maxBytes)
            break
          }
          case "sendEof": {
            const exit = yield* runOp(writer.sendEof, null, stats, "sendEof")
            const tag = exit === "hung" ? "hung" : tagOf(exit)
            if (writerClosed) {
              // Socket streams fail with ClosedResourceError; the in-memory (stapled) stream
              // treats it as one more idempotent close. Either, but nothing else.
              if (tag !== "ClosedResourceError" && tag !== "Success") violate(step, `sendEof after close gave ${tag}`)
              bump(stats.errors, `sendEofAfterClose:${tag}`)
            } else if (tag === "Success") {
              eofSent = true
            } else if (tag === "BrokenResourceError" && readerClosed) {
              eofFailed = true
              writerBroken = true
            } else violate(step, `sendEof gave ${tag}`)
            break
          }
          case "closeWriter":
          case "closeReader": {
            const stream = op.op === "closeWriter" ? writer : reader
            const exit = yield* runOp(stream.close, op.interrupt, stats, "close")
            if (exit === "hung") violate(step, "close hung")
            // An interrupted close may not have started: closing again completes it (idempotent).
            const again = yield* runOp(stream.close, null, stats, "close")
            if (again === "hung" || !Exit.isSuccess(again)) {
              violate(step, `close after an interrupted close gave ${again === "hung" ? "hung" : tagOf(again)}`)
            }
            if (op.op === "closeWriter") {
              writerClosed = true
            } else readerClosed = true
            break
          }
          case "receiveDuring": {
            const fiber = yield* Effect.fork(reader.receive(op.maxBytes))
            const parked = yield* parkedOrDone(fiber)
            const during: Op = op.during === "send"
              ? { op: "send", size: op.size, seed: op.seed, interrupt: null }
              : op.during === "sendEof"
              ? { op: "sendEof" }
              : { op: op.during, interrupt: null }
            if (!parked) {
              // It completed at once (data or a final state was there): an ordinary receive.
              onReceive(step, yield* Fiber.await(fiber), op.maxBytes)
              yield* runStep(step, during)
              break
            }
            bump(stats.landed, `parkedReceiveWoken:${op.during}`)
            yield* runStep(step, during)
            // Whatever ran, the waiting receive must now complete: with the data, EndOfStream or
            // ClosedResourceError.
            const exit = yield* Fiber.await(fiber).pipe(Effect.timeout("3 seconds"), Effect.option)
            if (Option.isNone(exit)) yield* Fiber.interrupt(fiber)
            onReceive(step, Option.isNone(exit) ? "hung" : exit.value, op.maxBytes)
            break
          }
        }
      })

    for (const [step, op] of program.ops.entries()) {
      stats.ops++
      yield* runStep(step, op)
    }

    // Drain: half-close the writer, read to EndOfStream; everything completed must be there.
    if (!readerClosed) {
      if (!writerClosed && !eofSent) {
        const exit = yield* runOp(writer.sendEof, null, stats, "sendEof")
        if (exit === "hung" || !Exit.isSuccess(exit)) {
          violate(-1, `final sendEof gave ${exit === "hung" ? "hung" : tagOf(exit)}`)
        }
        eofSent = true
      }
      for (let i = 0; i < 10_000 && !eofSeen && violations.length === 0; i++) {
        onReceive(-1, yield* runOp(reader.receive(65536), null, stats, "receive"), 65536)
      }
      if (!eofSeen && violations.length === 0) {
        violate(-1, "no EndOfStream after 10,000 receives")
      }
      // EndOfStream repeats.
      const again = yield* runOp(reader.receive(), null, stats, "receive")
      if (again === "hung" || tagOf(again) !== "EndOfStream") {
        violate(-1, `receive after EndOfStream gave ${again === "hung" ? "hung" : tagOf(again)}`)
      }
    } else if (!admissible(received, sends, false)) {
      violate(-1, `the ${received.length} bytes received are not an in-order prefix of what was sent`)
    }
    stats.bytesDelivered += received.length
    stats.runs++
    return violations
  })

/** One property run: the pair lives in its own scope; afterwards fds and handles are back. */
const property =
  (makePair: (writerIsClient: boolean) => Effect.Effect<Pair, unknown, Scope.Scope>, stats: Stats) =>
  (program: Program): Promise<void> =>
    Effect.runPromise(
      Effect.gen(function*() {
        const before = countResources()
        const violations = yield* Effect.scoped(runProgram(program, makePair, stats))
        const after = yield* settleTo(before, "2 seconds")
        if (after.fds > before.fds || after.handles > before.handles) {
          violations.push(`leak: fds ${before.fds} -> ${after.fds}, handles ${before.handles} -> ${after.handles}`)
        }
        if (violations.length > 0) return yield* Effect.die(new Error(violations.join("\n")))
      })
    )

// ---------------------------------------------------------------------------------------------
// Pairs

const memoryPair = () => Effect.map(ByteStream.makePair({ bufferSize: 1024 }), ([a, b]) => ({ writer: a, reader: b }))

const socketPair = <A extends ByteStream.ByteStream>(
  listen: Effect.Effect<{ readonly accept: Effect.Effect<A, unknown, Scope.Scope> }, unknown, Scope.Scope>,
  connect: (listener: unknown) => Effect.Effect<ByteStream.ByteStream, unknown, Scope.Scope>
) =>
(writerIsClient: boolean) =>
  Effect.gen(function*() {
    const listener = yield* listen
    const client = yield* connect(listener)
    const server = yield* listener.accept
    return writerIsClient ? { writer: client, reader: server } : { writer: server, reader: client }
  })

const tcpPair = socketPair(
  Listener.createTcpListener({ localHost: HOST }),
  (listener) => {
    const address = (listener as Listener.Listener).addresses[0]!
    return Socket.connectTcp(HOST, address._tag === "InetAddress" ? address.port : 0)
  }
)

let dir: string | undefined
let unique = 0
const unixPath = () => {
  dir ??= fs.mkdtempSync(path.join(os.tmpdir(), "es-prop-"))
  return path.join(dir, `p${++unique}`)
}
afterAll(() => {
  if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true })
})
const unixPair = (writerIsClient: boolean) =>
  Effect.gen(function*() {
    const at = unixPath()
    const pair = yield* socketPair(Listener.createUnixListener(at), () => Socket.connectUnix(at))(writerIsClient)
    yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(at, { force: true })))
    return pair
  })

// ---------------------------------------------------------------------------------------------

describe("the model's checker", () => {
  const s = (text: string, delivery: Delivery): SendRecord => ({ bytes: Buffer.from(text), delivery })
  it("accepts prefixes of interrupted sends and rejects reordering, duplication and loss", () => {
    expect(admissible(Buffer.from("abcXYZ"), [s("abc", "all"), s("XYZ", "all")], true)).toBe(true)
    expect(admissible(Buffer.from("abXYZ"), [s("abc", "prefix"), s("XYZ", "all")], true)).toBe(true)
    expect(admissible(Buffer.from("XYZ"), [s("abc", "prefix"), s("XYZ", "all")], true)).toBe(true)
    expect(admissible(Buffer.from("XYZabc"), [s("abc", "all"), s("XYZ", "all")], true)).toBe(false)
    expect(admissible(Buffer.from("abcabc"), [s("abc", "all")], true)).toBe(false)
    expect(admissible(Buffer.from("ab"), [s("abc", "all")], true)).toBe(false)
    expect(admissible(Buffer.from("ab"), [s("abc", "all")], false)).toBe(true)
    expect(admissible(Buffer.from("abcX"), [s("abc", "all"), s("XYZ", "none")], false)).toBe(false)
  })
})

describe("interruption properties", () => {
  const cases = [
    { name: "in-memory ByteStream.makePair", makePair: memoryPair, numRuns: scaled(100) },
    { name: "TCP loopback", makePair: tcpPair, numRuns: scaled(100) },
    { name: "UNIX stream", makePair: unixPair, numRuns: scaled(100) }
  ] as const

  cases.forEach(({ makePair, name, numRuns }, index) => {
    it.live(
      `${name}: ${numRuns} random programs of send/receive/sendEof/close with interrupts agree with the model`,
      () =>
        Effect.gen(function*() {
          const stats = newStats()
          const seed = SEED + 100 + index
          const started = Date.now()
          yield* Effect.promise(() =>
            fc.assert(fc.asyncProperty(programArb, property(makePair, stats)), { numRuns, seed })
          )
          report(`interruption ${name}`, {
            seed,
            runs: stats.runs,
            ops: stats.ops,
            interruptsLanded: stats.landed,
            interruptsLate: stats.late,
            typedErrors: stats.errors,
            bytesDelivered: stats.bytesDelivered,
            elapsedMs: Date.now() - started
          })
          expect(stats.runs).toBe(numRuns)
          // The programs did exercise interruption of both directions.
          expect(stats.landed["receive"] ?? 0).toBeGreaterThan(0)
          expect(stats.landed["send"] ?? 0).toBeGreaterThan(0)
        }),
      120_000
    )
  })
})
