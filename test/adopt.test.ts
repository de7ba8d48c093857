/**
 * Adoption (#15 item 3): Socket.fromFd / fromNetSocket, Listener.fromFd, Datagram.fromFd over
 * real fds: TCP and UDP sockets a python3 child made and passed to us with SCM_RIGHTS, AF_UNIX
 * ones from the addon. Wrong kinds are InvalidArgumentError before the fd is touched; adopted
 * fds are closed with their scope.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { Datagram, Listener, NetError, Socket } from "../src/index.js"
import { load } from "../src/internal/driver/addon.js"
import { spawnPython } from "./helpers/python.js"
import { rawServer } from "./helpers/rawPeers.js"
import { inetPeerScript } from "./scenarios/adoptPeers.js"

let dir: string
beforeAll(() => void (dir = fs.mkdtempSync(os.tmpdir() + "/es-adopt-")))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))
let unique = 0
const tempPath = () => path.join(dir, `s${++unique}`)

const isOpen = (fd: number) => {
  try {
    fs.fstatSync(fd)
    return true
  } catch {
    return false
  }
}

const pythonFds = Effect.gen(function*() {
  const at = tempPath()
  const child = yield* spawnPython(inetPeerScript, [at])
  yield* child.line()
  const carrier = yield* Socket.connectUnix(at)
  const [, fds] = yield* carrier.receiveFds(1, 5)
  const [listenPort, udpPort] = (yield* child.line()).split(" ").map(Number)
  yield* Effect.addFinalizer(() => Effect.sync(() => fds.slice(3).forEach((fd) => isOpen(fd) && fs.closeSync(fd))))
  return {
    tcp: fds[0]!,
    listening: fds[1]!,
    udp: fds[2]!,
    unbound: fds[3]!,
    connectedUdp: fds[4]!,
    listenPort: listenPort!,
    udpPort: udpPort!
  }
})

const invalidWhy = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.either(effect), (result) => {
    expect(Either.isLeft(result)).toBe(true)
    const error = (result as Either.Left<E, A>).left
    expect(error).toBeInstanceOf(NetError.InvalidArgumentError)
    return (error as NetError.InvalidArgumentError).why
  })

describe("adopting sockets (#15 item 3)", () => {
  it.scopedLive("A26 Socket.fromFd adopts a connected TCP fd: its family, and it works", () =>
    Effect.gen(function*() {
      const fds = yield* pythonFds
      const stream = yield* Effect.scoped(Effect.gen(function*() {
        const stream = yield* Socket.fromFd(fds.tcp)
        expect(stream.attributes.family).toBe("IPv4")
        expect(stream.attributes.remoteAddress).toEqual({
          _tag: "InetAddress",
          host: "127.0.0.1",
          port: fds.listenPort
        })
        yield* stream.send("hello")
        expect(Buffer.from(yield* stream.receive()).toString()).toBe("HELLO")
        return stream
      }))
      expect(stream.attributes.localAddress._tag).toBe("InetAddress")
      expect(isOpen(fds.tcp)).toBe(false) // owned: closed with its scope
    }))

  it.scopedLive("A26 Socket.fromNetSocket adopts a connected net.Socket", () =>
    Effect.gen(function*() {
      const server = yield* rawServer("127.0.0.1")
      const socket = yield* Effect.async<net.Socket>((resume) => {
        const socket = net.connect({ host: "127.0.0.1", port: server.port }, () => resume(Effect.succeed(socket)))
      })
      const peer = yield* server.accept
      yield* Effect.scoped(Effect.gen(function*() {
        const stream = yield* Socket.fromNetSocket(socket)
        expect(stream.attributes.family).toBe("IPv4")
        peer.resume()
        peer.write("ping")
        expect(Buffer.from(yield* stream.receive()).toString()).toBe("ping")
      }))
      expect(socket.destroyed).toBe(true)
    }))

  it.scopedLive("A27 Socket.fromFd rejects the wrong kinds before touching them", () =>
    Effect.gen(function*() {
      const fds = yield* pythonFds
      expect(yield* invalidWhy(Socket.fromFd(fds.listening))).toMatch(/must be connected/)
      expect(yield* invalidWhy(Socket.fromFd(fds.unbound))).toBe("the socket must be connected")
      expect(yield* invalidWhy(Socket.fromFd(fds.udp))).toBe(
        "socket type mismatch: expected SOCK_STREAM, got SOCK_DGRAM"
      )
      const file = fs.openSync(__filename, "r")
      expect(yield* invalidWhy(Socket.fromFd(file))).toBe("the file descriptor does not refer to a socket")
      fs.closeSync(file)
      expect(yield* invalidWhy(Socket.fromFd(file))).toMatch(/not an open file descriptor/)
      expect(yield* invalidWhy(Socket.fromFd(-1))).toMatch(/non-negative integer/)
      expect(yield* invalidWhy(Socket.fromFd("3" as never))).toMatch(/non-negative integer/)
      const notConnected = yield* Effect.either(Socket.fromNetSocket(new net.Socket()))
      expect(Either.isLeft(notConnected) && notConnected.left._tag).toBe("InvalidArgumentError")
      // nothing was taken over
      for (const fd of [fds.listening, fds.unbound, fds.udp]) expect(isOpen(fd)).toBe(true)
      fs.closeSync(fds.tcp)
      fs.closeSync(fds.listening)
      fs.closeSync(fds.udp)
    }))

  it.scopedLive("B37 Listener.fromFd adopts a listening TCP fd; an unbound socket is rejected", () =>
    Effect.gen(function*() {
      const fds = yield* pythonFds
      fs.closeSync(fds.tcp)
      fs.closeSync(fds.udp)
      expect(yield* invalidWhy(Listener.fromFd(fds.unbound))).toBe("the socket must be bound and listening")
      yield* Effect.scoped(Effect.gen(function*() {
        const listener = yield* Listener.fromFd(fds.listening)
        expect(listener.addresses).toEqual([{ _tag: "InetAddress", host: "127.0.0.1", port: fds.listenPort }])
        const client = yield* Socket.connectTcp("127.0.0.1", fds.listenPort)
        const accepted = yield* listener.accept
        yield* client.send("via adopted listener")
        expect(Buffer.from(yield* accepted.receive()).toString()).toBe("via adopted listener")
      }))
      expect(isOpen(fds.listening)).toBe(false)
    }))

  it.scopedLive("E68 Datagram.fromFd adopts a bound UDP fd; a stream socket is rejected", () =>
    Effect.gen(function*() {
      const fds = yield* pythonFds
      expect(yield* invalidWhy(Datagram.fromFd(fds.tcp))).toBe(
        "socket type mismatch: expected SOCK_DGRAM, got SOCK_STREAM"
      )
      fs.closeSync(fds.tcp)
      fs.closeSync(fds.listening)
      yield* Effect.scoped(Effect.gen(function*() {
        const udp = (yield* Datagram.fromFd(fds.udp)) as Datagram.UdpSocket
        expect(udp.attributes).toMatchObject({ family: "IPv4", localAddress: { port: fds.udpPort } })
        yield* udp.sendto("to myself", "127.0.0.1", fds.udpPort)
        const [payload, [host, port]] = yield* udp.receive
        expect([Buffer.from(payload).toString(), host, port]).toEqual(["to myself", "127.0.0.1", fds.udpPort])
      }))
      expect(isOpen(fds.udp)).toBe(false)
    }))

  it.scopedLive("F73 a connected UDP fd is UnsupportedError (Node's dgram adopts only unconnected), left open", () =>
    Effect.gen(function*() {
      const fds = yield* pythonFds
      const error = yield* Effect.flip(Datagram.fromFd(fds.connectedUdp))
      expect(error._tag).toBe("UnsupportedError")
      expect((error as NetError.UnsupportedError).why).toMatch(/bind\(\{ fd \}\)/)
      expect(isOpen(fds.connectedUdp)).toBe(true)
      for (const fd of [fds.tcp, fds.listening, fds.udp]) fs.closeSync(fd)
    }))

  it.scopedLive("C52 Socket.fromFd adopts connected AF_UNIX fds on the addon, fd passing included", () =>
    Effect.gen(function*() {
      const addon = load()
      const [a, b] = addon.socketpair("stream")
      const file = fs.openSync(__filename, "r")
      yield* Effect.scoped(Effect.gen(function*() {
        const left = (yield* Socket.fromFd(a)) as Socket.UnixStream
        const right = (yield* Socket.fromFd(b)) as Socket.UnixStream
        expect(left.attributes.family).toBe("unix")
        expect(left.attributes.peerCredentials).toEqual({
          pid: process.pid,
          uid: process.getuid!(),
          gid: process.getgid!()
        })
        yield* left.sendFds("f", [file])
        const [message, fds] = yield* right.receiveFds(1, 1)
        expect(Buffer.from(message).toString()).toBe("f")
        expect(fs.fstatSync(fds[0]!).ino).toBe(fs.fstatSync(file).ino)
        fs.closeSync(fds[0]!)
      }))
      fs.closeSync(file)
      expect([isOpen(a), isOpen(b)]).toEqual([false, false])
    }))

  it.scopedLive("D59 Listener.fromFd adopts a bound, listening AF_UNIX fd", () =>
    Effect.gen(function*() {
      const addon = load()
      const at = tempPath()
      const fd = addon.socket("stream")
      addon.bind(fd, Buffer.from(at))
      addon.listen(fd, 8)
      yield* Effect.scoped(Effect.gen(function*() {
        const listener = yield* Listener.fromFd(fd)
        expect(listener.addresses).toEqual([{ _tag: "UnixAddress", path: at }])
        const client = yield* Socket.connectUnix(at)
        const accepted = yield* listener.accept
        expect(accepted.attributes.family).toBe("unix")
        yield* client.send("unix")
        expect(Buffer.from(yield* accepted.receive()).toString()).toBe("unix")
      }))
      expect(isOpen(fd)).toBe(false)
    }))

  it.scopedLive("G77/G78 Datagram.fromFd adopts AF_UNIX datagram fds, connected and bound", () =>
    Effect.gen(function*() {
      const addon = load()
      const [a, b] = addon.socketpair("dgram")
      const at = tempPath()
      const bound = addon.socket("dgram")
      addon.bind(bound, Buffer.from(at))
      yield* Effect.scoped(Effect.gen(function*() {
        const left = (yield* Datagram.fromFd(a)) as Datagram.ConnectedUnixDatagramSocket
        const right = (yield* Datagram.fromFd(b)) as Datagram.ConnectedUnixDatagramSocket
        yield* left.send("blah")
        expect(Buffer.from(yield* right.receive).toString()).toBe("blah")
        const server = (yield* Datagram.fromFd(bound)) as Datagram.UnixDatagramSocket
        expect(server.attributes.localAddress).toEqual({ _tag: "UnixAddress", path: at })
        expect("sendto" in server).toBe(true)
        yield* server.sendto("self", at)
        const [payload, sender] = yield* server.receive
        expect([Buffer.from(payload).toString(), sender]).toEqual(["self", at])
        const [s] = addon.socketpair("stream")
        expect(yield* invalidWhy(Datagram.fromFd(s!))).toBe(
          "socket type mismatch: expected SOCK_DGRAM, got SOCK_STREAM"
        )
        addon.close(s!)
      }))
      expect([isOpen(a), isOpen(b), isOpen(bound)]).toEqual([false, false, false])
    }))
})
