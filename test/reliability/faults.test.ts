/**
 * Faults (reliability issue, item 6):
 * - peer reset (`resetAndDestroy()`, RST): a pending and a later receive, send and sendEof fail
 *   with BrokenResourceError (reason ConnectionReset, the OS error as cause) — TCP client and
 *   accepted side, TLS over TCP; UNIX stream: a peer closing with unread data resets us too;
 * - peer half-close: every byte, then EndOfStream (repeatable), and we can still send;
 * - EPIPE: sends to a peer that is gone fail with BrokenResourceError (BrokenPipe or
 *   ConnectionReset, with the OS error), also a send blocked at the time;
 * - accept under EMFILE: a child process with a 64-fd limit serves with our Listener while a
 *   burst of clients exhausts its fds: serve logs TooManyOpenFiles and backs off (log lines and
 *   the child's CPU time are measured while new clients keep knocking), and once fds free up
 *   it serves a new client;
 * - connect to a black hole (loopback only): a python3 listener that never accepts, its backlog
 *   filled, drops further SYNs: connectTcp only ends through the user's Effect.timeout, and
 *   that cleans up; the same for a TLS handshake nobody answers and a UNIX listener whose
 *   backlog is full.
 * Every operation's fds and handles are checked to return to their baseline.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Option, Queue } from "effect"
import type { Scope } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import * as tls from "node:tls"
import { fileURLToPath } from "node:url"
import type { ByteStream } from "../../src/ByteStream.js"
import { Listener, Socket } from "../../src/index.js"
import { useTestCerts } from "../helpers/certs.js"
import { spawnPython } from "../helpers/python.js"
import { awaitSuspended, rawServer } from "../helpers/rawPeers.js"
import {
  connectRawPathUnscoped,
  connectRawUnscoped,
  countResources,
  expectBackToBaseline,
  RawPeer,
  report,
  turns
} from "./resources.js"

const certs = useTestCerts()
const HOST = "127.0.0.1"
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

let dir: string | undefined
let unique = 0
const tempPath = () => {
  dir ??= fs.mkdtempSync(path.join(os.tmpdir(), "es-faults-"))
  return path.join(dir, `f${++unique}`)
}
const removeDir = Effect.sync(() => {
  if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true })
  dir = undefined
})

const tagOf = (exit: Exit.Exit<unknown, { readonly _tag: string }>): string =>
  Exit.isSuccess(exit) ? "Success" : Option.match(Exit.causeOption(exit), {
    onNone: () => "?",
    onSome: (cause) => (cause._tag === "Fail" ? cause.error._tag : cause._tag)
  })

interface Broken {
  readonly _tag: string
  readonly reason?: string
  readonly cause?: { readonly code?: string }
}

/** What `self` ended with (bounded in time): its typed failure, or a stand-in naming the outcome. */
const failureOf = <A, E>(self: Effect.Effect<A, E>, what: string): Effect.Effect<Broken> =>
  Effect.map(
    Effect.exit(Effect.timeoutFail(self, { duration: "3 seconds", onTimeout: () => ({ _tag: `hung (${what})` }) })),
    (exit): Broken => {
      if (Exit.isSuccess(exit)) return { _tag: `Success (${what})` }
      const failure = Option.getOrUndefined(Exit.causeOption(exit))
      return failure?._tag === "Fail" ? (failure.error as Broken) : { _tag: `${String(failure)} (${what})` }
    }
  )

// ---------------------------------------------------------------------------------------------

describe("faults: peer reset", () => {
  it.scopedLive("TCP client: a peer's RST fails a pending receive, a later receive, send and sendEof with BrokenResourceError(ConnectionReset)", () =>
    Effect.gen(function*() {
      const server = yield* rawServer(HOST)
      const baseline = countResources()
      const figures = yield* Effect.scoped(Effect.gen(function*() {
        const stream = yield* Socket.connectTcp(HOST, server.port)
        const peer = yield* server.accept
        const pending = yield* Effect.fork(stream.receive())
        yield* awaitSuspended(pending)
        peer.resetAndDestroy()
        const first = yield* failureOf(Fiber.join(pending), "pending receive")
        const again = yield* failureOf(stream.receive(), "receive after reset")
        const send = yield* failureOf(stream.send("x"), "send after reset")
        const eof = yield* failureOf(stream.sendEof, "sendEof after reset")
        yield* stream.close
        const afterClose = yield* failureOf(stream.receive(), "receive after close")
        return { first, again, send, eof, afterClose }
      }))
      yield* expectBackToBaseline("faults reset TCP client", baseline, "2 seconds", {
        pendingReceive: `${figures.first._tag}(${figures.first.reason}, ${figures.first.cause?.code})`,
        laterReceive: figures.again._tag,
        send: `${figures.send._tag}(${figures.send.reason})`,
        sendEof: figures.eof._tag,
        receiveAfterClose: figures.afterClose._tag
      })
      expect(figures.first._tag).toBe("BrokenResourceError")
      expect(figures.first.reason).toBe("ConnectionReset")
      expect(figures.first.cause?.code).toBe("ECONNRESET")
      expect(figures.again._tag).toBe("BrokenResourceError")
      expect(figures.send._tag).toBe("BrokenResourceError")
      expect(figures.eof._tag).toBe("BrokenResourceError")
      // Closed > Broken: once we closed it, the stream reports that.
      expect(figures.afterClose._tag).toBe("ClosedResourceError")
    }))

  it.scopedLive("TCP accepted side: a client's RST fails the handler's receive with BrokenResourceError(ConnectionReset)", () =>
    Effect.gen(function*() {
      const listener = yield* Listener.createTcpListener({ localHost: HOST })
      const address = listener.addresses[0]!
      const port = address._tag === "InetAddress" ? address.port : 0
      const baseline = countResources()
      const failure = yield* Effect.scoped(Effect.gen(function*() {
        const client = yield* Effect.acquireRelease(
          connectRawUnscoped(HOST, port),
          (peer) => Effect.sync(() => peer.socket.destroy())
        )
        const stream = yield* listener.accept
        const pending = yield* Effect.fork(stream.receive())
        yield* awaitSuspended(pending)
        client.socket.resetAndDestroy()
        return yield* failureOf(Fiber.join(pending), "pending receive")
      }))
      yield* expectBackToBaseline("faults reset TCP accepted", baseline, "2 seconds", {
        receive: `${failure._tag}(${failure.reason})`
      })
      expect(failure._tag).toBe("BrokenResourceError")
      expect(failure.reason).toBe("ConnectionReset")
    }))

  it.scopedLive("TLS: an RST under the TLS session fails receive and send with BrokenResourceError", () =>
    Effect.gen(function*() {
      // node:tls serves behind a plain TCP relay; resetting the relay's client-facing socket
      // (a plain net.Socket) sends a real RST under the TLS session.
      const tlsServer = yield* Effect.acquireRelease(
        Effect.async<tls.Server>((resume) => {
          const server = tls.createServer(
            { cert: certs().server.cert, key: certs().server.key },
            (socket) => void socket.on("error", () => {})
          )
          server.listen({ host: HOST, port: 0 }, () => resume(Effect.succeed(server)))
        }),
        (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
      )
      const facing = yield* Queue.unbounded<net.Socket>()
      const relays = new Set<net.Socket>()
      const relay = yield* Effect.acquireRelease(
        Effect.async<net.Server>((resume) => {
          const server = net.createServer((client) => {
            const upstream = net.connect({ host: HOST, port: (tlsServer.address() as net.AddressInfo).port })
            for (const s of [client, upstream]) {
              relays.add(s)
              s.on("error", () => {})
              s.on("close", () => {
                client.destroy()
                upstream.destroy()
              })
            }
            client.pipe(upstream)
            upstream.pipe(client)
            Queue.unsafeOffer(facing, client)
          })
          server.listen({ host: HOST, port: 0 }, () => resume(Effect.succeed(server)))
        }),
        (server) =>
          Effect.async<void>((resume) => {
            relays.forEach((s) => s.destroy())
            server.close(() => resume(Effect.void))
          })
      )
      const port = (relay.address() as net.AddressInfo).port
      yield* turns(2)
      const baseline = countResources()
      const figures = yield* Effect.scoped(Effect.gen(function*() {
        const stream = yield* Socket.connectTcp(HOST, port, { tls: { ca: certs().ca.cert, hostname: HOST } })
        const socket = yield* Queue.take(facing)
        // Let the server's post-handshake messages (TLS 1.3 session tickets) arrive first.
        yield* Effect.sleep("50 millis")
        const pending = yield* Effect.fork(stream.receive())
        yield* awaitSuspended(pending)
        socket.resetAndDestroy()
        const receive = yield* failureOf(Fiber.join(pending), "pending receive")
        const send = yield* failureOf(stream.send("x"), "TLS send after reset")
        return { receive, send }
      }))
      yield* Effect.sleep("50 millis")
      yield* expectBackToBaseline("faults reset TLS", baseline, "2 seconds", {
        receive: `${figures.receive._tag}(${figures.receive.reason})`,
        send: `${figures.send._tag}(${figures.send.reason})`
      })
      expect(figures.receive._tag).toBe("BrokenResourceError")
      expect(figures.receive.reason).toBe("ConnectionReset")
      expect(figures.send._tag).toBe("BrokenResourceError")
    }))

  it.scopedLive("UNIX stream: a peer that closes with our data unread resets us: BrokenResourceError(ConnectionReset)", () =>
    Effect.gen(function*() {
      yield* Effect.addFinalizer(() => removeDir)
      const at = tempPath()
      const listener = yield* Listener.createUnixListener(at)
      const baseline = countResources()
      const figures = yield* Effect.scoped(Effect.gen(function*() {
        const client = yield* Socket.connectUnix(at)
        const accepted = yield* listener.accept
        yield* client.send("unread by the peer")
        const pending = yield* Effect.fork(client.receive())
        yield* awaitSuspended(pending)
        yield* accepted.close
        const receive = yield* failureOf(Fiber.join(pending), "pending receive")
        const send = yield* failureOf(client.send("x"), "UNIX send after reset")
        return { receive, send }
      }))
      yield* expectBackToBaseline("faults reset UNIX", baseline, "2 seconds", {
        receive: `${figures.receive._tag}(${figures.receive.reason})`,
        send: `${figures.send._tag}(${figures.send.reason})`
      })
      expect(figures.receive._tag).toBe("BrokenResourceError")
      expect(figures.receive.reason).toBe("ConnectionReset")
      expect(figures.send._tag).toBe("BrokenResourceError")
    }))
})

describe("faults: peer half-close", () => {
  const cases: ReadonlyArray<{
    readonly name: string
    readonly setup: Effect.Effect<{ readonly stream: ByteStream; readonly peer: net.Socket }, unknown, Scope.Scope>
  }> = [
    {
      name: "TCP",
      setup: Effect.gen(function*() {
        const server = yield* rawServer(HOST)
        const stream = yield* Socket.connectTcp(HOST, server.port)
        return { stream, peer: yield* server.accept }
      })
    },
    {
      name: "UNIX stream",
      setup: Effect.gen(function*() {
        yield* Effect.addFinalizer(() => removeDir)
        const at = tempPath()
        const accepted = yield* Queue.unbounded<net.Socket>()
        yield* Effect.acquireRelease(
          Effect.async<net.Server>((resume) => {
            const server = net.createServer(
              { allowHalfOpen: true, pauseOnConnect: true },
              (socket) => Queue.unsafeOffer(accepted, socket)
            )
            server.listen({ path: at }, () => resume(Effect.succeed(server)))
          }),
          (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
        )
        const stream = yield* Socket.connectUnix(at)
        const peer = yield* Queue.take(accepted)
        yield* Effect.addFinalizer(() => Effect.sync(() => peer.destroy()))
        return { stream, peer }
      })
    }
  ]
  for (const { name, setup } of cases) {
    it.scopedLive(`${name}: 256 KiB then FIN from the peer: every byte, then EndOfStream (twice); we can still send and the peer gets it`, () =>
      Effect.gen(function*() {
        const { peer, stream } = yield* setup
        const data = Buffer.alloc(256 * 1024)
        for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff
        peer.end(data)
        const chunks: Array<Uint8Array> = []
        let end: string | undefined
        for (let i = 0; i < 10_000 && end === undefined; i++) {
          const exit = yield* Effect.exit(stream.receive(4096).pipe(Effect.timeout("3 seconds")))
          if (Exit.isSuccess(exit)) chunks.push(exit.value)
          else end = tagOf(exit)
        }
        const again = tagOf(yield* Effect.exit(stream.receive()))
        const replyReceived = yield* Effect.async<Buffer>((resume) => {
          const got: Array<Buffer> = []
          peer.on("data", (chunk: Buffer) => got.push(chunk))
          peer.on("end", () => resume(Effect.succeed(Buffer.concat(got))))
          peer.resume()
        }).pipe(
          Effect.fork,
          Effect.tap(() => Effect.zipRight(stream.send("still here"), stream.sendEof)),
          Effect.flatMap((fiber) => Fiber.join(fiber).pipe(Effect.timeout("3 seconds")))
        )
        const received = Buffer.concat(chunks)
        report(`faults half-close ${name}`, {
          bytesSent: data.length,
          bytesReceived: received.length,
          end,
          receiveAfterEnd: again,
          replyAfterPeerFin: JSON.stringify(replyReceived.toString())
        })
        expect(received.equals(data)).toBe(true)
        expect(end).toBe("EndOfStream")
        expect(again).toBe("EndOfStream")
        expect(replyReceived.toString()).toBe("still here")
      }))
  }
})

describe("faults: EPIPE", () => {
  it.scopedLive("TCP: sends to a peer that closed fail with BrokenResourceError (BrokenPipe or ConnectionReset) and the OS error", () =>
    Effect.gen(function*() {
      const server = yield* rawServer(HOST)
      const baseline = countResources()
      const figures = yield* Effect.scoped(Effect.gen(function*() {
        const stream = yield* Socket.connectTcp(HOST, server.port)
        const peer = yield* server.accept
        peer.destroy()
        yield* turns(5)
        const chunk = new Uint8Array(64 * 1024)
        let okSends = 0
        const started = Date.now()
        for (let i = 0; i < 1000 && Date.now() - started < 3000; i++) {
          const exit = yield* Effect.exit(stream.send(chunk).pipe(Effect.timeout("1 second")))
          if (Exit.isSuccess(exit)) {
            okSends++
            continue
          }
          const failure = Option.getOrUndefined(Exit.causeOption(exit))
          return {
            okSends,
            failure: failure?._tag === "Fail" ? (failure.error as Broken) : undefined,
            raw: String(failure)
          }
        }
        return { okSends, failure: undefined, raw: "no failure" }
      }))
      yield* expectBackToBaseline("faults EPIPE TCP", baseline, "2 seconds", {
        sendsBeforeFailure: figures.okSends,
        failure: `${figures.failure?._tag}(${figures.failure?.reason}, ${figures.failure?.cause?.code})`
      })
      expect(figures.failure?._tag, figures.raw).toBe("BrokenResourceError")
      expect(["BrokenPipe", "ConnectionReset"]).toContain(figures.failure?.reason)
      expect(["EPIPE", "ECONNRESET"]).toContain(figures.failure?.cause?.code)
      expect(figures.okSends).toBeLessThan(100)
    }))

  it.scopedLive("TCP: a send blocked on a full peer fails with BrokenResourceError when the peer goes away", () =>
    Effect.gen(function*() {
      const server = yield* rawServer(HOST)
      const baseline = countResources()
      const failure = yield* Effect.scoped(Effect.gen(function*() {
        const stream = yield* Socket.connectTcp(HOST, server.port)
        const peer = yield* server.accept // paused: never reads
        const chunk = new Uint8Array(1024 * 1024)
        let blocked: Fiber.RuntimeFiber<void, unknown> | undefined
        for (let i = 0; i < 256 && blocked === undefined; i++) {
          const fiber = yield* Effect.fork(stream.send(chunk))
          const done = yield* Fiber.await(fiber).pipe(Effect.timeout("300 millis"), Effect.option)
          if (Option.isNone(done)) blocked = fiber
        }
        if (blocked === undefined) return yield* Effect.dieMessage("send never blocked")
        peer.destroy()
        return yield* failureOf(Fiber.join(blocked), "the send blocked when the peer went away")
      }))
      yield* expectBackToBaseline("faults EPIPE blocked send", baseline, "2 seconds", {
        failure: `${failure._tag}(${failure.reason})`
      })
      expect(failure._tag).toBe("BrokenResourceError")
      expect(["BrokenPipe", "ConnectionReset"]).toContain(failure.reason)
    }))

  it.scopedLive("UNIX stream: a send to a closed peer fails with BrokenResourceError(BrokenPipe) and the OS error", () =>
    Effect.gen(function*() {
      yield* Effect.addFinalizer(() => removeDir)
      const at = tempPath()
      const listener = yield* Listener.createUnixListener(at)
      const baseline = countResources()
      const failure = yield* Effect.scoped(Effect.gen(function*() {
        const client = yield* Socket.connectUnix(at)
        const accepted = yield* listener.accept
        yield* accepted.close
        return yield* failureOf(client.send("x"), "UNIX send to a closed peer")
      }))
      yield* expectBackToBaseline("faults EPIPE UNIX", baseline, "2 seconds", {
        failure: `${failure._tag}(${failure.reason}, ${failure.cause?.code})`
      })
      expect(failure._tag).toBe("BrokenResourceError")
      expect(failure.reason).toBe("BrokenPipe")
      expect(failure.cause?.code).toBe("EPIPE")
    }))
})

// ---------------------------------------------------------------------------------------------
// EMFILE

interface ChildEvent {
  readonly event: string
  readonly t: number
  readonly port?: number
  readonly fds?: number
  readonly limit?: number
  readonly level?: string
  readonly reason?: string
  readonly message?: string
  readonly n?: number
}

/** The EMFILE fixture (64 fds at most), its events as they come; killed with the scope. */
const emfileServer = (unixPath: string | undefined) =>
  Effect.gen(function*() {
    const events: Array<ChildEvent> = []
    let stderr = ""
    const child = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const child = spawn(process.execPath, ["--import", "tsx", "test/reliability/fixtures/emfile-server.ts"], {
          cwd: ROOT,
          stdio: ["pipe", "pipe", "pipe"],
          env: { ...process.env, EMFILE_LIMIT: "64", ...(unixPath === undefined ? {} : { EMFILE_PATH: unixPath }) }
        })
        let buffered = ""
        child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
          buffered += chunk
          let newline: number
          while ((newline = buffered.indexOf("\n")) >= 0) {
            const line = buffered.slice(0, newline)
            buffered = buffered.slice(newline + 1)
            try {
              events.push(JSON.parse(line) as ChildEvent)
            } catch {
              stderr += `(stdout) ${line}\n`
            }
          }
        })
        child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
        return child
      }),
      (child) =>
        Effect.async<void>((resume) => {
          if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
          child.once("exit", () => resume(Effect.void))
          child.kill("SIGKILL")
        })
    )
    /** Waits (bounded) for an event matching `p`. */
    const waitFor = (p: (e: ChildEvent) => boolean, what: string, within = 15_000) =>
      Effect.gen(function*() {
        const deadline = Date.now() + within
        while (Date.now() < deadline) {
          const found = events.find(p)
          if (found) return found
          if (child.exitCode !== null) break
          yield* Effect.sleep("10 millis")
        }
        return yield* Effect.die(new Error(`emfile child: no ${what} (exit ${child.exitCode}); stderr: ${stderr}`))
      })
    /** The child's CPU time so far (utime + stime), in clock ticks (`/proc/<pid>/stat`). */
    const cpuTicks = () => {
      const stat = fs.readFileSync(`/proc/${child.pid}/stat`, "utf8")
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
      return Number(fields[11]) + Number(fields[12])
    }
    return { events, waitFor, cpuTicks, stderr: () => stderr }
  })

/** A raw client of the fixture (TCP or UNIX path) that records what it receives. */
const rawClient = (target: number | string): Effect.Effect<RawPeer, Error> =>
  typeof target === "number" ? connectRawUnscoped(HOST, target) : connectRawPathUnscoped(target)

describe("faults: accept under EMFILE", () => {
  /*
   * TCP: Node's listener accepts by itself, and libuv answers EMFILE with its "EMFILE trick"
   * (it frees a reserved fd, accepts the pending connections and closes them at once), so Node
   * never reports EMFILE and serve never sees it: the excess clients are dropped, nothing spins.
   * UNIX stream: our listener accepts through the addon, so serve gets TooManyOpenFiles from
   * accept itself while connections wait in the kernel's backlog: that is where serve's back-off
   * (ACCEPT_BACKOFF = 100 ms, one warning per attempt) is exercised.
   */
  const transports = ["TCP", "UNIX stream"] as const
  for (const transport of transports) {
    it.scopedLive(
      `${transport}: a child limited to 64 fds does not spin while exhausted and serves again once fds free up`,
      () =>
        Effect.gen(function*() {
          yield* Effect.addFinalizer(() => removeDir)
          const unixPath = transport === "TCP" ? undefined : tempPath()
          const child = yield* emfileServer(unixPath)
          const listening = yield* child.waitFor((e) => e.event === "listening", "listening line")
          const target = unixPath ?? listening.port!
          const clients: Array<RawPeer> = []
          yield* Effect.addFinalizer(() => Effect.sync(() => clients.forEach((c) => c.socket.destroy())))
          const connect = Effect.either(rawClient(target)).pipe(
            Effect.tap((result) => Effect.sync(() => result._tag === "Right" && clients.push(result.right)))
          )

          // A burst of 80 clients: more than the child's 64 fds can hold.
          yield* Effect.forEach(Array.from({ length: 80 }), () => connect, { concurrency: "unbounded", discard: true })
          yield* Effect.sleep("500 millis")
          const servedDuringBurst = child.events.filter((e) => e.event === "served").length

          // Exhausted: new clients keep knocking (one every 20 ms for 1 s). The child must not
          // spin: little CPU, and (UNIX) at most one TooManyOpenFiles warning per back-off.
          const windowStart = Date.now()
          const ticksBefore = child.cpuTicks()
          for (let i = 0; i < 50; i++) {
            yield* Effect.fork(connect)
            yield* Effect.sleep("20 millis")
          }
          const windowMs = Date.now() - windowStart
          const ticksDuring = child.cpuTicks() - ticksBefore
          const cpuShare = ticksDuring / 100 / (windowMs / 1000) // USER_HZ = 100 on Linux
          const warnings = child.events.filter((e) => e.reason === "TooManyOpenFiles")
          const inWindow = warnings.filter((e) => e.t >= windowStart && e.t <= windowStart + windowMs).length
          const gaps = warnings.slice(1).map((e, i) => e.t - warnings[i]!.t)
          const otherLogs = child.events.filter((e) => e.event === "log" && e.reason !== "TooManyOpenFiles")
          const droppedByChild = clients.filter((c) => (c.ended || c.closed) && c.data.length === 0).length

          // Free the fds: every client goes away; a new client is served.
          for (const client of clients.splice(0)) client.socket.destroy()
          yield* Effect.sleep("300 millis")
          const fresh = yield* Effect.acquireRelease(rawClient(target), (peer) =>
            Effect.sync(() => peer.socket.destroy()))
          const recovered = yield* Effect.either(fresh.until(
            () =>
              fresh.text.includes("hello"),
            "hello after recovery",
            "5 seconds"
          ))

          report(`faults EMFILE ${transport}`, {
            childFdLimit: listening.limit,
            childFdsAtStart: listening.fds,
            servedDuringBurst,
            clientsDroppedByChild: droppedByChild,
            tooManyOpenFilesLogs: warnings.length,
            logsInKnockingWindow: inWindow,
            knockingWindowMs: windowMs,
            minGapBetweenLogsMs: gaps.length > 0 ? Math.min(...gaps) : null,
            childCpuShareWhileExhausted: cpuShare.toFixed(2),
            otherLogs: otherLogs.map((e) => `${e.level}:${e.message}`),
            recovered: recovered._tag === "Right",
            totalServed: child.events.filter((e) => e.event === "served").length
          })
          expect(listening.limit).toBe(64)
          expect(servedDuringBurst).toBeGreaterThan(0)
          expect(servedDuringBurst).toBeLessThan(64)
          expect(cpuShare).toBeLessThan(0.5)
          expect(recovered._tag, child.stderr()).toBe("Right")
          if (transport === "TCP") {
            expect(droppedByChild).toBeGreaterThan(0)
          } else {
            expect(warnings.length).toBeGreaterThan(0)
            // ACCEPT_BACKOFF is 100 ms: about 10 attempts a second (a spinning loop logs thousands).
            expect(inWindow).toBeLessThanOrEqual(Math.ceil(windowMs / 100) + 2)
            expect(inWindow).toBeGreaterThan(0)
            expect(Math.min(...gaps)).toBeGreaterThanOrEqual(90)
          }
          expect(otherLogs).toEqual([])
        }),
      60_000
    )
  }
})

// ---------------------------------------------------------------------------------------------
// Black holes (loopback only)

describe("faults: connect to a black hole only ends through the user's timeout", () => {
  it.scopedLive(
    "TCP: a loopback listener that never accepts, its backlog full, drops SYNs; Effect.timeout ends connectTcp and cleans up",
    () =>
      Effect.gen(function*() {
        // python3 listens with backlog 0 and never accepts: one connection fills the queue.
        const python = yield* spawnPython(
          "import socket, time\n" +
            "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(0)\n" +
            "print(s.getsockname()[1], flush=True)\n" +
            "time.sleep(60)\n"
        )
        const port = Number(yield* python.line())
        const fillers: Array<net.Socket> = []
        yield* Effect.addFinalizer(() => Effect.sync(() => fillers.forEach((s) => s.destroy())))
        for (let i = 0; i < 3; i++) {
          const socket = net.connect({ host: HOST, port })
          socket.on("error", () => {})
          fillers.push(socket)
        }
        yield* Effect.sleep("100 millis")
        const connectedFillers = fillers.filter((s) => !s.connecting).length
        yield* turns(2)
        const baseline = countResources()
        const started = Date.now()
        const outcome = yield* Effect.scoped(Socket.connectTcp(HOST, port)).pipe(
          Effect.timeout("500 millis"),
          Effect.option
        )
        const elapsed = Date.now() - started
        yield* expectBackToBaseline("faults black hole TCP", baseline, "2 seconds", {
          fillersConnected: `${connectedFillers}/${fillers.length}`,
          timedOut: Option.isNone(outcome),
          elapsedMs: elapsed
        })
        expect(connectedFillers).toBeLessThan(fillers.length) // the queue is full: SYNs are dropped
        expect(Option.isNone(outcome)).toBe(true)
        expect(elapsed).toBeGreaterThanOrEqual(480)
        expect(elapsed).toBeLessThan(1500)
      }),
    30_000
  )

  it.scopedLive(
    "TLS: a handshake nobody answers ends through Effect.timeout (or handshakeTimeout as a TlsError) and cleans up",
    () =>
      Effect.gen(function*() {
        const server = yield* rawServer(HOST) // accepts, never reads, never answers
        yield* turns(2)
        const baseline = countResources()
        const started = Date.now()
        const outcome = yield* Effect.scoped(Socket.connectTcp(HOST, server.port, { tls: { ca: certs().ca.cert } }))
          .pipe(
            Effect.timeout("500 millis"),
            Effect.option
          )
        const elapsed = Date.now() - started
        const withTimeout = yield* Effect.exit(Effect.scoped(
          Socket.connectTcp(HOST, server.port, { tls: { ca: certs().ca.cert, handshakeTimeout: "300 millis" } })
        ))
        // The raw server's ends of both connections live in this process too: drop them.
        for (let i = 0; i < 2; i++) (yield* server.accept.pipe(Effect.timeout("1 second"))).destroy()
        yield* expectBackToBaseline("faults black hole TLS", baseline, "2 seconds", {
          timedOut: Option.isNone(outcome),
          elapsedMs: elapsed,
          withHandshakeTimeout: tagOf(withTimeout)
        })
        expect(Option.isNone(outcome)).toBe(true)
        expect(elapsed).toBeLessThan(1500)
        expect(tagOf(withTimeout)).toBe("TlsError")
      }),
    30_000
  )

  it.scopedLive(
    "UNIX stream: a listener whose backlog is full: connectUnix waits until Effect.timeout ends it, and cleans up",
    () =>
      Effect.gen(function*() {
        yield* Effect.addFinalizer(() => removeDir)
        const at = tempPath()
        yield* Listener.createUnixListener(at, { backlog: 1 }) // never accepts
        const fillers: Array<ByteStream> = []
        for (let i = 0; i < 8; i++) {
          const filled = yield* Socket.connectUnix(at).pipe(Effect.timeout("100 millis"), Effect.option)
          if (Option.isNone(filled)) break
          fillers.push(filled.value)
        }
        const baseline = countResources()
        const started = Date.now()
        const outcome = yield* Effect.scoped(Socket.connectUnix(at)).pipe(Effect.timeout("500 millis"), Effect.option)
        const elapsed = Date.now() - started
        yield* expectBackToBaseline("faults black hole UNIX", baseline, "2 seconds", {
          connectionsQueued: fillers.length,
          timedOut: Option.isNone(outcome),
          elapsedMs: elapsed
        })
        expect(fillers.length).toBeLessThan(8)
        expect(Option.isNone(outcome)).toBe(true)
        expect(elapsed).toBeGreaterThanOrEqual(480)
        expect(elapsed).toBeLessThan(1500)
      }),
    30_000
  )
})
