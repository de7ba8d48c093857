/**
 * The batching scenarios (`receiveBatch`, `sendAll`, `stream`, `sink`) as plain data, run by
 * both editions' suites over real sockets and raw peers (test/batching.test.ts for Effect 3,
 * test/effect4/batch.test.ts for Effect 4): what is sent, in which pieces, and what must hold,
 * and the one raw-peer step that needs no Effect (`floodUntilStalled`).
 */
import type * as net from "node:net"
export const KiB = 1024
export const MiB = 1024 * KiB

/** Distinct bytes per chunk, so order and completeness can be checked. */
export const patterned = (count: number, size: (i: number) => number): Array<Buffer> =>
  Array.from({ length: count }, (_, i) => Buffer.alloc(size(i), (i * 7 + 1) % 251))

/** The bytes of `chunks`, joined. */
export const bytesOf = (chunks: Iterable<Uint8Array>): Buffer => Buffer.concat([...chunks])

/**
 * `ByteStream.serialized` batches: `fibers` concurrent `sendAll`s of `perBatch` chunks each,
 * through a two-chunk in-memory pipe (so every batch parks many times), must come out as
 * `fibers` whole runs. `batches` makes the input (each chunk filled with its fiber's number);
 * `owners` reads back whose chunk each slot of the received bytes is.
 */
export const serializedBatches = {
  fibers: 4,
  perBatch: 32,
  chunk: 1024,
  bufferSize: 2,
  get total() {
    return this.fibers * this.perBatch * this.chunk
  },
  batches(): Array<Array<Uint8Array>> {
    return Array.from(
      { length: this.fibers },
      (_, id) => Array.from({ length: this.perBatch }, () => new Uint8Array(this.chunk).fill(id))
    )
  },
  /** The owner of each chunk-sized slot of `received`, then the runs of equal owners. */
  runs(received: Uint8Array): Array<number> {
    const owners = Array.from({ length: this.fibers * this.perBatch }, (_, i) => received[i * this.chunk]!)
    return owners.filter((owner, i) => i === 0 || owner !== owners[i - 1])
  }
}

export const batchScenarios = {
  /**
   * The peer writes these one at a time, each flushed and read by Node before the next: separate
   * chunks in our buffer, which one batch (and one pull of `stream`) must hold together.
   */
  separateWrites: () => patterned(3, () => 40 * KiB),
  /** Bytes that `receive(3)` twice and then one batch must give back whole, in order. */
  splitReads: { text: "abcdefghij", maxBytes: 3 },
  /** Rounds of interrupting a parked `receiveBatch`, half before the data arrives, half after. */
  interruptRounds: 10,
  /** The peer's last write and its FIN: EndOfStream only after the last batch. */
  endOfStream: { first: "one,", last: "two" },
  /** `sendAll` of many small chunks of varied sizes: they arrive whole and in order. */
  manySmall: () => patterned(2000, (i) => 1 + (i * 37) % 3000),
  /** The sink's input, in arrays of `rechunk` elements: each array is one `sendAll`. */
  sink: { chunks: () => patterned(500, (i) => 1 + (i * 13) % 700), rechunk: 64 },
  /** A batch with an element that is no payload fails before any I/O, naming the element. */
  badElement: { chunks: ["fine", 42] as ReadonlyArray<unknown>, argument: "chunks[1]", then: ["only ", "this"] },
  /**
   * A peer writing `total` bytes in `piece`s while we do not read stalls in its own buffer (less
   * than half leaves it); reading then drains it all, no batch larger than `maxBatch`.
   */
  receiveBackpressure: { total: 64 * MiB, piece: MiB, maxBatch: 512 * KiB },
  /**
   * `sendAll` of `total` bytes to a peer that does not read stays suspended (checked `polls`
   * times); once the peer reads, it completes and every byte arrives in order.
   */
  sendBackpressure: { total: 32 * MiB, piece: 256 * KiB, polls: 5 },
  /** `sendAll` to a python3 peer: these chunks, hashed by the peer (sha256). */
  python: () => Array.from({ length: 5000 }, (_, i) => `${i},`)
} as const

/** The python3 peer of `batchScenarios.python`: prints its port, then the byte count and sha256 at EOF. */
export const pythonHashPeer = `
import hashlib, socket
s = socket.socket()
s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
h = hashlib.sha256(); n = 0
while True:
    data = c.recv(1 << 16)
    if not data: break
    h.update(data); n += len(data)
print(n, h.hexdigest(), flush=True)
`

/**
 * The raw peer writes `receiveBackpressure.total` bytes at once, and this waits (bounded: 500
 * polls 20 ms apart) until what has left its buffer stops moving for 5 polls: how much left
 * (`dispatched`, to the kernel and on to us) and how much still waits in the peer's own buffer.
 */
export const floodUntilStalled = async (
  peer: net.Socket
): Promise<{ readonly dispatched: number; readonly buffered: number }> => {
  const { piece, total } = batchScenarios.receiveBackpressure
  const block = Buffer.alloc(piece, 0x5a)
  for (let i = 0; i < total / piece; i++) peer.write(block)
  const dispatched = () => peer.bytesWritten - peer.writableLength
  let last = -1
  for (let stable = 0, i = 0; stable < 5 && i < 500; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    stable = dispatched() === last ? stable + 1 : 0
    last = dispatched()
  }
  return { dispatched: dispatched(), buffered: peer.writableLength }
}
