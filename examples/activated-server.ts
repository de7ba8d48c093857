/**
 * A socket-activated server: serves every socket systemd (or `systemd-socket-activate`) passed
 * to it. Stream sockets (TCP, UNIX) get `Hello, <name>\n` per client, datagram sockets (UDP,
 * UNIX) `Hello, <packet>` per datagram. It binds nothing itself.
 *
 *   systemd-socket-activate -l 127.0.0.1:1234 node --import tsx examples/activated-server.ts
 *   systemd-socket-activate -l /tmp/mysock node --import tsx examples/activated-server.ts
 *   systemd-socket-activate --datagram -l 127.0.0.1:1234 node --import tsx examples/activated-server.ts
 *
 * (Start node directly, not through npx: LISTEN_PID must be the server's own pid.)
 */
import { Console, Effect, Stream } from "effect"
import { Datagram, Listener } from "../src/index.js"
import { formatAddress, isMain, run } from "./lib/cli.js"
import { handle } from "./tcp-server.js"

const hello = (packet: Uint8Array) => Buffer.concat([Buffer.from("Hello, "), packet])

/** Adopts every passed socket, announces each, serves them all until interrupted. */
export const activatedServer = (options: { readonly announce?: (line: string) => Effect.Effect<void> } = {}) =>
  Effect.scoped(Effect.gen(function*() {
    const announce = options.announce ?? Console.log
    const listeners = yield* Listener.fromSystemd()
    const datagrams = yield* Datagram.fromSystemd()
    if (listeners.length + datagrams.length === 0) {
      return yield* Effect.dieMessage(
        "no sockets were passed (LISTEN_FDS/LISTEN_PID): start me with systemd-socket-activate"
      )
    }
    for (const listener of listeners) {
      yield* announce(`listening on ${listener.addresses.map(formatAddress).join(", ")}`)
    }
    for (const socket of datagrams) yield* announce(`listening on ${formatAddress(socket.attributes.localAddress)}`)
    const serveDatagrams = (socket: (typeof datagrams)[number]) => {
      if ("sendto" in socket && socket.attributes.family !== "unix") {
        const udp = socket as Datagram.UdpSocket
        return udp.stream.pipe(Stream.runForEach(([packet, [host, port]]) => udp.sendto(hello(packet), host, port)))
      }
      if ("sendto" in socket) {
        const unix = socket as Datagram.UnixDatagramSocket
        return unix.stream.pipe(
          Stream.runForEach(([packet, sender]) => (sender === null ? Effect.void : unix.sendto(hello(packet), sender)))
        )
      }
      return Effect.void
    }
    yield* Effect.all([
      ...listeners.map((listener) => listener.serve(handle)),
      ...datagrams.map(serveDatagrams)
    ], { concurrency: "unbounded", discard: true })
  }))

if (isMain(import.meta.url)) run(activatedServer())
