/**
 * @internal
 * Driver: a UDP socket over `node:dgram`. Effect-free. Node pushes every datagram as an event
 * and cannot be paused; the owner queues them.
 */
import * as dgram from "node:dgram"

/** @internal What the socket reports after it is bound. */
export interface UdpEvents {
  readonly message: (payload: Buffer, host: string, port: number) => void
  /** An error for an earlier datagram (ICMP "port unreachable" on a connected socket, …). */
  readonly error: (cause: Error) => void
}

/** @internal Options fixed when the socket is created. */
export interface UdpSocketOptions {
  readonly ipv6Only: boolean
  readonly receiveBufferSize?: number | undefined
  readonly sendBufferSize?: number | undefined
}

/** @internal */
export class UdpDriver {
  /** `close` was called (or a failed bind closed it). */
  closing = false
  /** Node emitted 'close': the port is free again. */
  closed = false
  private readonly socket: dgram.Socket
  private readonly closeWaiters: Array<() => void> = []

  constructor(family: 4 | 6, reusePort: boolean, options: UdpSocketOptions = { ipv6Only: false }) {
    // Node applies ipv6Only at bind and the buffer sizes right after it.
    this.socket = dgram.createSocket({
      type: family === 6 ? "udp6" : "udp4",
      ...(reusePort ? { reusePort: true } : {}),
      ...(options.ipv6Only ? { ipv6Only: true } : {}),
      ...(options.receiveBufferSize !== undefined ? { recvBufferSize: options.receiveBufferSize } : {}),
      ...(options.sendBufferSize !== undefined ? { sendBufferSize: options.sendBufferSize } : {})
    } as dgram.SocketOptions)
    this.socket.on("close", () => {
      this.closed = true
      for (const resume of this.closeWaiters.splice(0)) resume()
    })
  }

  /** Binds; from then on datagrams and errors go to `events`. A failed bind closes the socket. */
  bind(
    target: { readonly address: string; readonly port: number } | { readonly fd: number },
    events: UdpEvents,
    callback: (error: Error | null) => void
  ): void {
    this.socket.once("error", (cause) => {
      this.close()
      callback(cause)
    })
    // `{ fd }` adopts a socket made elsewhere (Node checks that it is UDP and takes it over).
    try {
      this.socket.bind(target, () => {
        this.socket.removeAllListeners("error")
        this.socket.on("message", (payload, info) => events.message(payload, info.address, info.port))
        this.socket.on("error", events.error)
        callback(null)
      })
    } catch (cause) {
      this.close()
      callback(cause instanceof Error ? cause : new Error(String(cause)))
    }
  }

  /** The bound address, as Node reports it. */
  address(): { readonly address: string; readonly port: number; readonly family: string } {
    return this.socket.address()
  }

  /** connect(2); `callback` gets Node's answer (Node hands a failed connect's error to it). */
  connect(port: number, host: string, callback: (error: Error | null) => void): void {
    this.socket.connect(port, host, (error?: Error) => callback(error ?? null))
  }

  /**
   * Sends one datagram (to the connected peer when `host` is undefined). Throws on bad
   * arguments; otherwise `callback` (always at least a tick later) gets this datagram's outcome.
   */
  send(
    bytes: Uint8Array,
    port: number | undefined,
    host: string | undefined,
    callback: (error: Error | null) => void
  ): void {
    if (host === undefined) this.socket.send(bytes, callback)
    else this.socket.send(bytes, port, host, callback)
  }

  localAddress(): { readonly host: string; readonly port: number } {
    const local = this.socket.address()
    return { host: local.address, port: local.port }
  }

  setBroadcast(enabled: boolean): void {
    this.socket.setBroadcast(enabled)
  }

  setTtl(ttl: number): void {
    this.socket.setTTL(ttl)
  }

  setMulticastTtl(ttl: number): void {
    this.socket.setMulticastTTL(ttl)
  }

  setMulticastLoopback(enabled: boolean): void {
    this.socket.setMulticastLoopback(enabled)
  }

  /** IP_MULTICAST_IF / IPV6_MULTICAST_IF: an IPv4 interface address, or an IPv6 `%scope`. Throws. */
  setMulticastInterface(interfaceAddress: string): void {
    this.socket.setMulticastInterface(interfaceAddress)
  }

  addMembership(group: string, interfaceAddress: string | undefined): void {
    this.socket.addMembership(group, interfaceAddress)
  }

  dropMembership(group: string, interfaceAddress: string | undefined): void {
    this.socket.dropMembership(group, interfaceAddress)
  }

  /** Closes once, whoever asks first; `callback` runs when the port is free. */
  close(callback?: () => void): void {
    if (this.closed) {
      callback?.()
      return
    }
    if (callback) this.closeWaiters.push(callback)
    if (this.closing) return
    this.closing = true
    this.socket.close()
  }
}
