/**
 * Datagram workloads. One shape for all: a client sends `window` 64-byte datagrams, then one
 * more each time an echo comes back, until `total` echoes have come back; an echo server sends
 * every datagram back to its sender. The figure is echoed datagrams per second (each round trip
 * counts once). `window: 1` is ping-pong (one datagram in flight); `window: 32` keeps 32 in
 * flight. Timing starts at the first send, after both sockets are bound.
 *
 * W4  UDP ping-pong on 127.0.0.1          raw node:dgram vs effect-sockets
 * W4w UDP windowed, 32 in flight          raw node:dgram vs effect-sockets
 * W7  UNIX datagram ping-pong (addon) against UDP ping-pong: effect-sockets UNIX datagram,
 *     effect-sockets UDP, and raw node:dgram UDP as the baseline (Node has no UNIX datagram
 *     sockets).
 *
 * In every effect-sockets row both ends are effect-sockets: the server an unconnected socket
 * (`receive` → `sendto` its sender), the client a connected one (`send`, `receive`), as the raw
 * rows. A lost datagram (never seen on loopback at these windows) would stall the run: a
 * watchdog then fails it with a message instead of waiting for the orchestrator's timeout.
 */
import { Effect } from "effect"
import * as dgram from "node:dgram"
import * as path from "node:path"
import { Datagram } from "../../src/index.js"
import { latch, now, tempDir, watchdog, type Workload } from "../lib.js"
import { withBackend } from "./streams.js"

const PING = Buffer.alloc(64, 0x63)

const bindRaw = (socket: dgram.Socket): Promise<number> =>
  new Promise((resolve, reject) => {
    socket.once("error", reject)
    socket.bind(0, "127.0.0.1", () => {
      socket.off("error", reject)
      resolve(socket.address().port)
    })
  })

const rawUdp = async ({ total, window }: Record<string, number>) => {
  const server = dgram.createSocket("udp4")
  server.on("message", (message, sender) => server.send(message, sender.port, sender.address))
  const port = await bindRaw(server)
  const client = dgram.createSocket("udp4")
  await bindRaw(client)
  await new Promise<void>((resolve) => client.connect(port, "127.0.0.1", resolve))
  const done = latch()
  let sent = 0
  let got = 0
  const stop = watchdog("raw UDP", () => got)
  client.on("message", () => {
    if (++got === total!) done.resolve()
    else if (sent < total!) {
      sent++
      client.send(PING)
    }
  })
  const start = now()
  for (; sent < window!; sent++) client.send(PING)
  await done.promise
  const seconds = (now() - start) / 1000
  stop()
  client.close()
  server.close()
  return total! / seconds
}

/** The client's side of the shape, over any connected datagram socket. */
const effectClient = <E1, E2>(
  label: string,
  client: {
    readonly send: (payload: Uint8Array) => Effect.Effect<void, E1>
    readonly receive: Effect.Effect<Uint8Array, E2>
  },
  total: number,
  window: number
) =>
  Effect.gen(function*() {
    let sent = 0
    let got = 0
    const stop = watchdog(label, () => got)
    const start = now()
    for (; sent < window; sent++) yield* client.send(PING)
    while (got < total) {
      yield* client.receive
      got++
      if (sent < total) {
        sent++
        yield* client.send(PING)
      }
    }
    const seconds = (now() - start) / 1000
    stop()
    return total / seconds
  })

const effectUdp = ({ total, window }: Record<string, number>) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const server = yield* Datagram.createUdpSocket({ localHost: "127.0.0.1" })
    yield* Effect.forkScoped(
      Effect.forever(Effect.flatMap(server.receive, ([payload, [host, port]]) => server.sendto(payload, host, port)))
    )
    const client = yield* Datagram.createConnectedUdpSocket("127.0.0.1", server.attributes.localAddress.port, {
      localHost: "127.0.0.1"
    })
    return yield* effectClient("effect-sockets UDP", client, total!, window!)
  })))

const effectUnixDatagram = ({ total, window }: Record<string, number>) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const dir = tempDir()
    const serverPath = path.join(dir, "server.sock")
    const server = yield* Datagram.createUnixDatagramSocket({ localPath: serverPath })
    yield* Effect.forkScoped(
      Effect.forever(Effect.flatMap(server.receive, ([payload, sender]) => server.sendto(payload, sender!)))
    )
    const client = yield* Datagram.createConnectedUnixDatagramSocket(serverPath, {
      localPath: path.join(dir, "client.sock")
    })
    return yield* effectClient("effect-sockets UNIX datagram", client, total!, window!)
  })))

/** The datagram workloads. */
export const datagramWorkloads: ReadonlyArray<Workload> = [
  {
    id: "W4",
    title: "UDP ping-pong, 64 B, 1 in flight",
    unit: "datagrams/s",
    params: { full: { total: 100_000, window: 1 }, quick: { total: 3_000, window: 1 } },
    impls: { raw: rawUdp, "effect-sockets": effectUdp }
  },
  {
    id: "W4w",
    title: "UDP windowed, 64 B, 32 in flight",
    unit: "datagrams/s",
    params: { full: { total: 300_000, window: 32 }, quick: { total: 10_000, window: 32 } },
    impls: { raw: rawUdp, "effect-sockets": effectUdp }
  },
  {
    id: "W7",
    title: "UNIX datagram ping-pong vs UDP, 64 B, 1 in flight (raw = node:dgram UDP)",
    unit: "datagrams/s",
    params: { full: { total: 100_000, window: 1 }, quick: { total: 3_000, window: 1 } },
    impls: {
      raw: rawUdp,
      "effect-sockets UNIX datagram": withBackend(true, effectUnixDatagram),
      "effect-sockets UDP": effectUdp
    }
  }
]
