/**
 * Test resources: counting what the process holds open (file descriptors, libuv handles), and a
 * raw `node:net` peer (AnyIO's "raw peer") that records everything it sees.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as net from "node:net"
import { countResources, type ResourceCount } from "./processResources.js"

// ---------------------------------------------------------------------------------------------
// Open file descriptors and active handles (plain counters, shared with the Effect 4 edition's tests)

export { activeHandles, countResources, openFds, type ResourceCount } from "./processResources.js"

/**
 * Polls (every 20 ms, for at most `within`) until neither count is above `baseline`; returns
 * the last count seen, which the caller asserts on.
 */
export const settleTo = (
  baseline: ResourceCount,
  within: Duration.DurationInput = "2 seconds"
): Effect.Effect<ResourceCount> =>
  Effect.gen(function*() {
    const deadline = Date.now() + Duration.toMillis(within)
    let now = countResources()
    while ((now.fds > baseline.fds || now.handles > baseline.handles) && Date.now() < deadline) {
      yield* Effect.sleep("20 millis")
      now = countResources()
    }
    return now
  })

// ---------------------------------------------------------------------------------------------
// Raw peer

/** A plain `net.Socket` client that records what it receives, its end and its close. */
export class RawPeer {
  readonly chunks: Array<Buffer> = []
  /** the server's FIN arrived */
  ended = false
  /** the socket is closed (the fd is released) */
  closed = false
  error: Error | undefined = undefined
  private readonly waiters = new Set<() => void>()

  constructor(readonly socket: net.Socket) {
    socket.on("data", (chunk: Buffer) => this.notify(() => this.chunks.push(chunk)))
    socket.on("end", () => this.notify(() => (this.ended = true)))
    socket.on("close", () => this.notify(() => (this.closed = true)))
    socket.on("error", (error) => this.notify(() => (this.error = error)))
  }

  private notify(update: () => unknown): void {
    update()
    for (const waiter of [...this.waiters]) waiter()
  }

  get data(): Buffer {
    return Buffer.concat(this.chunks)
  }

  get text(): string {
    return this.data.toString("utf8")
  }

  /** Waits until `condition` holds; fails (naming `what`) if it does not within `within`. */
  until(
    condition: () => boolean,
    what: string,
    within: Duration.DurationInput = "2 seconds"
  ): Effect.Effect<void, Error> {
    const wait = Effect.async<void>((resume) => {
      const check = () => {
        if (condition()) {
          this.waiters.delete(check)
          resume(Effect.void)
        }
      }
      this.waiters.add(check)
      check()
      return Effect.sync(() => this.waiters.delete(check))
    })
    return wait.pipe(
      Effect.timeoutFail({ duration: within, onTimeout: () => new Error(`raw peer: timed out waiting for ${what}`) })
    )
  }

  /** Everything received once at least `n` bytes have arrived. */
  receiveAtLeast(n: number, within?: Duration.DurationInput): Effect.Effect<Buffer, Error> {
    return Effect.map(this.until(() => this.data.length >= n, `${n} bytes`, within), () => this.data)
  }

  /** Waits for the server's FIN or the socket's close, whichever comes first. */
  awaitEnd(within?: Duration.DurationInput): Effect.Effect<void, Error> {
    return this.until(() => this.ended || this.closed, "end of stream", within)
  }

  write(data: string | Uint8Array): Effect.Effect<void, Error> {
    return Effect.async<void, Error>((resume) => {
      this.socket.write(data, (error) => resume(error ? Effect.fail(error) : Effect.void))
    })
  }
}

/** Connects a raw client (half-open capable, as AnyIO's raw sockets are). */
export const connectRawUnscoped = (host: string, port: number): Effect.Effect<RawPeer, Error> =>
  connectRawTo({ host, port })

/** Connects a raw client to a UNIX socket path. */
export const connectRawPathUnscoped = (path: string): Effect.Effect<RawPeer, Error> => connectRawTo({ path })

const connectRawTo = (target: { readonly host: string; readonly port: number } | { readonly path: string }) =>
  Effect.async<RawPeer, Error>((resume) => {
    const socket = net.connect({ ...target, allowHalfOpen: true })
    const peer = new RawPeer(socket)
    const onError = (error: Error) => resume(Effect.fail(error))
    socket.once("error", onError)
    socket.once("connect", () => {
      socket.off("error", onError)
      resume(Effect.succeed(peer))
    })
    return Effect.sync(() => socket.destroy())
  })

/** A raw client, destroyed when the scope closes. */
export const connectRaw = (host: string, port: number): Effect.Effect<RawPeer, Error, Scope.Scope> =>
  Effect.acquireRelease(connectRawUnscoped(host, port), (peer) => Effect.sync(() => peer.socket.destroy()))

/** A plain `net.Server` bound to `host:port` (to occupy a port), closed when the scope closes. */
export const bindRawServer = (host: string, port: number): Effect.Effect<net.Server, Error, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<net.Server, Error>((resume) => {
      const server = net.createServer((socket) => socket.destroy())
      server.once("error", (error) => resume(Effect.fail(error)))
      server.listen({ host, port, ipv6Only: host.includes(":") }, () => resume(Effect.succeed(server)))
    }),
    (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
  )
