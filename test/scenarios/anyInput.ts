/**
 * The "no defect from any input" scenarios as plain data, for both editions' any-input tests
 * (test/reliability/any-input.test.ts, test/effect4/any-input.test.ts): fast-check arbitraries
 * for every argument — wrong types, NaN, -0, huge and negative numbers, odd strings, empty and
 * over-long paths, strange byte arrays, arbitrary option objects — and a table of every public
 * constructor and operation with its arguments. Each edition runs a case with its own runtime
 * and judges the outcome: a success or a typed NetError, never a defect, an uncaught exception
 * or a hang.
 *
 * Hosts to connect to come from a fixed list (loopback, names that cannot resolve, malformed
 * strings): an arbitrary string may be a number that getaddrinfo reads as an IPv4 address, and
 * no case may ever send a packet off this machine.
 */
import fc from "fast-check"
import * as path from "node:path"

/** Every tag of the NetError family: the only failures a case may end with. */
export const NET_ERROR_TAGS: ReadonlySet<string> = new Set([
  "EndOfStream",
  "ClosedResourceError",
  "BrokenResourceError",
  "BusyResourceError",
  "ConnectError",
  "ResolveError",
  "ListenError",
  "IncompleteRead",
  "DelimiterNotFound",
  "UnsupportedError",
  "InvalidArgumentError",
  "TlsError"
])

/** Values that have broken libraries before (-0 aborted Node's chmod: found here, in CI). */
export const oddValues: ReadonlyArray<unknown> = [
  undefined,
  null,
  NaN,
  -1,
  -0,
  0,
  1,
  1.5,
  65535,
  65536,
  2 ** 31,
  2 ** 32,
  2 ** 53,
  1e20,
  Infinity,
  -Infinity,
  "",
  "\0",
  "\0abstract",
  "x".repeat(300),
  "not a host!",
  "\u{1F600}",
  "0x1F",
  true,
  false,
  {},
  [],
  [1, 2],
  () => 1,
  Symbol("odd"),
  BigInt(7),
  new Date(0),
  new Uint8Array(0),
  new Uint8Array(300),
  new Uint16Array(3),
  new Float64Array(2),
  new ArrayBuffer(4),
  Buffer.from([0xff, 0xfe, 0x00]),
  new DataView(new ArrayBuffer(2))
]

export const oddArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...oddValues) },
  { weight: 1, arbitrary: fc.integer({ min: -70000, max: 70000 }) },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }).map((s) => s.replace(/[0-9.:]/g, "_")) }
)

/** Option objects: known keys with odd values (or the key's own arbitrary), or no object at all. */
export const optionsArb = (
  keys: ReadonlyArray<string>,
  special: Readonly<Record<string, fc.Arbitrary<unknown>>> = {}
): fc.Arbitrary<unknown> =>
  fc.oneof(
    fc.uniqueArray(fc.constantFrom(...keys), { maxLength: 4 }).chain((chosen) =>
      fc.tuple(...chosen.map((key) => special[key] ?? oddArb)).map((values) =>
        Object.fromEntries(chosen.map((key, i) => [key, values[i]]))
      )
    ),
    fc.constantFrom(...oddValues)
  )

/** Hosts that stay on this machine whatever else the arguments say. */
export const hostArb = fc.constantFrom<unknown>(
  "127.0.0.1",
  "::1",
  "localhost",
  "",
  "\0",
  "not a host!",
  "no-such-host.invalid",
  "[::1]",
  "127.0.0.1:80",
  "x".repeat(300),
  undefined,
  null,
  7,
  {}
)

/**
 * UNIX paths: every one that names a file lies under `dir` (a relative or odd string is put
 * there), so no case can leave a socket file anywhere else; the rest are abstract names, bytes,
 * or not paths at all.
 */
export const pathArb = (dir: string): fc.Arbitrary<unknown> => {
  const confine = (value: unknown): unknown =>
    typeof value === "string" && value !== "" && !value.startsWith("\0")
      ? path.join(dir, value.replace(/\//g, "_"))
      : value
  return fc.oneof(
    fc.constantFrom<unknown>(
      path.join(dir, "missing.sock"),
      dir,
      path.join(dir, "x".repeat(120)),
      "\0" + "y".repeat(120),
      Buffer.concat([Buffer.from(dir + "/"), Buffer.from([0xff, 0xfe])]),
      new Uint8Array(0)
    ),
    oddArb.map(confine)
  )
}

export const groupArb = fc.constantFrom<unknown>(
  "224.0.0.251",
  "ff02::1",
  "127.0.0.1",
  "",
  "not a group",
  undefined,
  7,
  {}
)

export const tcpOptionKeys = [
  "localHost",
  "localPort",
  "happyEyeballsDelay",
  "noDelay",
  "tls",
  "tlsHostname",
  "tlsStandardCompatible",
  "family",
  "backlog",
  "reusePort",
  "receiveQueueSize"
]

const unixDatagramOptionKeys = ["localPath", "localMode", "autobind", "maxDatagramSize"]

/**
 * One operation with arbitrary arguments. `call` applies the operation to its target (an
 * edition's modules, or a live socket) and returns what it returns: an effect, or for `sync` a
 * plain value. `mayWait`: a valid call may wait for a peer, so the runner bounds it briefly (a
 * timeout there is not a hang). `fed`: the runner has the peer send a byte first, so a valid
 * receive never waits.
 */
export interface AnyInputCase<Target> {
  readonly name: string
  readonly args: fc.Arbitrary<ReadonlyArray<unknown>>
  readonly call: (target: Target, args: ReadonlyArray<unknown>) => unknown
  readonly sync?: boolean
  readonly mayWait?: boolean
  readonly fed?: boolean
}

type Loose = Record<string, any>

const apply = (f: unknown, args: ReadonlyArray<unknown>): unknown => (f as (...a: Array<unknown>) => unknown)(...args)

/** An edition's entry point, as far as the cases below need it. */
export interface EditionModules {
  readonly Socket: Loose
  readonly Listener: Loose
  readonly Datagram: Loose
  readonly ByteStream: Loose
}

/** Every public constructor. */
export const constructorCases = (dir: string): ReadonlyArray<AnyInputCase<EditionModules>> => [
  {
    name: "Socket.connectTcp",
    args: fc.tuple(hostArb, oddArb, optionsArb(tcpOptionKeys)),
    call: (m, a) => apply(m.Socket.connectTcp, a)
  },
  { name: "Socket.connectUnix", args: fc.tuple(pathArb(dir)), call: (m, a) => apply(m.Socket.connectUnix, a) },
  {
    name: "Listener.createTcpListener",
    args: fc.tuple(optionsArb(tcpOptionKeys)),
    call: (m, a) => apply(m.Listener.createTcpListener, a)
  },
  {
    name: "Listener.createUnixListener",
    args: fc.tuple(pathArb(dir), optionsArb(["mode", "backlog", "unlinkOnClose"])),
    call: (m, a) => apply(m.Listener.createUnixListener, a)
  },
  {
    name: "Datagram.createUdpSocket",
    args: fc.tuple(optionsArb(tcpOptionKeys)),
    call: (m, a) => apply(m.Datagram.createUdpSocket, a)
  },
  {
    name: "Datagram.createConnectedUdpSocket",
    args: fc.tuple(hostArb, oddArb, optionsArb(tcpOptionKeys)),
    call: (m, a) => apply(m.Datagram.createConnectedUdpSocket, a)
  },
  {
    name: "Datagram.createUnixDatagramSocket",
    args: fc.tuple(optionsArb(unixDatagramOptionKeys, { localPath: pathArb(dir) })),
    call: (m, a) => apply(m.Datagram.createUnixDatagramSocket, a)
  },
  {
    name: "Datagram.createConnectedUnixDatagramSocket",
    args: fc.tuple(pathArb(dir), optionsArb(unixDatagramOptionKeys, { localPath: pathArb(dir) })),
    call: (m, a) => apply(m.Datagram.createConnectedUnixDatagramSocket, a)
  },
  {
    name: "ByteStream.makePair",
    args: fc.tuple(optionsArb(["bufferSize"])),
    call: (m, a) => apply(m.ByteStream.makePair, a)
  },
  {
    name: "ByteStream.makePipe",
    args: fc.tuple(optionsArb(["bufferSize"])),
    call: (m, a) => apply(m.ByteStream.makePipe, a)
  }
]

/** What the stream cases act on: a TCP stream whose peer sends a byte on request, and its edition. */
export interface StreamTarget {
  readonly modules: EditionModules
  readonly stream: Loose
  readonly buffered: Loose
}

/** Every operation of a byte stream, of its buffered view, and `ByteStream.text`. */
export const streamCases: ReadonlyArray<AnyInputCase<StreamTarget>> = [
  { name: "stream.receive", args: fc.tuple(oddArb), call: (t, a) => apply(t.stream.receive, a), fed: true },
  { name: "stream.send", args: fc.tuple(oddArb), call: (t, a) => apply(t.stream.send, a) },
  {
    name: "buffered.receiveExactly",
    args: fc.tuple(oddArb),
    call: (t, a) => apply(t.buffered.receiveExactly, a),
    fed: true,
    mayWait: true
  },
  {
    name: "buffered.receiveUntil",
    args: fc.tuple(oddArb, oddArb),
    call: (t, a) => apply(t.buffered.receiveUntil, a),
    fed: true,
    mayWait: true
  },
  {
    name: "ByteStream.text",
    args: fc.tuple(optionsArb(["encoding", "fatal"])),
    call: (t, [options]) => apply(t.modules.ByteStream.text, [t.stream, options]),
    sync: true
  }
]

/** What the datagram cases act on: live UDP sockets (unconnected, connected) and a UNIX stream on the addon. */
export interface DatagramTarget {
  readonly udp: Loose
  readonly connected: Loose
  readonly unix: Loose
}

/** Every operation of UDP sockets and the fd-passing operations of a UNIX stream. */
export const datagramCases: ReadonlyArray<AnyInputCase<DatagramTarget>> = [
  { name: "udp.sendto", args: fc.tuple(oddArb, hostArb, oddArb), call: (t, a) => apply(t.udp.sendto, a) },
  { name: "connected.send", args: fc.tuple(oddArb), call: (t, a) => apply(t.connected.send, a) },
  { name: "udp.setTtl", args: fc.tuple(oddArb), call: (t, a) => apply(t.udp.setTtl, a) },
  { name: "udp.setMulticastTtl", args: fc.tuple(oddArb), call: (t, a) => apply(t.udp.setMulticastTtl, a) },
  { name: "udp.setBroadcast", args: fc.tuple(oddArb), call: (t, a) => apply(t.udp.setBroadcast, a) },
  { name: "udp.setMulticastLoopback", args: fc.tuple(oddArb), call: (t, a) => apply(t.udp.setMulticastLoopback, a) },
  {
    name: "udp.setMulticastInterface",
    args: fc.tuple(oddArb),
    call: (t, a) => apply(t.udp.setMulticastInterface, a)
  },
  { name: "udp.joinMulticast", args: fc.tuple(groupArb, oddArb), call: (t, a) => apply(t.udp.joinMulticast, a) },
  {
    name: "unix.sendFds",
    args: fc.tuple(oddArb, fc.oneof(oddArb, fc.array(oddArb, { maxLength: 3 }))),
    call: (t, a) => apply(t.unix.sendFds, a)
  },
  {
    name: "unix.receiveFds",
    args: fc.tuple(oddArb, oddArb),
    call: (t, a) => apply(t.unix.receiveFds, a),
    mayWait: true
  }
]

/** `wrapTls` over a fresh in-memory stream (the runner makes the pair; the handshake may wait). */
export const wrapTlsCase: AnyInputCase<{ readonly modules: EditionModules; readonly memory: unknown }> = {
  name: "Socket.wrapTls (in-memory stream)",
  args: fc.tuple(optionsArb(["hostname", "handshakeTimeout", "serverSide", "ca", "cert", "key", "minVersion"])),
  call: (t, [options]) => apply(t.modules.Socket.wrapTls, [t.memory, options]),
  mayWait: true
}

/** The verdict on one outcome, from the failure (if any) the case ended with. */
export const judgeFailure = (failure: unknown): string | undefined => {
  const tag = (failure as { _tag?: unknown } | null)?._tag
  if (tag === "CaseTimeout") return "a hang (no outcome within the timeout)"
  return typeof tag === "string" && NET_ERROR_TAGS.has(tag) ? undefined : `an untyped failure: ${String(failure)}`
}
