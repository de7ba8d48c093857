/**
 * What every workload shares: a measured result, loopback servers, timing. Node built-ins only
 * (no Effect): the Effect 4 peer in bench/effect4/ imports it too.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"

/** One measurement, printed by a worker as a JSON line. */
export interface Result {
  /** The figure (MiB/s, round trips/s, …). */
  readonly value: number
  /** Peak resident memory of the worker process, MiB. */
  readonly peakRssMiB: number
}

/** One implementation of a workload: runs it with the workload's parameters, returns the figure. */
export type Impl = (params: Record<string, number>) => Promise<number>

/** A workload's implementations and its unit; each run is one fresh worker process. */
export interface Workload {
  readonly id: string
  readonly title: string
  readonly unit: string
  readonly params: { readonly full: Record<string, number>; readonly quick: Record<string, number> }
  readonly impls: Record<string, Impl>
  /** The implementation the ratios are taken against (default `"raw"`). */
  readonly baseline?: string
  /**
   * Environment variables an implementation needs (e.g. `EFFECT_SOCKETS_DISABLE_ADDON`), set by
   * the worker before that implementation runs. Optional; keyed by implementation name.
   */
  readonly env?: Record<string, Record<string, string>>
}

export const MiB = 1024 * 1024
export const CHUNK = Buffer.alloc(64 * 1024, 0x61)
export const PING = Buffer.alloc(64, 0x62)

/** What one `sendAll` takes in the batch-API bulk rows (both editions): 1 MiB, still in 64 KiB pieces. */
export const CHUNK_BATCH: ReadonlyArray<Buffer> = Array.from({ length: 16 }, () => CHUNK)

export const now = (): number => performance.now()

export const peakRssMiB = (): number => process.resourceUsage().maxRSS / 1024

/** A raw server on 127.0.0.1 with an ephemeral port. */
export const listenRaw = (onConnection: (socket: net.Socket) => void): Promise<{ server: net.Server; port: number }> =>
  new Promise((resolve, reject) => {
    const server = net.createServer({ noDelay: true }, onConnection)
    server.once("error", reject)
    server.listen(
      { host: "127.0.0.1", port: 0 },
      () => resolve({ server, port: (server.address() as net.AddressInfo).port })
    )
  })

export const connectRaw = (port: number): Promise<net.Socket> =>
  new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port, noDelay: true })
    socket.once("error", reject)
    socket.once("connect", () => resolve(socket))
  })

/** A promise with its resolve function, for "the receiver is done" signals. */
export const latch = <A = void>() => {
  let resolve!: (value: A) => void
  const promise = new Promise<A>((r) => (resolve = r))
  return { promise, resolve }
}

// ---------------------------------------------------------------------------------------------
// Shared by the UDP, UNIX, TLS and fd-passing workloads (W4–W8).

/**
 * A fresh private directory under the system temp dir, removed when the process exits (workers
 * end with `process.exit`, so an 'exit' handler is the one place that always runs).
 */
export const tempDir = (prefix = "es-bench-"): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  process.once("exit", () => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** A raw server on a UNIX socket path. */
export const listenRawUnix = (
  socketPath: string,
  onConnection: (socket: net.Socket) => void
): Promise<net.Server> =>
  new Promise((resolve, reject) => {
    const server = net.createServer(onConnection)
    server.once("error", reject)
    server.listen({ path: socketPath }, () => resolve(server))
  })

export const connectRawUnix = (socketPath: string): Promise<net.Socket> =>
  new Promise((resolve, reject) => {
    const socket = net.connect({ path: socketPath })
    socket.once("error", reject)
    socket.once("connect", () => resolve(socket))
  })

/** A throwaway self-signed certificate for 127.0.0.1 / localhost, PEM. */
export interface TestCert {
  readonly cert: string
  readonly key: string
}

let cachedCert: TestCert | undefined

/**
 * Generates (once per process, outside any timed region) a self-signed P-256 certificate with
 * the openssl CLI in a temp dir that is removed at exit. Nothing is ever written to the repo.
 */
export const testCert = (): TestCert => {
  if (cachedCert) return cachedCert
  const dir = tempDir("es-bench-tls-")
  const keyPath = path.join(dir, "key.pem")
  const certPath = path.join(dir, "cert.pem")
  execFileSync("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    keyPath,
    "-out",
    certPath,
    "-days",
    "1",
    "-subj",
    "/CN=localhost",
    "-addext",
    "subjectAltName=IP:127.0.0.1,DNS:localhost"
  ], { stdio: ["ignore", "ignore", "pipe"] })
  cachedCert = { cert: fs.readFileSync(certPath, "utf8"), key: fs.readFileSync(keyPath, "utf8") }
  return cachedCert
}

/**
 * Fails the run with a clear message when `progress()` has not moved for `stallMs` (a datagram
 * lost on loopback would otherwise hang a ping-pong until the orchestrator's timeout). Checked
 * once a second, so it costs nothing per message. Returns a function that stops watching.
 */
export const watchdog = (label: string, progress: () => number, stallMs = 5_000): () => void => {
  let last = progress()
  let since = now()
  const timer = setInterval(() => {
    const current = progress()
    if (current !== last) {
      last = current
      since = now()
    } else if (now() - since > stallMs) {
      console.error(`${label}: no progress for ${stallMs} ms at ${current} (a datagram lost?)`)
      process.exit(3)
    }
  }, 1_000)
  timer.unref()
  return () => clearInterval(timer)
}

/**
 * A worker's main: runs `impls[workload][impl]` (argv: <workload> <impl> <params JSON>) in this
 * fresh process and prints one JSON line, `{ "value": figure, "peakRssMiB": … }`; with `--list`
 * it prints which implementations it has, `{ "<workload>": ["<impl>", …] }`. `env` gives an
 * implementation's environment variables, set before it runs.
 */
export const workerMain = async (
  impls: Record<string, Record<string, Impl>>,
  env: (workload: string, impl: string) => Record<string, string> = () => ({})
): Promise<never> => {
  const [id, impl, paramsJson] = process.argv.slice(2)
  if (id === "--list") {
    console.log(JSON.stringify(Object.fromEntries(Object.entries(impls).map(([w, is]) => [w, Object.keys(is)]))))
    process.exit(0)
  }
  const run = impls[id ?? ""]?.[impl ?? ""]
  if (!run) {
    console.error(`unknown workload/implementation: ${id} ${impl}`)
    process.exit(2)
  }
  // Per-implementation environment (read lazily by the library, e.g. EFFECT_SOCKETS_DISABLE_ADDON).
  Object.assign(process.env, env(id!, impl!))
  const value = await run(JSON.parse(paramsJson ?? "{}"))
  const result: Result = { value, peakRssMiB: peakRssMiB() }
  console.log(JSON.stringify(result))
  process.exit(0)
}
