/**
 * An @effect/cluster runner over effect-sockets (examples/lib/cluster.ts): it listens on TCP,
 * a UNIX socket or TLS, hosts the `Greeter` entity for the shards it owns, and keeps runners,
 * shard locks and messages in an SQLite file that every runner of the cluster shares. Start two,
 * the second with `--call`: it calls `Greeter` entities, wherever they live, and prints the replies.
 *
 *   npx tsx examples/cluster-runner.ts --port 34431 --db /tmp/cluster.db
 *   npx tsx examples/cluster-runner.ts --port 34432 --db /tmp/cluster.db --call alice,bob,carol
 *
 * Every runner of a cluster takes the same transport flags:
 *
 *   --unix DIR   listen on DIR/runner-PORT.sock instead of TCP (`--port 0`: the first free of 1..1000)
 *   --tls        mutual TLS: `--cert F --key F` (the server certificate, also presented as the
 *                client's unless `--client-cert F --client-key F`), `--ca F` (trusted for both
 *                sides; default the `--cert` file, for a self-signed one). `--tls` without
 *                `--cert` makes a throwaway self-signed certificate and prints its files, to pass
 *                to the other runners.
 *
 * Each reply names the runner that hosted the entity; a runner stops cleanly on SIGINT/SIGTERM
 * (releasing its shards, which the others then take over).
 */
import { ClusterSchema, Entity, ShardingConfig } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Console, Effect, Layer, Schema, Stream } from "effect"
import * as fs from "node:fs"
import { makeSelfSigned } from "./lib/certs.js"
import { flags, isMain, port, run, switchFlag } from "./lib/cli.js"
import { layerRunner, type RunnerTransport } from "./lib/cluster.js"

/** What a `Greeter` answers: who it is, where it runs, and how often it was visited there. */
export class Visit extends Schema.Class<Visit>("Visit")({
  entityId: Schema.String,
  shardId: Schema.String,
  /** `host:port` of the runner hosting the entity. */
  runner: Schema.String,
  pid: Schema.Number,
  /** Visits since the entity started on this runner (it restarts at 1 after its shard moves). */
  visits: Schema.Number
}) {}

/**
 * `Visit` is persisted (`ClusterSchema.Persisted`): the sending runner stores each call in the
 * shared message table, the hosting runner processes it once and stores the reply there.
 */
export const Greeter = Entity.make("Greeter", [
  Rpc.make("Visit", { success: Visit }).annotate(ClusterSchema.Persisted, true)
])

export const GreeterLive = Greeter.toLayer(Effect.gen(function*() {
  const address = yield* Entity.CurrentAddress
  const runner = yield* Entity.CurrentRunnerAddress
  let visits = 0
  return {
    Visit: () =>
      Effect.sync(() =>
        new Visit({
          entityId: address.entityId,
          shardId: address.shardId.toString(),
          runner: `${runner.host}:${runner.port}`,
          pid: process.pid,
          visits: ++visits
        })
      )
  }
}))

/**
 * Intervals for a small cluster that reacts in well under a second (the defaults are tuned for
 * production: 300 shards, assignments refreshed every 3 s, locks renewed every 10 s).
 */
export const quickConfig: Partial<ShardingConfig.ShardingConfig["Type"]> = {
  shardsPerGroup: 12,
  refreshAssignmentsInterval: "200 millis",
  shardLockRefreshInterval: "1 second",
  shardLockExpiration: "5 seconds",
  sendRetryInterval: "100 millis",
  entityMessagePollInterval: "500 millis",
  entityTerminationTimeout: "2 seconds"
}

export interface ClusterRunnerOptions {
  readonly host: string
  /** 0 picks a free port; the runner advertises the one it got. */
  readonly port: number
  readonly sqliteFile: string
  /** How runners reach each other (default TCP); the same for every runner of the cluster. */
  readonly transport?: RunnerTransport | undefined
  /** Entity ids to call, one after the other, once the runner is up. */
  readonly calls?: Iterable<string> | Stream.Stream<string> | undefined
  readonly announce?: (line: string) => Effect.Effect<void>
  /** What to do with each reply (default: announce it with {@link describeVisit}). */
  readonly onVisit?: (visit: Visit) => Effect.Effect<void>
}

/** Formats a reply as the example prints it. */
export const describeVisit = (visit: Visit): string =>
  `Greeter ${visit.entityId} (shard ${visit.shardId}) answered from ${visit.runner}, visit ${visit.visits}`

/**
 * Runs one runner until interrupted: announces `runner listening on host:port`, then, for each
 * of `calls`, calls that `Greeter` (on whichever runner owns its shard) and hands the reply to
 * `onVisit`. A call without a reply in 30 s fails the runner.
 */
export const clusterRunner = (options: ClusterRunnerOptions) => {
  const announce = options.announce ?? Console.log
  const runner = layerRunner({
    host: options.host,
    port: options.port,
    sqliteFile: options.sqliteFile,
    transport: options.transport,
    shardingConfig: quickConfig
  })
  const main = Effect.gen(function*() {
    const config = yield* ShardingConfig.ShardingConfig
    const self = config.runnerAddress.pipe((address) => address._tag === "Some" ? address.value : undefined)
    yield* announce(`runner listening on ${self?.host}:${self?.port}`)
    const greeter = yield* Greeter.client
    const onVisit = options.onVisit ?? ((visit: Visit) => announce(describeVisit(visit)))
    const calls = options.calls ?? []
    yield* (Stream.StreamTypeId in calls ? calls : Stream.fromIterable(calls as Iterable<string>)).pipe(
      Stream.runForEach((id) =>
        greeter(id).Visit().pipe(
          Effect.timeoutFail({
            duration: "30 seconds",
            onTimeout: () => new Error(`no reply from Greeter ${id} in 30 s`)
          }),
          Effect.flatMap(onVisit)
        )
      )
    )
    return yield* Effect.never
  })
  return Layer.launch(Layer.effectDiscard(main).pipe(Layer.provide(GreeterLive), Layer.provideMerge(runner)))
}

/**
 * The runner options from the command line (flags as in the header comment; `--call` ids
 * separated by commas). Exits 2 on a bad command line.
 */
export const commandLine = (announce: (line: string) => void = console.log): ClusterRunnerOptions => {
  const tls = switchFlag("tls")
  const args = flags({
    host: "127.0.0.1",
    port: "34431",
    db: "/tmp/cluster.db",
    call: "",
    unix: "",
    cert: "",
    key: "",
    ca: "",
    "client-cert": "",
    "client-key": ""
  })
  return {
    host: args.host,
    port: port(args.port),
    sqliteFile: args.db,
    calls: args.call === "" ? [] : args.call.split(","),
    transport: args.unix !== ""
      ? { _tag: "Unix", dir: args.unix }
      : tls
      ? tlsTransport(args, announce)
      : { _tag: "Tcp" }
  }
}

const tlsTransport = (
  args: Record<"cert" | "key" | "ca" | "client-cert" | "client-key", string>,
  announce: (line: string) => void
): RunnerTransport => {
  if (args.cert !== "" && args.key === "") {
    process.stderr.write("error: --cert needs --key\n")
    return process.exit(2)
  }
  const selfSigned = args.cert === "" ? makeSelfSigned() : undefined
  if (selfSigned) announce(`self-signed certificate: --cert ${selfSigned.certFile} --key ${selfSigned.keyFile}`)
  const certFile = selfSigned?.certFile ?? args.cert
  const keyFile = selfSigned?.keyFile ?? args.key
  const ca = fs.readFileSync(args.ca || certFile)
  const cert = fs.readFileSync(certFile)
  const key = fs.readFileSync(keyFile)
  return {
    _tag: "Tls",
    server: { cert, key, ca, requestCert: true, rejectUnauthorized: true },
    client: {
      ca,
      cert: args["client-cert"] ? fs.readFileSync(args["client-cert"]) : cert,
      key: args["client-key"] ? fs.readFileSync(args["client-key"]) : key
    }
  }
}

if (isMain(import.meta.url)) {
  run(clusterRunner(commandLine()))
}
