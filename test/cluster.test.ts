/**
 * @effect/cluster for real over effect-sockets: runners in separate processes on loopback, each
 * listening with our `SocketServer` and dialling the others (examples/lib/cluster.ts), sharing
 * runners, shard locks and messages in one SQLite file. The same failover scenario runs over
 * each runner transport: TCP, UNIX stream sockets (runner `host:N` listens on
 * `DIR/runner-N.sock`) and mutual TLS (test CA, server and client certificates from
 * test/helpers/certs.ts). To keep CI time down, TCP runs both stop modes (SIGTERM and SIGKILL,
 * whose lock expiry takes longest); UNIX and TLS run SIGTERM only, as the transport is the same
 * code path for both stops; and EFFECT_SOCKETS_CLUSTER_TRANSPORTS can narrow the transports
 * (below).
 *
 * `Greeter.Visit` is a persisted rpc, so every call is also written to and read from the
 * message table in that file, by the runner that sends it and the one that hosts the entity.
 *
 * Cluster 0.60 has no shard manager process: every runner reads the registered runners from
 * `RunnerStorage` (SQL here), computes the same hash ring, and takes its shards by locking them
 * in the `cluster_locks` table. So two runner processes and the file are the whole cluster, and
 * the test reads that table to see where shards are.
 *
 * Not run here: runners on separate machines (SQLite is one-machine storage; PostgreSQL or MySQL
 * storage needs a database server, and this machine has none and no network to fetch one),
 * `RunnerHealth.layerK8s` (needs a Kubernetes API), and cluster's HTTP/WebSocket runner
 * transports (`HttpRunner`, not sockets of ours).
 */
import { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Schema } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as tls from "node:tls"
import { quickConfig, Visit } from "../examples/cluster-runner.js"
import { unixSocketPath } from "../examples/lib/cluster.js"
import { awaitLine, type ChildRun, startScript } from "./fixtures/cluster-process.js"
import { useTestCerts } from "./helpers/certs.js"

/** Starting tsx in a child takes seconds on a loaded 2-core machine; the cluster adds a few. */
const CLUSTER_TIMEOUT = 180_000
const SHARDS = quickConfig.shardsPerGroup!

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "es-cluster-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const decodeVisit = Schema.decodeUnknownSync(Visit)
const parsed = (lines: ReadonlyArray<string>): Array<Record<string, unknown>> =>
  lines.flatMap((line) => line.startsWith("{\"") ? [JSON.parse(line) as Record<string, unknown>] : [])

interface Runner {
  readonly run: ChildRun
  /** `host:port`, as the runner advertises itself (and as the lock table names it). */
  readonly address: string
  /** Calls the `Greeter` `id` from this runner; the reply, wherever the entity lives. */
  readonly call: (id: string) => Effect.Effect<Visit>
}

/** Starts test/fixtures/cluster-runner.ts over `sqliteFile` and waits until it is up. */
const startRunner = (sqliteFile: string, transportArgs: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const run = yield* startScript("test/fixtures/cluster-runner.ts", [
      "--db",
      sqliteFile,
      "--port",
      "0",
      ...transportArgs
    ])
    const address = yield* awaitLine(run, "runner ready", (lines) =>
      parsed(lines).find((line) =>
        typeof line["ready"] === "string"
      )?.["ready"] as string | undefined)
    const visits = () => parsed(run.lines()).filter((line) => line["visit"] !== undefined)
    const call = (id: string) =>
      Effect.gen(function*() {
        const before = visits().length
        run.child.stdin!.write(`${id}\n`)
        const reply = yield* awaitLine(run, `reply from Greeter ${id}`, () => visits()[before]?.["visit"], 40)
        return decodeVisit(reply)
      })
    return { run, address, call } satisfies Runner
  })

/** Who holds which shard now: `cluster_locks` rows (shard id -> runner address). */
const shardLocks = (sql: SqlClient.SqlClient) =>
  sql<{ shard_id: string; address: string }>`SELECT shard_id, address FROM cluster_locks`.pipe(
    Effect.map((rows) => new Map(rows.map((row) => [row.shard_id, row.address])))
  )

/** Polls the lock table every 200 ms, at most 150 times (30 s), until `ok` holds. */
const awaitLocks = (sql: SqlClient.SqlClient, what: string, ok: (locks: Map<string, string>) => boolean) =>
  Effect.gen(function*() {
    let locks = new Map<string, string>()
    for (let i = 0; i < 150; i++) {
      // Until the first runner has created the table, there are no locks.
      locks = yield* shardLocks(sql).pipe(
        Effect.catchIf((error) => /no such table/.test(String(error.cause)), () => Effect.succeed(new Map()))
      )
      if (ok(locks)) return locks
      yield* Effect.sleep("200 millis")
    }
    return yield* Effect.dieMessage(`${what}: not within 30 s; locks ${JSON.stringify([...locks])}`)
  })

const holders = (locks: Map<string, string>) => new Set(locks.values())

/** Whether `address` holds every shard. */
const allHeldBy = (address: string) => (locks: Map<string, string>) =>
  locks.size === SHARDS && [...locks.values()].every((holder) => holder === address)

type Signal = "SIGTERM" | "SIGKILL"

const certs = useTestCerts()

const portOf = (runner: Runner) => Number(runner.address.slice(runner.address.lastIndexOf(":") + 1))

/** The error a TLS client that trusts the CA but shows no certificate gets from `port` (10 s at most). */
const tlsErrorWithoutClientCert = (port: number) =>
  Effect.async<string>((resume) => {
    const socket = tls.connect({ host: "127.0.0.1", port, ca: certs().ca.cert })
    socket.on("error", (error: NodeJS.ErrnoException) => resume(Effect.succeed(error.code ?? error.message)))
    socket.on("close", () => resume(Effect.succeed("closed without an error")))
    return Effect.sync(() => socket.destroy())
  }).pipe(
    Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error("no TLS error within 10 s") })
  )

interface Transport {
  readonly name: string
  /** The runner's transport flags (examples/cluster-runner.ts), given the test's temp dir. */
  readonly args: (dir: string) => ReadonlyArray<string>
  readonly signals: ReadonlyArray<Signal>
  /** Checks, with both runners up, that they really listen on this transport. */
  readonly check: (dir: string, a: Runner, b: Runner) => Effect.Effect<void, Error>
  /** Checks after A has exited on `signal`. */
  readonly stopped?: (dir: string, a: Runner, signal: Signal) => Effect.Effect<void>
}

const transports: ReadonlyArray<Transport> = [
  { name: "TCP", args: () => [], signals: ["SIGTERM", "SIGKILL"], check: () => Effect.void },
  {
    name: "UNIX",
    args: (dir) => ["--unix", dir],
    signals: ["SIGTERM"],
    // With `--port 0` the runners take the first free numbers, 1 and 2, and listen on their files.
    check: (dir, a, b) =>
      Effect.sync(() => {
        expect([portOf(a), portOf(b)]).toEqual([1, 2])
        for (const runner of [a, b]) expect(fs.statSync(unixSocketPath(dir, portOf(runner))).isSocket()).toBe(true)
      }),
    // A clean stop removes the socket file (a crash leaves it, and the next bind replaces it).
    stopped: (dir, a, signal) =>
      Effect.sync(() => expect(fs.existsSync(unixSocketPath(dir, portOf(a)))).toBe(signal === "SIGKILL"))
  },
  {
    name: "mutual TLS",
    args: () => [
      "--tls",
      "--ca",
      certs().ca.certFile,
      "--cert",
      certs().server.certFile,
      "--key",
      certs().server.keyFile,
      "--client-cert",
      certs().client.certFile,
      "--client-key",
      certs().client.keyFile
    ],
    signals: ["SIGTERM"],
    // A client without a certificate is refused: the runners only talk with certified peers.
    check: (_dir, a, b) =>
      Effect.forEach(
        [a, b],
        (runner) =>
          Effect.map(tlsErrorWithoutClientCert(portOf(runner)), (code) =>
            expect(code).toBe("ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED")),
        { discard: true }
      )
  }
]

/**
 * Two runners A and B; a `Greeter` living on A is called from B; A is stopped with `signal`;
 * once its shards have moved, the `Greeter` answers from B. SIGTERM is a clean stop: A releases
 * its shards and unregisters on the way out. SIGKILL is a crash: B sees A's connections break,
 * and takes the shards once A's heartbeat and locks are older than `shardLockExpiration` (5 s).
 */
const failover = (transport: Transport, signal: Signal) =>
  Effect.gen(function*() {
    const dir = yield* tempDir
    const sqliteFile = path.join(dir, "cluster.db")
    const sql = Context.get(yield* Layer.build(SqliteClient.layer({ filename: sqliteFile })), SqlClient.SqlClient)
    const a = yield* startRunner(sqliteFile, transport.args(dir))
    // A alone owns every shard before B joins (and has created the tables B then finds).
    yield* awaitLocks(sql, "runner A holds every shard", allHeldBy(a.address))
    const b = yield* startRunner(sqliteFile, transport.args(dir))
    expect(b.address).not.toBe(a.address)
    yield* transport.check(dir, a, b)
    const split = yield* awaitLocks(sql, "the shards split between A and B", (locks) =>
      locks.size === SHARDS && holders(locks).size === 2 && holders(locks).has(b.address))
    expect(holders(split)).toEqual(new Set([a.address, b.address]))

    // An entity living on A, found by calling Greeters from B (at most 100 ids).
    let onA: Visit | undefined
    for (let i = 0; i < 100 && onA === undefined; i++) {
      const visit = yield* b.call(`user-${i}`)
      expect([a.address, b.address]).toContain(visit.runner)
      if (visit.runner === a.address) {
        onA = visit
      }
    }
    if (onA === undefined) {
      return expect.fail("no Greeter among 100 lived on runner A")
    }
    expect(onA.pid).toBe(a.run.pid)
    expect((yield* shardLocks(sql)).get(onA.shardId)).toBe(a.address)

    // Called again from B: the same instance on A (its state is there, in A's process).
    const again = yield* b.call(onA.entityId)
    expect(again).toMatchObject({ runner: a.address, pid: a.run.pid, shardId: onA.shardId, visits: onA.visits + 1 })

    a.run.child.kill(signal)
    const exit = yield* a.run.exited.pipe(
      Effect.timeoutFail({
        duration: "30 seconds",
        onTimeout: () =>
          new Error(`A did not exit 30 s after ${signal}`)
      })
    )
    expect(exit, a.run.stderr()).toEqual(signal === "SIGTERM" ? { code: 0, signal: null } : { code: null, signal })
    yield* transport.stopped?.(dir, a, signal) ?? Effect.void

    // B takes A's shards over, and the entity answers from B: a new instance (visit 1).
    const moved = yield* awaitLocks(sql, "runner B holds every shard", allHeldBy(b.address))
    expect(moved.get(onA.shardId)).toBe(b.address)
    const afterMove = yield* b.call(onA.entityId)
    expect(afterMove).toMatchObject({ runner: b.address, pid: b.run.pid, shardId: onA.shardId, visits: 1 })

    // `Visit` is persisted: each of the three calls went through the shared message table,
    // written by B, processed once (by A twice, then by B), none left over to replay.
    const stored = yield* sql<{ processed: number }>`
      SELECT processed FROM cluster_messages WHERE entity_id = ${onA.entityId} AND tag = 'Visit'`
    expect(stored.map((row) =>
      row.processed
    )).toEqual([1, 1, 1])
  })

const stops: Record<Signal, string> = {
  SIGTERM: "A stops (SIGTERM, exit 0), its shards move",
  SIGKILL: "A crashes (SIGKILL), its locks expire, its shards move"
}

/**
 * EFFECT_SOCKETS_CLUSTER_TRANSPORTS (e.g. "TCP"): only these transports run, the others are
 * reported skipped. `.ci/run` runs every transport on Node 20 and TCP alone on Node 22 and 24:
 * the transport code is the same on every line, and each run costs ~40 s of child processes.
 */
const onlyTransports = process.env["EFFECT_SOCKETS_CLUSTER_TRANSPORTS"]?.split(",")

for (const transport of transports) {
  const chosen = onlyTransports === undefined || onlyTransports.includes(transport.name)
  ;(chosen ? describe : describe.skip)(
    `@effect/cluster over effect-sockets: two runner processes over ${transport.name}`,
    () => {
      for (const signal of transport.signals) {
        it.scopedLive(
          `an entity on A is called from B; ${stops[signal]} and it answers from B`,
          () => failover(transport, signal),
          CLUSTER_TIMEOUT
        )
      }
    }
  )
}

describe("examples/cluster-runner.ts", () => {
  it.scopedLive(
    "two runners as a user starts them; the second calls Greeters, each answered by one of them",
    () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const db = path.join(dir, "cluster.db")
        const listening = (run: ChildRun) =>
          awaitLine(run, "runner listening", (lines) =>
            lines.map((line) =>
              /^runner listening on (\S+)$/.exec(line)?.[1]
            ).find((address) => address !== undefined))
        const first = yield* startScript("examples/cluster-runner.ts", ["--port", "0", "--db", db])
        const firstAddress = yield* listening(first)
        const second = yield* startScript("examples/cluster-runner.ts", [
          "--port",
          "0",
          "--db",
          db,
          "--call",
          "alice,bob,carol"
        ])
        const secondAddress = yield* listening(second)
        const replies = yield* awaitLine(second, "three replies", (lines) => {
          const found = lines.filter((line) =>
            line.startsWith("Greeter ")
          )
          return found.length === 3 ? found : undefined
        })
        const pattern = /^Greeter (\w+) \(shard default:(\d+)\) answered from (\S+), visit 1$/
        expect(replies.map((line) => pattern.exec(line)?.[1])).toEqual(["alice", "bob", "carol"])
        for (const line of replies) expect([firstAddress, secondAddress]).toContain(pattern.exec(line)![3])
        // Both stop cleanly on SIGTERM (exit 0), as `run` promises.
        for (const run of [second, first]) {
          run.child.kill("SIGTERM")
          const exit = yield* run.exited.pipe(
            Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => new Error("no exit 30 s after SIGTERM") })
          )
          expect(exit, run.stderr()).toEqual({ code: 0, signal: null })
        }
      }),
    CLUSTER_TIMEOUT
  )
})
