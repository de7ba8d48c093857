/**
 * W6: TLS over TCP on 127.0.0.1, bulk and ping-pong, as W1/W2. The certificate is a throwaway
 * self-signed P-256 one for IP 127.0.0.1, made by the openssl CLI in a temp dir before the timed
 * region (`testCert`), and verified by both clients against it as their only CA. TLS 1.3 (both
 * sides' default). Timing starts once the client's handshake is done. Rows: raw `node:tls`
 * (`tls.createServer` / `tls.connect`, TCP_NODELAY on both ends as the TCP rows; the baseline)
 * and effect-sockets (`createTcpListener({ tls })` + `serve`, `connectTcp(…, { tls })`), once
 * standard-compatible (the default: ragged-EOF detection, TLS over our transport Duplex) and once
 * with `standardCompatible: false` (Node's native TLS on the socket, as the raw row). W6px: the
 * same ping-pong against each server from a raw `node:tls` client in another process.
 */
import { Effect } from "effect"
import * as tls from "node:tls"
import { Listener, Socket } from "../../src/index.js"
import { type Impl, MiB, testCert, type Workload } from "../lib.js"
import { rawBulk, rawEcho, rawPingPong, type RawTransport, remoteClients } from "../raw.js"
import { effectBulk, effectEcho, effectPingPong, type EffectTransport } from "./streams.js"

const raw: RawTransport = {
  listen: (onConnection) =>
    new Promise((resolve, reject) => {
      const { cert, key } = testCert()
      const server = tls.createServer({ cert, key }, (socket) => {
        socket.setNoDelay(true)
        onConnection(socket)
      })
      server.once("error", reject)
      server.listen({ host: "127.0.0.1", port: 0 }, () => {
        const { port } = server.address() as { port: number }
        const connect = () =>
          new Promise<tls.TLSSocket>((resolve, reject) => {
            const socket = tls.connect({ host: "127.0.0.1", port, ca: cert })
            socket.once("error", reject)
            socket.once("secureConnect", () => {
              socket.setNoDelay(true)
              resolve(socket)
            })
          })
        resolve({ connect, close: () => server.close(), port })
      })
    })
}

/** effect-sockets on both ends; `standardCompatible: false` takes Node's native TLS route. */
const effect = (standardCompatible: boolean): EffectTransport => ({
  listen: Effect.suspend(() => {
    const { cert, key } = testCert()
    return Listener.createTcpListener({ localHost: "127.0.0.1", tls: { cert, key, standardCompatible } })
  }),
  connect: (listener) =>
    Socket.connectTcp("127.0.0.1", (listener.addresses[0] as { port: number }).port, {
      tls: { ca: testCert().cert },
      tlsStandardCompatible: standardCompatible
    })
})

const NATIVE = "effect-sockets, tlsStandardCompatible: false"

/** W6px: a raw node:tls client in another process against a raw server. */
const rawServerRemoteClient: Impl = async ({ rounds }) => {
  const server = await raw.listen(rawEcho)
  const figure = await remoteClients({ port: server.port!, ca: testCert().cert }, 1, rounds!)
  server.close()
  return figure
}

/** W6px: a raw node:tls client in another process against an effect-sockets server. */
const effectServerRemoteClient = (standardCompatible: boolean): Impl => ({ rounds }) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const listener = yield* effect(standardCompatible).listen
    yield* Effect.forkScoped(listener.serve(effectEcho))
    const port = (listener.addresses[0] as { port: number }).port
    return yield* Effect.promise(() => remoteClients({ port, ca: testCert().cert }, 1, rounds!))
  })))

/** The TLS workloads. */
export const tlsWorkloads: ReadonlyArray<Workload> = [
  {
    id: "W6",
    title: "TLS bulk, 64 KiB sends",
    unit: "MiB/s",
    params: { full: { total: 1024 * MiB }, quick: { total: 32 * MiB } },
    impls: { raw: rawBulk(raw), "effect-sockets": effectBulk(effect(true)), [NATIVE]: effectBulk(effect(false)) }
  },
  {
    id: "W6p",
    title: "TLS ping-pong, 64 B",
    unit: "round trips/s",
    params: { full: { rounds: 100_000 }, quick: { rounds: 2_000 } },
    impls: {
      raw: rawPingPong(raw),
      "effect-sockets": effectPingPong(effect(true)),
      [NATIVE]: effectPingPong(effect(false))
    }
  },
  {
    id: "W6px",
    title: "TLS ping-pong, 64 B, raw client in another process",
    unit: "round trips/s",
    params: { full: { rounds: 100_000 }, quick: { rounds: 2_000 } },
    impls: {
      raw: rawServerRemoteClient,
      "effect-sockets server": effectServerRemoteClient(true),
      [`${NATIVE} server`]: effectServerRemoteClient(false)
    }
  }
]
