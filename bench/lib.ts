/** What every workload shares: a measured result, loopback servers, timing. */
import * as net from "node:net"

/** One measurement, printed by a worker as a JSON line. */
export interface Result {
  /** The figure (MiB/s, round trips/s, …). */
  readonly value: number
  /** Peak resident memory of the worker process, MiB. */
  readonly peakRssMiB: number
}

/** A workload's implementations and its unit; each run is one fresh worker process. */
export interface Workload {
  readonly id: string
  readonly title: string
  readonly unit: string
  readonly params: { readonly full: Record<string, number>; readonly quick: Record<string, number> }
  readonly impls: Record<string, (params: Record<string, number>) => Promise<number>>
}

export const now = (): number => performance.now()

export const peakRssMiB = (): number => process.resourceUsage().maxRSS / 1024

/** A raw server on 127.0.0.1 with an ephemeral port. */
export const listenRaw = (onConnection: (socket: net.Socket) => void): Promise<{ server: net.Server; port: number }> =>
  new Promise((resolve, reject) => {
    const server = net.createServer({ noDelay: true }, onConnection)
    server.once("error", reject)
    server.listen({ host: "127.0.0.1", port: 0 }, () =>
      resolve({ server, port: (server.address() as net.AddressInfo).port }))
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
