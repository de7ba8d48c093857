/**
 * The examples as a user runs them: child processes started with `node --import tsx`. A bad
 * command line prints one usage line and exits 2; the UNIX datagram hello service removes its
 * socket file when it stops.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { type ChildProcess, execFile, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Socket } from "../src/index.js"

/** Starting tsx in a child takes seconds on a loaded 2-core machine. */
const SPAWN_TIMEOUT = 90_000

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))

let dir: string
beforeAll(() => void (dir = fs.mkdtempSync(os.tmpdir() + "/es-examples-")))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

interface Run {
  readonly child: ChildProcess
  /** stdout so far. */
  readonly stdout: () => string
  /** Resolves with the exit code (or signal) and stderr once the process has exited. */
  readonly exited: Effect.Effect<{ readonly code: number | null; readonly stderr: string }>
}

/** Starts `examples/<script>` with `args`; killed when the scope closes if still running. */
const start = (script: string, args: ReadonlyArray<string>) =>
  Effect.acquireRelease(
    Effect.sync((): Run => {
      const child = spawn(process.execPath, ["--import", "tsx", path.join("examples", script), ...args], {
        cwd: root,
        stdio: ["ignore", "pipe", "pipe"]
      })
      let stdout = ""
      let stderr = ""
      child.stdout!.on("data", (chunk: Buffer) => void (stdout += chunk.toString()))
      child.stderr!.on("data", (chunk: Buffer) => void (stderr += chunk.toString()))
      const done = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)))
      return {
        child,
        stdout: () => stdout,
        exited: Effect.promise(() => done).pipe(Effect.map((code) => ({ code, stderr })))
      }
    }),
    (run) => Effect.sync(() => void (run.child.exitCode === null && run.child.kill("SIGKILL")))
  )

/** Waits (bounded) until the process has printed `text` on stdout. */
const awaitOutput = (run: Run, text: string) =>
  Effect.gen(function*() {
    for (let i = 0; i < 600; i++) {
      if (run.stdout().includes(text)) return
      if (run.child.exitCode !== null) return yield* Effect.dieMessage(`exited before printing ${text}`)
      yield* Effect.sleep("50 millis")
    }
    return yield* Effect.dieMessage(`no ${JSON.stringify(text)} within 30 s`)
  })

describe("examples", () => {
  it.scopedLive("an unknown flag prints one usage line (no stack) and exits 2", () =>
    Effect.gen(function*() {
      const run = yield* start("unix-datagram-hello.ts", ["--bogus"])
      const { code, stderr } = yield* run.exited
      expect(code).toBe(2)
      expect(stderr).toBe(
        "error: Unknown option '--bogus'; usage: npx tsx examples/unix-datagram-hello.ts [--path /tmp/mysock]\n"
      )
    }), SPAWN_TIMEOUT)

  it.scopedLive("a missing flag value prints one usage line and exits 2", () =>
    Effect.gen(function*() {
      const run = yield* start("tcp-client.ts", ["--port"])
      const { code, stderr } = yield* run.exited
      expect(code).toBe(2)
      expect(stderr.trimEnd().split("\n")).toHaveLength(1)
      expect(stderr).toMatch(/^error: Option '--port <value>' argument missing; usage: .*tcp-client\.ts/)
    }), SPAWN_TIMEOUT)

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it.scopedLive(`unix-datagram-hello removes its socket file on ${signal}`, () =>
      Effect.gen(function*() {
        const at = path.join(dir, `hello-${signal}.sock`)
        const run = yield* start("unix-datagram-hello.ts", ["--path", at])
        yield* awaitOutput(run, `listening on ${at}`)
        expect(fs.existsSync(at)).toBe(true)
        run.child.kill(signal)
        const { code, stderr } = yield* run.exited
        expect(stderr).toBe("")
        expect(code).toBe(0)
        expect(fs.existsSync(at)).toBe(false)
      }), SPAWN_TIMEOUT)
  }

  it.scopedLive("unix-datagram-hello leaves a file it did not bind alone", () =>
    Effect.gen(function*() {
      const at = path.join(dir, "not-a-socket")
      fs.writeFileSync(at, "keep me")
      const run = yield* start("unix-datagram-hello.ts", ["--path", at])
      const { code, stderr } = yield* run.exited
      expect(code).toBe(1)
      expect(stderr).toMatch(/^error: /)
      expect(fs.readFileSync(at, "utf8")).toBe("keep me")
    }), SPAWN_TIMEOUT)

  it.scopedLive(
    "observed-server: an echo, then curl reads its byte and connection counts in Prometheus text",
    () =>
      Effect.gen(function*() {
        const run = yield* start("observed-server.ts", ["--port", "0", "--metrics-port", "0"])
        yield* awaitOutput(run, "/metrics\n")
        const echoPort = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(run.stdout())![1])
        const metricsUrl = /metrics on (\S+)/.exec(run.stdout())![1]!
        yield* Effect.scoped(Effect.gen(function*() {
          const client = yield* Socket.connectTcp("127.0.0.1", echoPort)
          yield* client.send("hello")
          let echoed = ""
          while (echoed.length < 5) echoed += Buffer.from(yield* client.receive()).toString()
          expect(echoed).toBe("hello")
        }))
        const curl = Effect.async<string, Error>((resume) => {
          execFile(
            "curl",
            ["-s", "-f", metricsUrl],
            (error, stdout) => resume(error ? Effect.fail(error) : Effect.succeed(stdout))
          )
        })
        // The server flushes a connection's bytes when it closes it, just after our close.
        let body = ""
        for (let i = 0; i < 100 && !/effect_sockets_bytes_sent\{transport="tcp"\} 5\n/.test(body); i++) {
          if (i > 0) yield* Effect.sleep("50 millis")
          body = yield* curl
        }
        expect(body).toContain("# TYPE effect_sockets_bytes_sent counter\n")
        expect(body).toContain("effect_sockets_bytes_received{transport=\"tcp\"} 5\n")
        expect(body).toContain("effect_sockets_bytes_sent{transport=\"tcp\"} 5\n")
        expect(body).toMatch(/effect_sockets_connections_opened\{transport="tcp",side="server"\} 1\n/)
        expect(body).toContain("effect_sockets_connections_active{transport=\"tcp\"} 0\n")
        expect(body).toContain("effect_sockets_connections_accepted 1\n")
        expect(body).toContain("# TYPE effect_sockets_connections_active gauge\n")
      }),
    SPAWN_TIMEOUT
  )
})
