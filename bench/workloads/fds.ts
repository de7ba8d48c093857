/**
 * W8: file-descriptor passing over a UNIX stream socket (native addon), both ends
 * effect-sockets. The client sends a 64-byte message carrying one fd (`/dev/null`, opened once;
 * the kernel gives the peer a duplicate) with `sendFds`, the server takes it with `receiveFds`,
 * closes the fd it got and echoes 64 bytes with `send`; the client waits for the echo (one fd
 * in flight). Figure: fds passed per second (= round trips/s). The server checks it received
 * exactly one fd per message.
 *
 * Node cannot pass fds, so the baseline ("raw") is the same effect-sockets UNIX ping-pong of the
 * same 64-byte messages without fds (`send` / `receive`): the ratio is what fd passing costs on
 * top of a plain message.
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { Listener, Socket } from "../../src/index.js"
import { now, PING, tempDir, type Workload } from "../lib.js"
import { withBackend } from "./streams.js"

const fdPingPong = (withFds: boolean) => ({ rounds }: Record<string, number>) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const socketPath = path.join(tempDir(), "w8.sock")
    const listener = yield* Listener.createUnixListener(socketPath)
    let fdsReceived = 0
    const handler = (stream: Socket.UnixStream) =>
      Effect.gen(function*() {
        while (true) {
          let got = 0
          while (got < PING.length) {
            if (withFds) {
              const [message, fds] = yield* stream.receiveFds(PING.length - got, 4)
              got += message.length
              for (const fd of fds) fs.closeSync(fd)
              fdsReceived += fds.length
            } else {
              got += (yield* stream.receive(PING.length - got)).length
            }
          }
          yield* stream.send(PING)
        }
      }).pipe(Effect.catchTag("EndOfStream", () => Effect.void))
    yield* Effect.forkScoped(listener.serve(handler))
    const client = yield* Socket.connectUnix(socketPath)
    const file = yield* Effect.acquireRelease(
      Effect.sync(() => fs.openSync("/dev/null", "r")),
      (fd) => Effect.sync(() => fs.closeSync(fd))
    )
    const fds = [file]
    const start = now()
    for (let i = 0; i < rounds!; i++) {
      if (withFds) yield* client.sendFds(PING, fds)
      else yield* client.send(PING)
      let got = 0
      while (got < PING.length) got += (yield* client.receive()).length
    }
    const seconds = (now() - start) / 1000
    if (withFds && fdsReceived !== rounds!) {
      return yield* Effect.dieMessage(`W8: the server received ${fdsReceived} fds for ${rounds} messages`)
    }
    return rounds! / seconds
  })))

/** The fd-passing workload. */
export const fdWorkloads: ReadonlyArray<Workload> = [
  {
    id: "W8",
    title: "fd passing, 1 fd per 64 B round trip (raw = effect-sockets UNIX ping-pong without fds)",
    unit: "fds/s",
    params: { full: { rounds: 100_000 }, quick: { rounds: 3_000 } },
    impls: {
      raw: withBackend(true, fdPingPong(false)),
      "effect-sockets": withBackend(true, fdPingPong(true))
    }
  }
]
