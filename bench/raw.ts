/**
 * Raw Node (flowing mode, `write()` with 'drain' for backpressure): the baseline rows, and the
 * raw clients that serve-shaped workloads use against every server. Node built-ins only (no
 * Effect), so that the Effect 4 peer in bench/effect4/ measures against the very same code.
 *
 * Bulk = `total` bytes in 64 KiB sends, the receiver discards (MiB/s, timed from the first send
 * until the receiver has counted every byte); ping-pong = `rounds` round trips of a 64-byte
 * message on one connection, the server echoing what it receives (round trips/s).
 */
import { execFile } from "node:child_process"
import { once } from "node:events"
import type * as net from "node:net"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import {
  CHUNK,
  connectRaw,
  connectRawUnix,
  type Impl,
  latch,
  listenRaw,
  listenRawUnix,
  MiB,
  now,
  PING,
  tempDir
} from "./lib.js"

/** A raw transport: a server handing each ready connection to `onConnection`, and its clients. */
export interface RawTransport {
  readonly listen: (
    onConnection: (socket: net.Socket) => void
  ) => Promise<{
    readonly connect: () => Promise<net.Socket>
    readonly close: () => void
    /** The TCP port, for transports on one. */
    readonly port?: number
  }>
}

export const rawTcp: RawTransport = {
  listen: async (onConnection) => {
    const { server, port } = await listenRaw(onConnection)
    return { connect: () => connectRaw(port), close: () => server.close(), port }
  }
}

/** A fresh socket path in a private temp dir (removed at exit). */
export const unixSocketPath = (): string => path.join(tempDir(), "bench.sock")

export const rawUnix: RawTransport = {
  listen: async (onConnection) => {
    const socketPath = unixSocketPath()
    const server = await listenRawUnix(socketPath, onConnection)
    return { connect: () => connectRawUnix(socketPath), close: () => server.close() }
  }
}

export const rawBulk = (transport: RawTransport): Impl => async ({ total }) => {
  const done = latch()
  const server = await transport.listen((socket) => {
    let got = 0
    socket.on("data", (data: Buffer) => {
      got += data.length
      if (got >= total!) done.resolve()
    })
  })
  const client = await server.connect()
  const start = now()
  for (let sent = 0; sent < total!; sent += CHUNK.length) {
    if (!client.write(CHUNK)) await once(client, "drain")
  }
  await done.promise
  const seconds = (now() - start) / 1000
  client.destroy()
  server.close()
  return total! / MiB / seconds
}

/** The raw echo: every chunk written back as it comes. */
export const rawEcho = (socket: net.Socket): void => {
  socket.on("data", (data: Buffer) => socket.write(data))
}

/** `rounds` round trips of PING on `client`, resolved when the last echo is complete. */
export const rawPingPongClient = (client: net.Socket, rounds: number): Promise<void> =>
  new Promise<void>((resolve) => {
    let got = 0
    let left = rounds
    client.on("data", (data: Buffer) => {
      got += data.length
      if (got < PING.length) return
      got -= PING.length
      if (--left === 0) resolve()
      else client.write(PING)
    })
    client.write(PING)
  })

export const rawPingPong = (transport: RawTransport): Impl => async ({ rounds }) => {
  const server = await transport.listen(rawEcho)
  const client = await server.connect()
  const start = now()
  await rawPingPongClient(client, rounds!)
  const seconds = (now() - start) / 1000
  client.destroy()
  server.close()
  return rounds! / seconds
}

// ---------------------------------------------------------------------------------------------
// Raw clients against any server on 127.0.0.1:port (W3, W3c): the row then measures the server.

/** `connections` concurrent clients × `rounds` round trips; round trips/s. */
export const rawServeClients = async (port: number, connections: number, rounds: number): Promise<number> => {
  const start = now()
  await Promise.all(Array.from({ length: connections }, async () => {
    const client = await connectRaw(port)
    await rawPingPongClient(client, rounds)
    client.destroy()
  }))
  return (connections * rounds) / ((now() - start) / 1000)
}

/** `churn` cycles of connect, one round trip, close, 20 at a time; connections/s. */
export const rawChurnClients = async (port: number, churn: number): Promise<number> => {
  const parallel = 20
  const one = async () => {
    const socket = await connectRaw(port)
    socket.write(PING)
    await once(socket, "data")
    socket.destroy()
  }
  const start = now()
  for (let i = 0; i < churn; i += parallel) await Promise.all(Array.from({ length: parallel }, one))
  return churn / ((now() - start) / 1000)
}

// ---------------------------------------------------------------------------------------------
// Raw clients in another process (W2x, W3x, W6px): what a server operator sees.

/** Where bench/remote-client.mjs connects: TCP, or TLS trusting `ca` (PEM). */
export interface RemoteTarget {
  readonly port: number
  readonly ca?: string
}

const remoteClientScript = path.join(path.dirname(fileURLToPath(import.meta.url)), "remote-client.mjs")

/**
 * Runs `connections` raw ping-pong clients × `rounds` round trips in a child process (the same
 * Node binary, plain JS: no loader, no Effect) against 127.0.0.1:`port`; resolves with the round
 * trips per second it timed from its first send (after every connection is up) to its last echo.
 */
export const remoteClients = (
  target: RemoteTarget,
  connections: number,
  rounds: number
): Promise<number> =>
  new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [remoteClientScript, JSON.stringify({ ...target, host: "127.0.0.1", connections, rounds })],
      { timeout: 280_000, maxBuffer: 1 << 20 },
      (error, stdout, stderr) => {
        if (error) return reject(new Error(`remote clients: ${error.message}\n${stderr}`))
        resolve((JSON.parse(stdout.trim().split("\n").pop()!) as { value: number }).value)
      }
    )
  })

/** Raw clients driven against a server's port with the workload's parameters; the figure. */
export type Clients = (port: number, params: Record<string, number>) => Promise<number>

/** The client sides of the serve-shaped workloads, for servers of every implementation. */
export const clients = {
  /** W2 one-ended: one raw client in this process, `rounds` round trips. */
  one: async (port, { rounds }) => {
    const client = await connectRaw(port)
    const start = now()
    await rawPingPongClient(client, rounds!)
    const seconds = (now() - start) / 1000
    client.destroy()
    return rounds! / seconds
  },
  /** W3: `connections` × `rounds` in this process. */
  serve: (port, { connections, rounds }) => rawServeClients(port, connections!, rounds!),
  /** W3c: connect/close churn in this process. */
  churn: (port, { churn }) => rawChurnClients(port, churn!),
  /** W2x/W3x: `connections` (default 1) × `rounds` in another process. */
  otherProcess: (port, { connections, rounds }) => remoteClients({ port }, connections ?? 1, rounds!)
} satisfies Record<string, Clients>

/** A raw echo server on 127.0.0.1 with `clients` driven against it. */
export const withRawServer = (clients: Clients): Impl => async (params) => {
  const { server, port } = await listenRaw(rawEcho)
  const figure = await clients(port, params)
  server.close()
  return figure
}
