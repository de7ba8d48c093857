/**
 * The Effect 4 edition's socket activation: the real /usr/bin/systemd-socket-activate launches
 * test/effect4/fixtures/systemd-activated.ts (Listener.fromSystemd, Datagram.fromSystemd) on TCP
 * and UNIX sockets, and on a --datagram UDP socket, and clients talk to it; sd_listen_fds(3)'s
 * rules (LISTEN_FDNAMES, LISTEN_PID, unsetting or keeping the variables) checked in a child.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schedule } from "effect"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Datagram, Socket } from "../../src/effect4/index.js"
import { freePort } from "./helpers/rawPeers.js"

const activate = "/usr/bin/systemd-socket-activate"
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
const fixture = path.join("test", "effect4", "fixtures", "systemd-activated.ts")
/** Starting tsx in a child takes seconds on a loaded 2-core machine. */
const CHILD_TIMEOUT = 60_000

interface Activated {
  /** Its first line (`listening on …`), once printed. */
  readonly announced: Effect.Effect<string, Error>
  /** Everything it printed, once it exited (it must exit 0). */
  readonly output: Effect.Effect<string, Error>
}

/** systemd-socket-activate ARGS node --import tsx fixture MODE; killed when the scope closes. */
const activated = (args: ReadonlyArray<string>, mode: "serve" | "rules", env: Record<string, string> = {}) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      let out = ""
      const child = execFile(
        activate,
        ["-E", "FIX_PID", "-E", "KEEP", ...args, process.execPath, "--import", "tsx", fixture, mode],
        { cwd: root, env: { ...process.env, FIX_PID: "", KEEP: "", ...env }, timeout: CHILD_TIMEOUT }
      )
      child.stdout!.setEncoding("utf8").on("data", (chunk: string) => void (out += chunk))
      let err = ""
      child.stderr!.setEncoding("utf8").on("data", (chunk: string) => void (err += chunk))
      const exited = new Promise<number | null>((resolve) => child.once("close", resolve))
      const line = Effect.suspend(() =>
        out.includes("\n")
          ? Effect.succeed(out.split("\n")[0]!)
          : child.exitCode !== null
          ? Effect.fail(new Error(`exited ${child.exitCode} before printing a line: ${err}`))
          : Effect.fail(new Error("no line yet"))
      )
      const activatedChild: Activated = {
        announced: line.pipe(
          Effect.retry({
            while: (error) => error.message === "no line yet",
            schedule: Schedule.spaced("50 millis"),
            times: CHILD_TIMEOUT / 50
          })
        ),
        output: Effect.flatMap(
          Effect.promise(() => exited),
          (code) => (code === 0 ? Effect.succeed(out) : Effect.fail(new Error(`exited ${code}: ${err}`)))
        )
      }
      return { child, exited, activatedChild }
    }),
    ({ child, exited }) =>
      Effect.suspend(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM")
        return Effect.timeoutOption(Effect.promise(() => exited), "5 seconds")
      })
  ).pipe(Effect.map(({ activatedChild }) => activatedChild))

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "es4-sd-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** systemd-socket-activate binds before it starts the child: retry (bounded) until the child answers. */
const retried = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(Effect.retry({ times: 600, schedule: Schedule.spaced("100 millis") }))

describe.skipIf(!fs.existsSync(activate))("socket activation with systemd-socket-activate (Effect 4)", () => {
  it.live("TCP and UNIX listeners passed by systemd-socket-activate are both served", () =>
    Effect.gen(function*() {
      const port = yield* freePort()
      const at = path.join(yield* tempDir, "activated.sock")
      const server = yield* activated(["-l", `127.0.0.1:${port}`, "-l", at], "serve")
      const tcp = yield* retried(Socket.connectTcp("127.0.0.1", port))
      yield* tcp.send("activated")
      expect(Buffer.from(yield* tcp.receive()).toString()).toBe("Hello, activated\n")
      expect(yield* server.announced).toBe(`listening on 127.0.0.1:${port}, ${at}`)
      const unix = yield* Socket.connectUnix(at)
      yield* unix.send("unix")
      expect(Buffer.from(yield* unix.receive()).toString()).toBe("Hello, unix\n")
    }).pipe(Effect.scoped), CHILD_TIMEOUT + 10_000)

  it.live("a UDP socket passed with --datagram is served", () =>
    Effect.gen(function*() {
      const port = yield* freePort()
      const server = yield* activated(["--datagram", "-l", `127.0.0.1:${port}`], "serve")
      const udp = yield* Datagram.createConnectedUdpSocket("127.0.0.1", port)
      // systemd-socket-activate starts the child once the first datagram waits; the child answers
      // every datagram, so one answer (to any of the bounded retries) is enough.
      const reply = yield* retried(
        Effect.andThen(udp.send("datagram"), Effect.timeout(udp.receive, "500 millis"))
      )
      expect(Buffer.from(reply).toString()).toBe("Hello, datagram")
      expect(yield* server.announced).toBe(`listening on 127.0.0.1:${port}`)
    }).pipe(Effect.scoped), CHILD_TIMEOUT + 10_000)

  /** Runs the rules mode on two TCP listeners named "other" and "web"; its JSON report. */
  const rules = (env: Record<string, string>) =>
    Effect.gen(function*() {
      const [a, b] = yield* Effect.all([freePort(), freePort()])
      const child = yield* activated(
        ["-l", `127.0.0.1:${a}`, "-l", `127.0.0.1:${b}`, "--fdname=other:web"],
        "rules",
        env
      )
      // systemd-socket-activate starts the child on the first connection
      yield* Effect.forkScoped(
        Effect.repeat(
          Effect.sync(() => net.connect({ host: "127.0.0.1", port: a }).on("error", () => {}).unref()),
          Schedule.spaced("200 millis")
        )
      )
      return { report: JSON.parse(yield* child.output), web: `127.0.0.1:${b}` }
    }).pipe(Effect.scoped)

  it.live(
    "LISTEN_FDNAMES picks by name, the rest stay for a later call, and the variables are unset",
    () =>
      Effect.map(
        rules({}),
        ({ report, web }) => expect(report).toEqual({ named: [web], rest: 1, env: [null, null, null] })
      ),
    CHILD_TIMEOUT + 10_000
  )

  it.live(
    "LISTEN_PID of another process means nothing was passed to us; keepEnvironment keeps the variables",
    () =>
      Effect.map(
        rules({ FIX_PID: "other", KEEP: "1" }),
        ({ report }) => expect(report).toEqual({ named: [], rest: 0, env: ["1", "2", "other:web"] })
      ),
    CHILD_TIMEOUT + 10_000
  )
})
