/**
 * The Effect 4 edition's adoption: Socket.fromFd / fromNetSocket, Listener.fromFd and
 * Datagram.fromFd over real fds that python3 made (TCP, UDP, and AF_UNIX socketpairs and bound
 * sockets) and passed to us with SCM_RIGHTS (the peers of test/scenarios/adoptPeers.ts, shared
 * with the Effect 3 tests), and a connected node:net socket. Wrong kinds are
 * InvalidArgumentError (in AnyIO's words) before the fd is touched; adopted fds close with
 * their scope.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { Datagram, Listener, NetError, Socket } from "../../src/effect4/index.js"
import { inetPeerScript, unixPeerScript } from "../scenarios/adoptPeers.js"
import { spawnPython } from "./helpers/python.js"
import { rawServer } from "./helpers/rawPeers.js"

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString()

const isOpen = (fd: number) => {
  try {
    fs.fstatSync(fd)
    return true
  } catch {
    return false
  }
}

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "es4-adopt-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** Runs a peer script; the fds it passed (any still open are closed with the scope) and its next line. */
const passedBy = (script: string, count: number, extraArgs: (dir: string) => ReadonlyArray<string> = () => []) =>
  Effect.gen(function*() {
    const dir = yield* tempDir
    const at = path.join(dir, "carrier.sock")
    const child = yield* spawnPython(script, [at, ...extraArgs(dir)])
    expect(yield* child.line()).toBe("ready")
    const carrier = yield* Socket.connectUnix(at)
    const [, fds] = yield* carrier.receiveFds(1, count)
    expect(fds).toHaveLength(count)
    yield* Effect.addFinalizer(() => Effect.sync(() => fds.forEach((fd) => isOpen(fd) && fs.closeSync(fd))))
    return { fds, line: yield* child.line(), dir }
  })

const inetFds = Effect.map(passedBy(inetPeerScript, 5), ({ fds, line }) => {
  const [listenPort, udpPort] = line.split(" ").map(Number)
  const [tcp, listening, udp, unbound, connectedUdp] = fds
  return {
    tcp: tcp!,
    listening: listening!,
    udp: udp!,
    unbound: unbound!,
    connectedUdp: connectedUdp!,
    listenPort: listenPort!,
    udpPort: udpPort!
  }
})

const invalidWhy = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.flip(effect), (error) => {
    expect(error).toBeInstanceOf(NetError.InvalidArgumentError)
    return (error as NetError.InvalidArgumentError).why
  })

describe("adopting sockets (Effect 4)", () => {
  it.live("Socket.fromFd adopts python's connected TCP fd: its addresses, it works, it closes with its scope", () =>
    Effect.gen(function*() {
      const fds = yield* inetFds
      yield* Effect.scoped(Effect.gen(function*() {
        const stream = yield* Socket.fromFd(fds.tcp)
        expect(stream.attributes.family).toBe("IPv4")
        expect(stream.attributes.remoteAddress).toEqual({
          _tag: "InetAddress",
          host: "127.0.0.1",
          port: fds.listenPort
        })
        yield* stream.send("hello")
        expect(text(yield* stream.receive())).toBe("HELLO")
      }))
      expect(isOpen(fds.tcp)).toBe(false)
    }).pipe(Effect.scoped))

  it.live("Socket.fromNetSocket adopts a connected node:net socket and destroys it with its scope", () =>
    Effect.gen(function*() {
      const server = yield* rawServer("127.0.0.1")
      const socket = yield* Effect.callback<net.Socket>((resume) => {
        const socket = net.connect({ host: "127.0.0.1", port: server.port }, () => resume(Effect.succeed(socket)))
      })
      const peer = yield* server.accept
      yield* Effect.scoped(Effect.gen(function*() {
        const stream = yield* Socket.fromNetSocket(socket)
        expect(stream.attributes.family).toBe("IPv4")
        peer.resume()
        peer.write("ping")
        expect(text(yield* stream.receive())).toBe("ping")
      }))
      expect(socket.destroyed).toBe(true)
      const notConnected = yield* Effect.flip(Socket.fromNetSocket(new net.Socket()))
      expect(notConnected).toMatchObject({ _tag: "InvalidArgumentError", argument: "socket" })
    }).pipe(Effect.scoped))

  it.live("the wrong kinds are rejected in AnyIO's words, and nothing is taken over", () =>
    Effect.gen(function*() {
      const fds = yield* inetFds
      expect(yield* invalidWhy(Socket.fromFd(fds.listening))).toBe("the socket must be connected (it is listening)")
      expect(yield* invalidWhy(Socket.fromFd(fds.unbound))).toBe("the socket must be connected")
      expect(yield* invalidWhy(Socket.fromFd(fds.udp))).toBe(
        "socket type mismatch: expected SOCK_STREAM, got SOCK_DGRAM"
      )
      expect(yield* invalidWhy(Listener.fromFd(fds.unbound))).toBe("the socket must be bound and listening")
      expect(yield* invalidWhy(Datagram.fromFd(fds.tcp))).toBe(
        "socket type mismatch: expected SOCK_DGRAM, got SOCK_STREAM"
      )
      const file = fs.openSync(import.meta.filename, "r")
      expect(yield* invalidWhy(Socket.fromFd(file))).toBe("the file descriptor does not refer to a socket")
      fs.closeSync(file)
      expect(yield* invalidWhy(Listener.fromFd(file))).toBe(`${file} is not an open file descriptor`)
      expect(yield* invalidWhy(Socket.fromFd(-1))).toMatch(/non-negative integer/)
      expect(yield* invalidWhy(Datagram.fromFd("3" as never))).toMatch(/non-negative integer/)
      expect(yield* Effect.flip(Listener.fromFd(fds.listening, { backlog: 0 }))).toMatchObject({ argument: "backlog" })
      for (const fd of [fds.tcp, fds.listening, fds.unbound, fds.udp]) expect(isOpen(fd)).toBe(true)
    }).pipe(Effect.scoped))

  it.live("Listener.fromFd adopts python's listening TCP fd; our client reaches it", () =>
    Effect.gen(function*() {
      const fds = yield* inetFds
      yield* Effect.scoped(Effect.gen(function*() {
        const listener = yield* Listener.fromFd(fds.listening)
        expect(listener.addresses).toEqual([{ _tag: "InetAddress", host: "127.0.0.1", port: fds.listenPort }])
        const client = yield* Socket.connectTcp("127.0.0.1", fds.listenPort)
        const accepted = yield* listener.accept
        yield* client.send("via adopted listener")
        expect(text(yield* accepted.receive())).toBe("via adopted listener")
      }))
      expect(isOpen(fds.listening)).toBe(false)
    }).pipe(Effect.scoped))

  it.live("Datagram.fromFd adopts python's bound UDP fd; a connected UDP fd is UnsupportedError and stays open", () =>
    Effect.gen(function*() {
      const fds = yield* inetFds
      yield* Effect.scoped(Effect.gen(function*() {
        const udp = (yield* Datagram.fromFd(fds.udp)) as Datagram.UdpSocket
        expect(udp.attributes).toMatchObject({ family: "IPv4", localAddress: { port: fds.udpPort } })
        yield* udp.sendto("to myself", "127.0.0.1", fds.udpPort)
        const [payload, [host, port]] = yield* udp.receive
        expect([text(payload), host, port]).toEqual(["to myself", "127.0.0.1", fds.udpPort])
      }))
      expect(isOpen(fds.udp)).toBe(false)
      const error = yield* Effect.flip(Datagram.fromFd(fds.connectedUdp))
      expect(error).toMatchObject({ _tag: "UnsupportedError", operation: "Datagram.fromFd" })
      expect(isOpen(fds.connectedUdp)).toBe(true)
    }).pipe(Effect.scoped))

  it.live("AF_UNIX fds from python (socketpairs, a listener, a bound datagram socket) are adopted on the addon", () =>
    Effect.gen(function*() {
      const passed = yield* passedBy(unixPeerScript, 6, (dir) => [path.join(dir, "l.sock"), path.join(dir, "d.sock")])
      expect(passed.line).toBe("sent")
      const [streamA, streamB, listening, dgramA, dgramB, bound] = passed.fds as [
        number,
        number,
        number,
        number,
        number,
        number
      ]
      const listenAt = path.join(passed.dir, "l.sock")
      const boundAt = path.join(passed.dir, "d.sock")
      const file = fs.openSync(import.meta.filename, "r")
      yield* Effect.addFinalizer(() => Effect.sync(() => fs.closeSync(file)))
      yield* Effect.scoped(Effect.gen(function*() {
        const left = (yield* Socket.fromFd(streamA)) as Socket.UnixStream
        const right = (yield* Socket.fromFd(streamB)) as Socket.UnixStream
        expect(left.attributes.family).toBe("unix")
        yield* left.sendFds("f", [file])
        const [message, received] = yield* right.receiveFds(1, 1)
        expect(text(message)).toBe("f")
        expect(fs.fstatSync(received[0]!).ino).toBe(fs.fstatSync(file).ino)
        fs.closeSync(received[0]!)

        const listener = yield* Listener.fromFd(listening)
        expect(listener.addresses).toEqual([{ _tag: "UnixAddress", path: listenAt }])
        const client = yield* Socket.connectUnix(listenAt)
        const accepted = yield* listener.accept
        yield* client.send("unix")
        expect(text(yield* accepted.receive())).toBe("unix")

        const a = (yield* Datagram.fromFd(dgramA)) as Datagram.ConnectedUnixDatagramSocket
        const b = (yield* Datagram.fromFd(dgramB)) as Datagram.ConnectedUnixDatagramSocket
        yield* a.send("blah")
        expect(text(yield* b.receive)).toBe("blah")
        const server = (yield* Datagram.fromFd(bound)) as Datagram.UnixDatagramSocket
        expect(server.attributes.localAddress).toEqual({ _tag: "UnixAddress", path: boundAt })
        yield* server.sendto("self", boundAt)
        const [payload, sender] = yield* server.receive
        expect([text(payload), sender]).toEqual(["self", boundAt])
      }))
      expect(passed.fds.map(isOpen)).toEqual([false, false, false, false, false, false])
    }).pipe(Effect.scoped))
})
