/**
 * Permissions and ownership, for real: the suite runs as root, so each case binds as another
 * user — a child process dropped to uid/gid 65534 (nobody) with `setpriv` — in a shared
 * directory, with (01777) and without (0777) the sticky bit, next to sockets root owns.
 * Another user's 0600 socket cannot be probed (EACCES): it is never removed, whether or not the
 * directory would allow it, and the bind fails with ListenError(PermissionDenied). A stale
 * socket of root's is replaced where the directory lets nobody remove it (0777), and is a
 * ListenError(PermissionDenied) where it does not (01777: EPERM). A path nobody may look at
 * (EACCES in lstat) is a ListenError(PermissionDenied), never a defect.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Datagram, Listener, Socket } from "../../src/index.js"

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..")
const NOBODY = 65534
const isRoot = process.getuid?.() === 0

const base = fs.mkdtempSync(path.join(os.tmpdir(), "es-perm-"))
fs.chmodSync(base, 0o755)
afterAll(() => fs.rmSync(base, { recursive: true, force: true }))
let unique = 0
/** A fresh shared directory: 0777, or 01777 (sticky). */
const sharedDir = (sticky: boolean) => {
  const dir = path.join(base, `${sticky ? "sticky" : "open"}${++unique}`)
  fs.mkdirSync(dir)
  fs.chmodSync(dir, sticky ? 0o1777 : 0o777)
  return dir
}

interface Outcome {
  readonly tag: string
  readonly reason?: string
  readonly address?: string
  readonly uid?: number
}

/** Binds `kind` at `at` as nobody (test/reliability/fixtures/as-user.ts); its outcome. */
const bindAsNobody = (kind: "listener" | "datagram", at: string) =>
  Effect.async<Outcome, Error>((resume) => {
    const child = spawn(
      "setpriv",
      [
        `--reuid=${NOBODY}`,
        `--regid=${NOBODY}`,
        "--clear-groups",
        process.execPath,
        "--import",
        "tsx",
        "test/reliability/fixtures/as-user.ts",
        kind,
        at
      ],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] }
    )
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    child.on("close", (code) => {
      try {
        const outcome = JSON.parse(stdout) as Outcome
        resume(outcome.uid === NOBODY ? Effect.succeed(outcome) : Effect.fail(new Error(`ran as ${outcome.uid}`)))
      } catch {
        resume(Effect.fail(new Error(`as-user exited ${code}: ${stdout}\n${stderr}`)))
      }
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

const inode = (at: string) => fs.lstatSync(at).ino

/** Root's listener still accepts at `at`. */
const stillAccepts = (listener: Listener.Listener<Socket.UnixStream>, at: string) =>
  Effect.gen(function*() {
    const [client, server] = yield* Effect.zip(Socket.connectUnix(at), listener.accept, { concurrent: true })
    yield* client.send("mine")
    return Buffer.from(yield* server.receive()).toString()
  })

describe.skipIf(!isRoot)("permissions: binding as another user (nobody) next to root's sockets", () => {
  for (const sticky of [false, true]) {
    const where = sticky ? "sticky 01777 dir" : "0777 dir"

    it.scopedLive(
      `a listener over root's live 0600 listener (${where}): PermissionDenied, root's untouched`,
      () =>
        Effect.gen(function*() {
          const at = path.join(sharedDir(sticky), "s")
          const listener = yield* Listener.createUnixListener(at, { mode: 0o600 })
          const before = inode(at)
          const outcome = yield* bindAsNobody("listener", at)
          expect(outcome).toMatchObject({ tag: "ListenError", reason: "PermissionDenied", address: at })
          expect(inode(at)).toBe(before)
          expect(yield* stillAccepts(listener, at)).toBe("mine")
        }),
      30_000
    )

    it.scopedLive(
      `a datagram socket over root's live 0600 datagram socket (${where}): PermissionDenied, root's untouched`,
      () =>
        Effect.gen(function*() {
          const at = path.join(sharedDir(sticky), "d")
          const socket = yield* Datagram.createUnixDatagramSocket({ localPath: at, localMode: 0o600 })
          const before = inode(at)
          const outcome = yield* bindAsNobody("datagram", at)
          expect(outcome).toMatchObject({ tag: "ListenError", reason: "PermissionDenied", address: at })
          expect(inode(at)).toBe(before)
          const sender = yield* Datagram.createUnixDatagramSocket()
          yield* sender.sendto("mine", at)
          expect(Buffer.from((yield* socket.receive)[0]).toString()).toBe("mine")
        }),
      30_000
    )
  }

  for (const kind of ["listener", "datagram"] as const) {
    it.scopedLive(
      `a stale socket of root's (0666): nobody replaces it in a 0777 dir; in a sticky dir EPERM is PermissionDenied (${kind})`,
      () =>
        Effect.gen(function*() {
          const leaveStale = (at: string) =>
            Effect.scoped(
              kind === "listener"
                ? Effect.asVoid(Listener.createUnixListener(at, { mode: 0o666 }))
                : Effect.asVoid(Datagram.createUnixDatagramSocket({ localPath: at, localMode: 0o666 }))
            )
          const open = path.join(sharedDir(false), "s")
          yield* leaveStale(open)
          expect(yield* bindAsNobody(kind, open)).toMatchObject({ tag: "Success" })

          const sticky = path.join(sharedDir(true), "s")
          yield* leaveStale(sticky)
          const before = inode(sticky)
          const outcome = yield* bindAsNobody(kind, sticky)
          expect(outcome).toMatchObject({ tag: "ListenError", reason: "PermissionDenied", address: sticky })
          expect(inode(sticky)).toBe(before)
          expect(fs.lstatSync(sticky).uid).toBe(0)
        }),
      30_000
    )
  }

  it.live(
    "a path nobody may look at (EACCES in lstat, a 0700 dir of root's): PermissionDenied",
    () =>
      Effect.gen(function*() {
        const privateDir = path.join(sharedDir(false), "private")
        fs.mkdirSync(privateDir, { mode: 0o700 })
        const at = path.join(privateDir, "s")
        fs.writeFileSync(at, "")
        for (const kind of ["listener", "datagram"] as const) {
          expect(yield* bindAsNobody(kind, at)).toMatchObject({ tag: "ListenError", reason: "PermissionDenied" })
        }
      }),
    30_000
  )
})
