/**
 * @internal
 * Driver: the accept queue of one or more bound `net.Server`s (several when a name resolves to
 * several addresses). Effect-free.
 *
 * Node accepts connections itself, as fast as they come, and cannot pause `accept()`; accepted
 * sockets wait here, paused (nothing is read from them), in a queue bounded by the listen
 * backlog. Beyond the bound, new connections are closed at once, as a full kernel backlog would
 * refuse them.
 */
import type * as net from "node:net"

/** @internal */
export class NetAcceptQueue {
  closed = false
  /** The first accept() failure Node reported (EMFILE, ENFILE, …) and nobody has taken yet. */
  failure: Error | undefined = undefined
  private readonly pending: Array<net.Socket> = []

  constructor(
    readonly servers: ReadonlyArray<net.Server>,
    backlog: number,
    /** Something to take: a connection, a failure, or the queue closed. */
    ready: () => void
  ) {
    for (const server of servers) {
      server.on("connection", (socket: net.Socket) => {
        if (this.closed || this.pending.length >= backlog) {
          socket.destroy()
          return
        }
        // A peer may reset while its connection waits; the stream reports it when received from.
        socket.on("error", () => {})
        this.pending.push(socket)
        ready()
      })
      // After listening, Node reports only accept() failures here.
      server.on("error", (cause) => {
        this.failure ??= cause
        ready()
      })
    }
  }

  get size(): number {
    return this.pending.length
  }

  /** The oldest waiting connection (call only when `size > 0`). */
  take(): net.Socket {
    return this.pending.shift()!
  }

  /** The failure reported since the last take (reported once). */
  takeFailure(): Error | undefined {
    const failure = this.failure
    this.failure = undefined
    return failure
  }

  /** Refuses everything from now on and closes the connections nobody took. */
  close(): void {
    this.closed = true
    for (const socket of this.pending.splice(0)) socket.destroy()
  }
}

/**
 * @internal
 * Stops listening; `callback` runs once the listening socket is closed (connections stay).
 * Node's own close callback waits for every accepted connection to end; the listening socket
 * itself is closed by the time the next loop iteration runs.
 */
export const closeServer = (server: net.Server, callback: () => void): void => {
  if (!server.listening) return callback()
  server.close()
  setImmediate(callback)
}
