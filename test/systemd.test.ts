/**
 * Socket activation (#15 item 4): the real /usr/bin/systemd-socket-activate launches
 * examples/activated-server.ts on a TCP, a UNIX and a --datagram socket, and clients talk to
 * it; sd_listen_fds(3)'s rules (LISTEN_PID, LISTEN_FDNAMES, unsetting) checked in a child.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Schedule } from "effect"
import { execFile, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { Datagram, Socket } from "../src/index.js"
import { freePort } from "./helpers/rawPeers.js"

const activate = "/usr/bin/systemd-socket-activate"
const root = path.resolve(import.meta.dirname, "..")
const available = fs.existsSync(activate)

let dir: string
beforeAll(() => void (dir = fs.mkdtempSync(os.tmpdir() + "/es-sd-")))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

/** systemd-socket-activate ARGS node examples/activated-server.ts; resolves once the server announced itself. */
const activated = (args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const announced = yield* Deferred.make<string, Error>()
    const child = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const child = spawn(activate, [...args, process.execPath, "--import", "tsx", "examples/activated-server.ts"], {
          cwd: root,
          stdio: ["ignore", "pipe", "pipe"]
        })
        let out = ""
        let err = ""
        child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
          out += chunk
          if (out.includes("\n")) Deferred.unsafeDone(announced, Effect.succeed(out.split("\n")[0]!))
        })
        child.stderr.setEncoding("utf8").on("data", (chunk: string) => (err += chunk))
        child.on("exit", (code) =>
          Deferred.unsafeDone(announced, Effect.fail(new Error(`exited ${code} before announcing: ${err}`))))
        return child
      }),
      (child) =>
        Effect.async<void>((resume) => {
          if (child.exitCode !== null || child.signalCode !== null) {
            return resume(Effect.void)
          }
          child.once("exit", () =>
            resume(Effect.void))
          child.kill("SIGTERM")
        })
    )
    return { child, announced }
  })

const until = (ready: () => boolean): Effect.Effect<void> =>
  Effect.suspend(() => (ready() ? Effect.void : Effect.zipRight(Effect.sleep("20 millis"), until(ready))))

describe.skipIf(!available)("socket activation with systemd-socket-activate (#15 item 4)", () => {
  it.scopedLive("B37 a TCP socket passed by systemd-socket-activate is served", () =>
    Effect.gen(function*() {
      const port = yield* freePort()
      const server = yield* activated(["-l", `127.0.0.1:${port}`])
      // systemd-socket-activate binds the port before it starts the server: retry (bounded) until it has.
      const client = yield* Socket.connectTcp("127.0.0.1", port).pipe(
        Effect.retry({ times: 100, schedule: Schedule.spaced("50 millis") })
      )
      yield* client.send("activated")
      expect(Buffer.from(yield* client.receive()).toString()).toBe("Hello, activated\n")
      expect(yield* Deferred.await(server.announced)).toBe(`listening on 127.0.0.1:${port}`)
    }), 30_000)

  it.scopedLive("D59 a UNIX socket passed by systemd-socket-activate is served", () =>
    Effect.gen(function*() {
      const at = path.join(dir, "activated.sock")
      const server = yield* activated(["-l", at])
      // systemd-socket-activate binds the path before it starts the server
      yield* until(() => fs.existsSync(at))
      const client = yield* Socket.connectUnix(at)
      yield* client.send("unix")
      expect(Buffer.from(yield* client.receive()).toString()).toBe("Hello, unix\n")
      expect(yield* Deferred.await(server.announced)).toBe(`listening on ${at}`)
    }), 30_000)

  it.scopedLive("E68 a UDP socket passed with --datagram is served", () =>
    Effect.gen(function*() {
      const port = yield* freePort()
      const server = yield* activated(["--datagram", "-l", `127.0.0.1:${port}`])
      // systemd-socket-activate starts the server once the first datagram is waiting
      const udp = yield* Datagram.createConnectedUdpSocket("127.0.0.1", port)
      yield* Effect.sleep("300 millis")
      yield* udp.send("datagram")
      expect(Buffer.from(yield* udp.receive).toString()).toBe("Hello, datagram")
      expect(yield* Deferred.await(server.announced)).toBe(`listening on 127.0.0.1:${port}`)
    }), 30_000)

  const rulesScript = `
import { Effect } from "effect"
import { Listener } from ${JSON.stringify(path.join(root, "src/index.ts"))}
Effect.runPromise(Effect.scoped(Effect.gen(function*() {
  if (process.env.FIX_PID === "other") process.env.LISTEN_PID = "1"
  const named = yield* Listener.fromSystemd({ name: "web", keepEnvironment: process.env.KEEP === "1" })
  const rest = yield* Listener.fromSystemd()
  console.log(JSON.stringify({
    named: named.length,
    rest: rest.length,
    env: [process.env.LISTEN_PID === String(process.pid), process.env.LISTEN_FDS ?? null, process.env.LISTEN_FDNAMES ?? null]
  }))
})))
`
  const rules = (env: Record<string, string>) =>
    Effect.flatMap(
      Effect.all([freePort("127.0.0.1"), freePort("127.0.0.1")]),
      ([a, b]) =>
        Effect.async<unknown, Error>((resume) => {
          // inside the package (scratch/ is git-ignored), so that "effect" resolves
          fs.mkdirSync(path.join(root, "scratch"), { recursive: true })
          const file = path.join(
            root,
            "scratch",
            `systemd-rules-${process.pid}-${Object.keys(env).join("-") || "plain"}.ts`
          )
          fs.writeFileSync(file, rulesScript)
          execFile(
            activate,
            [
              "-l",
              `127.0.0.1:${a}`,
              "-l",
              `127.0.0.1:${b}`,
              "--fdname=other:web",
              "-E",
              "FIX_PID",
              "-E",
              "KEEP",
              process.execPath,
              "--import",
              "tsx",
              file
            ],
            { cwd: root, env: { ...process.env, FIX_PID: "", KEEP: "", ...env }, timeout: 25_000 },
            (error, out, err) => {
              clearInterval(knock)
              fs.rmSync(file, { force: true })
              resume(error ? Effect.fail(new Error(`${error.message}\n${err}`)) : Effect.succeed(JSON.parse(out)))
            }
          )
          // systemd-socket-activate starts the server on the first connection
          const knock = setInterval(
            () => net.connect({ host: "127.0.0.1", port: a }).on("error", () => {}).unref(),
            200
          )
        })
    )

  it.live(
    "B37 sd_listen_fds: LISTEN_FDNAMES picks by name, the rest stay for a later call, variables unset",
    () => Effect.map(rules({}), (result) => expect(result).toEqual({ named: 1, rest: 1, env: [false, null, null] })),
    30_000
  )

  it.live(
    "B37 sd_listen_fds: keepEnvironment leaves the variables set",
    () =>
      Effect.map(
        rules({ KEEP: "1" }),
        (result) => expect(result).toEqual({ named: 1, rest: 1, env: [true, "2", "other:web"] })
      ),
    30_000
  )

  it.live(
    "B37 sd_listen_fds: LISTEN_PID of another process means nothing was passed to us",
    () =>
      Effect.map(
        rules({ FIX_PID: "other" }),
        (result) => expect(result).toEqual({ named: 0, rest: 0, env: [false, null, null] })
      ),
    30_000
  )
})
