/**
 * Stream wrappers over in-memory byte streams: conformance section J (scenarios 95–100), plus
 * `stream` and `sink`. Everything here is in memory, so `it.effect` (TestClock) is enough; a
 * fiber that must be parked is given a bounded number of `yieldNow`s to get there.
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Exit, Fiber, Option, Stream } from "effect"
import { ByteStream } from "../src/index.js"
import { serializedBatches } from "./scenarios/batch.js"

const str = (bytes: Uint8Array): string => Buffer.from(bytes).toString("utf8")
const u8 = (...values: Array<number>): Uint8Array => new Uint8Array(values)
/** Lets forked fibers run until they park (bounded). */
const settle = Effect.repeatN(Effect.yieldNow(), 20)

/** A buffered stream whose peer has sent `chunks`, one `send` each, then maybe EOF. */
const bufferedWith = (chunks: ReadonlyArray<string>, eof: boolean) =>
  Effect.gen(function*() {
    const [local, peer] = yield* ByteStream.makePair()
    for (const chunk of chunks) yield* peer.send(chunk)
    if (eof) yield* peer.sendEof
    return { stream: ByteStream.buffered(local), peer }
  })

describe("J95 receiveExactly", () => {
  it.effect("J95 receiveExactly(8) joins the chunks abcd and efgh", () =>
    Effect.gen(function*() {
      const { stream } = yield* bufferedWith(["abcd", "efgh"], true)
      expect(str(yield* stream.receiveExactly(8))).toBe("abcdefgh")
      expect(stream.buffer.length).toBe(0)
    }))

  it.effect("J95 receiveExactly(8) fails with IncompleteRead when the sender closes after abcd", () =>
    Effect.gen(function*() {
      const { stream } = yield* bufferedWith(["abcd"], true)
      const error = yield* Effect.flip(stream.receiveExactly(8))
      expect(error._tag).toBe("IncompleteRead")
      expect(str(stream.buffer)).toBe("abcd")
    }))

  it.effect("J95 receiveExactly at a clean end (nothing buffered) fails with EndOfStream", () =>
    Effect.gen(function*() {
      const { stream } = yield* bufferedWith(["abcd"], true)
      expect(str(yield* stream.receiveExactly(4))).toBe("abcd")
      expect((yield* Effect.flip(stream.receiveExactly(4)))._tag).toBe("EndOfStream")
      // A zero-byte read needs nothing from the stream.
      expect((yield* stream.receiveExactly(0)).length).toBe(0)
    }))
})

describe("J96 receiveUntil", () => {
  it.effect("J96 a delimiter straddling two chunks is found; the next call continues after it", () =>
    Effect.gen(function*() {
      const { stream } = yield* bufferedWith(["abcd", "efgh"], true)
      expect(str(yield* stream.receiveUntil("de", 10))).toBe("abc")
      expect(str(yield* stream.receiveUntil("h", 10))).toBe("fg")
    }))

  it.effect("J96 a clean end at a delimiter boundary is EndOfStream, not IncompleteRead", () =>
    Effect.gen(function*() {
      const { stream } = yield* bufferedWith(["one\ntwo\n"], true)
      expect(str(yield* stream.receiveUntil("\n", 10))).toBe("one")
      expect(str(yield* stream.receiveUntil("\n", 10))).toBe("two")
      expect((yield* Effect.flip(stream.receiveUntil("\n", 10)))._tag).toBe("EndOfStream")
    }))

  it.effect("J96 a truncated line at EOF is IncompleteRead and leaves abcd in the buffer", () =>
    Effect.gen(function*() {
      const { stream } = yield* bufferedWith(["abcd"], true)
      const error = yield* Effect.flip(stream.receiveUntil("de", 10))
      expect(error._tag).toBe("IncompleteRead")
      expect(str(stream.buffer)).toBe("abcd")
      expect(str(yield* stream.receiveExactly(4))).toBe("abcd")
    }))

  it.effect("J96 an already-buffered delimiter beyond maxBytes is DelimiterNotFound (unlike AnyIO)", () =>
    Effect.gen(function*() {
      const { stream } = yield* bufferedWith(["abcdefgh"], true)
      const error = yield* Effect.flip(stream.receiveUntil("h", 3))
      expect(error).toMatchObject({ _tag: "DelimiterNotFound", maxBytes: 3 })
      expect(str(stream.buffer)).toBe("abcdefgh")
      // At most maxBytes bytes come back: a delimiter right after them is still in range.
      expect(str(yield* stream.receiveUntil("d", 3))).toBe("abc")
      expect(str(stream.buffer)).toBe("efgh")
    }))

  it.effect("J96 stops reading once the delimiter can no longer start within maxBytes", () =>
    Effect.gen(function*() {
      // The stream stays open: reading past the limit would wait for "ghi" and then more.
      const { stream } = yield* bufferedWith(["abc", "def", "ghi"], false)
      const error = yield* Effect.flip(stream.receiveUntil("z", 4))
      expect(error._tag).toBe("DelimiterNotFound")
      expect(str(stream.buffer)).toBe("abcdef")
      // The same limit holds across chunks: "abc" + "d" with maxBytes 3 returns "abc".
      const more = yield* bufferedWith(["abc", "d"], true)
      expect(str(yield* more.stream.receiveUntil("d", 3))).toBe("abc")
    }))
})

describe("J97 BufferedByteStream", () => {
  it.effect("J97 receiveExactly(2) twice on abcd gives ab then cd", () =>
    Effect.gen(function*() {
      const { stream } = yield* bufferedWith(["abcd"], true)
      expect(str(yield* stream.receiveExactly(2))).toBe("ab")
      expect(str(yield* stream.receiveExactly(2))).toBe("cd")
      expect((yield* Effect.flip(stream.receive()))._tag).toBe("EndOfStream")
    }))

  it.effect("J97 sendEof closes only the send side; close closes both", () =>
    Effect.gen(function*() {
      const [local, peer] = yield* ByteStream.makePair()
      const stream = ByteStream.buffered(local)
      yield* stream.sendEof
      expect((yield* Effect.flip(stream.send("x")))._tag).toBe("ClosedResourceError")
      expect((yield* Effect.flip(peer.receive()))._tag).toBe("EndOfStream")
      yield* peer.send("still open")
      expect(str(yield* stream.receive())).toBe("still open")

      yield* peer.send("unread")
      yield* stream.close
      expect((yield* Effect.flip(stream.receive()))._tag).toBe("ClosedResourceError")
      expect((yield* Effect.flip(stream.send("x")))._tag).toBe("ClosedResourceError")
    }))

  it.effect("J97 feedData comes before data still in flight: xxxfooabcd", () =>
    Effect.gen(function*() {
      const { stream } = yield* bufferedWith(["abcd"], true)
      yield* stream.feedData("xxx")
      yield* stream.feedData("foo")
      expect(str(yield* stream.receiveExactly(10))).toBe("xxxfooabcd")
    }))

  it.effect("J97 feedData appends to the read buffer, after bytes already taken from the transport", () =>
    Effect.gen(function*() {
      // AnyIO's order (feed_data extends the buffer), which J97's "xxxfooabcd" relies on.
      // Note: the doc comment of feedData in ByteStream.ts ("in front of everything not yet
      // received") suggests "xbcd" here; the implementation and AnyIO give "bcdx".
      const { stream } = yield* bufferedWith(["abcd", "ef"], true)
      expect(str(yield* stream.receiveExactly(1))).toBe("a")
      expect(str(stream.buffer)).toBe("bcd") // taken from the transport, not yet by the caller
      yield* stream.feedData("x")
      expect(str(yield* stream.receiveExactly(6))).toBe("bcdxef")
    }))
})

describe("J98 stapled byte stream", () => {
  const stapled = Effect.gen(function*() {
    const [toPeer, fromUs] = yield* ByteStream.makePipe()
    const [toUs, fromPeer] = yield* ByteStream.makePipe()
    yield* toUs.send("hello")
    return { stream: ByteStream.staple(toPeer, fromPeer), fromUs }
  })

  it.effect("J98 receive(3), sendEof twice, send after it fails, receive still works", () =>
    Effect.gen(function*() {
      const { stream, fromUs } = yield* stapled
      expect(str(yield* stream.receive(3))).toBe("hel")
      yield* stream.send("ping")
      yield* stream.sendEof
      yield* stream.sendEof
      const error = yield* Effect.flip(stream.send("x"))
      expect(error._tag).toBe("ClosedResourceError")
      expect(str(yield* stream.receive())).toBe("lo")
      expect(str(yield* fromUs.receive())).toBe("ping")
      expect((yield* Effect.flip(fromUs.receive()))._tag).toBe("EndOfStream")
    }))

  it.effect("J98 close makes both send and receive fail with ClosedResourceError", () =>
    Effect.gen(function*() {
      const { stream } = yield* stapled
      yield* stream.close
      yield* stream.close
      expect((yield* Effect.flip(stream.send("x")))._tag).toBe("ClosedResourceError")
      expect((yield* Effect.flip(stream.receive()))._tag).toBe("ClosedResourceError")
    }))

  it.effect("J98 maxBytes 0, -1 and 1.5 are argument errors", () =>
    Effect.gen(function*() {
      const { stream } = yield* stapled
      const buffered = ByteStream.buffered((yield* stapled).stream)
      for (const maxBytes of [0, -1, 1.5]) {
        expect((yield* Effect.flip(stream.receive(maxBytes)))._tag).toBe("InvalidArgumentError")
        expect((yield* Effect.flip(buffered.receive(maxBytes)))._tag).toBe("InvalidArgumentError")
      }
      expect(str(yield* stream.receive())).toBe("hello") // nothing was consumed
    }))
})

describe("J99 text stream", () => {
  it.effect("J99 a character split across chunks is held back until complete", () =>
    Effect.gen(function*() {
      const [local, peer] = yield* ByteStream.makePair()
      const text = ByteStream.text(local)
      yield* peer.send(u8(0xc3, 0xa5, 0xc3, 0xa4, 0xc3)) // "å" "ä" and half of "ö"
      expect(yield* text.receive()).toBe("åä")
      yield* peer.send(u8(0xb6))
      expect(yield* text.receive()).toBe("ö")
    }))

  it.effect("J99 sending åäö produces its UTF-8 bytes", () =>
    Effect.gen(function*() {
      const [local, peer] = yield* ByteStream.makePair()
      yield* ByteStream.text(local).send("åäö")
      expect([...(yield* peer.receive())]).toEqual([0xc3, 0xa5, 0xc3, 0xa4, 0xc3, 0xb6])
    }))

  it.effect("J99 invalid bytes become U+FFFD, or BrokenResourceError InvalidData when fatal", () =>
    Effect.gen(function*() {
      const [local, peer] = yield* ByteStream.makePair()
      yield* peer.send(u8(0x61, 0xff, 0x62))
      expect(yield* ByteStream.text(local).receive()).toBe("a\uFFFDb")

      const [strict, strictPeer] = yield* ByteStream.makePair()
      yield* strictPeer.send(u8(0x61, 0xff, 0x62))
      const error = yield* Effect.flip(ByteStream.text(strict, { fatal: true }).receive())
      expect(error).toMatchObject({ _tag: "BrokenResourceError", reason: "InvalidData" })
    }))

  it.effect("J99 a text stream over a stapled stream has the stapled attributes ({})", () =>
    Effect.gen(function*() {
      const [send, receive] = yield* ByteStream.makePipe()
      const stapled = ByteStream.staple(send, receive)
      const text = ByteStream.text(stapled)
      expect(stapled.attributes).toEqual({})
      expect(text.attributes).toEqual({})
    }))

  it.effect("J99 stream yields non-empty strings and ends at EOF", () =>
    Effect.gen(function*() {
      const [local, peer] = yield* ByteStream.makePair()
      yield* peer.send("ab")
      yield* peer.send(u8(0x63, 0xc3)) // "c" and half of "ö"
      yield* peer.send(u8(0xb6))
      yield* peer.sendEof
      const pieces = Chunk.toReadonlyArray(yield* Stream.runCollect(ByteStream.text(local).stream))
      expect(pieces).toEqual(["ab", "c", "ö"])
    }))
})

describe("J100 in-memory byte pair", () => {
  it.effect("J100 bufferSize 1.5, -1 and 0 are argument errors", () =>
    Effect.gen(function*() {
      for (const bufferSize of [1.5, -1, 0]) {
        expect((yield* Effect.flip(ByteStream.makePipe({ bufferSize })))._tag).toBe("InvalidArgumentError")
        expect((yield* Effect.flip(ByteStream.makePair({ bufferSize })))._tag).toBe("InvalidArgumentError")
      }
    }))

  it.effect("J100 with bufferSize 1 a second send suspends until the peer receives", () =>
    Effect.gen(function*() {
      const [a, b] = yield* ByteStream.makePair({ bufferSize: 1 })
      yield* a.send("1")
      const second = yield* Effect.fork(a.send("2"))
      yield* settle
      expect(Option.isNone(yield* Fiber.poll(second))).toBe(true)
      const busy = yield* Effect.flip(a.send("3"))
      expect(busy).toMatchObject({ _tag: "BusyResourceError", operation: "writing to" })
      expect(str(yield* b.receive())).toBe("1")
      yield* Fiber.join(second)
      expect(str(yield* b.receive())).toBe("2")
    }))

  it.effect("J100 closing the sending side: the peer gets the buffered data, then EndOfStream", () =>
    Effect.gen(function*() {
      const [a, b] = yield* ByteStream.makePair()
      yield* a.send("one")
      yield* a.send("two")
      yield* a.close
      expect(str(yield* b.receive())).toBe("one")
      expect(str(yield* b.receive())).toBe("two")
      expect((yield* Effect.flip(b.receive()))._tag).toBe("EndOfStream")
    }))

  it.effect("J100 closing the receiving side: the peer's send fails with BrokenResourceError", () =>
    Effect.gen(function*() {
      const [a, b] = yield* ByteStream.makePair()
      yield* a.close
      expect((yield* Effect.flip(b.send("x")))._tag).toBe("BrokenResourceError")

      // A send parked on a full buffer is woken with the same error.
      const [send, receive] = yield* ByteStream.makePipe({ bufferSize: 1 })
      yield* send.send("fills the buffer")
      const parked = yield* Effect.fork(send.send("waits"))
      yield* settle
      yield* receive.close
      expect((yield* Effect.flip(Fiber.join(parked)))._tag).toBe("BrokenResourceError")
    }))

  it.effect("J100 an interrupted receive never loses data", () =>
    Effect.gen(function*() {
      const [a, b] = yield* ByteStream.makePair()
      const blocked = yield* Effect.fork(b.receive())
      yield* settle
      expect(Exit.isInterrupted(yield* Fiber.interrupt(blocked))).toBe(true)
      // The next receive may park again (the interrupted one no longer counts as busy).
      const next = yield* Effect.fork(b.receive())
      yield* settle
      yield* a.send("kept")
      expect(str(yield* Fiber.join(next))).toBe("kept")

      // Interrupted right after the data arrived: the data goes to the fiber or stays queued.
      const racing = yield* Effect.fork(b.receive())
      yield* settle
      yield* a.send("raced")
      const exit = yield* Fiber.interrupt(racing)
      yield* a.sendEof
      const rest = Chunk.toReadonlyArray(yield* Stream.runCollect(b.stream)).map(str)
      const got = Exit.isSuccess(exit) ? [str(exit.value), ...rest] : rest
      expect(got).toEqual(["raced"])
    }))

  it.effect("J100 a second concurrent receive fails with BusyResourceError", () =>
    Effect.gen(function*() {
      const [a, b] = yield* ByteStream.makePair()
      const first = yield* Effect.fork(b.receive())
      yield* settle
      const error = yield* Effect.flip(b.receive())
      expect(error).toMatchObject({ _tag: "BusyResourceError", operation: "reading from" })
      yield* a.send("for the first")
      expect(str(yield* Fiber.join(first))).toBe("for the first")
    }))

  it.effect("J100 after a parked receive is interrupted, another fiber's receive is not Busy and gets the data", () =>
    Effect.gen(function*() {
      const [a, b] = yield* ByteStream.makePair()
      const first = yield* Effect.fork(b.receive())
      yield* settle
      expect(Exit.isInterrupted(yield* Fiber.interrupt(first))).toBe(true)
      const second = yield* Effect.fork(b.receive())
      yield* settle
      yield* a.send("for the second")
      expect(str(yield* Fiber.join(second))).toBe("for the second")
    }))

  it.effect("J100 a receive parked uninterruptibly keeps the stream while its interruption waits: another receive is Busy; it completes with the data", () =>
    Effect.gen(function*() {
      const [a, b] = yield* ByteStream.makePair()
      const first = yield* Effect.fork(Effect.uninterruptible(b.receive()))
      yield* settle
      // The interruption cannot land while the receive is parked uninterruptibly: it waits.
      const interrupting = yield* Effect.fork(Fiber.interrupt(first))
      yield* settle
      expect(yield* Effect.flip(b.receive())).toMatchObject({ _tag: "BusyResourceError" })
      yield* a.send("for the first")
      // The uninterruptible receive took the bytes; the interruption landed after it.
      expect(Exit.isInterrupted(yield* Fiber.join(interrupting))).toBe(true)
      yield* a.send("for the next")
      expect(str(yield* b.receive())).toBe("for the next")
    }))

  it.effect("J100 close during a blocked receive fails it with ClosedResourceError", () =>
    Effect.gen(function*() {
      const [, b] = yield* ByteStream.makePair()
      const blocked = yield* Effect.fork(b.receive())
      yield* settle
      yield* b.close
      expect((yield* Effect.flip(Fiber.join(blocked)))._tag).toBe("ClosedResourceError")
    }))
})

describe("stream and sink", () => {
  it.effect("stream collects every chunk and ends cleanly at EOF", () =>
    Effect.gen(function*() {
      const [a, b] = yield* ByteStream.makePair()
      for (const chunk of ["ab", "cd", "ef"]) yield* a.send(chunk)
      yield* a.sendEof
      const chunks = Chunk.toReadonlyArray(yield* Stream.runCollect(b.stream)).map(str)
      expect(chunks).toEqual(["ab", "cd", "ef"])
    }))

  it.effect("stream of a buffered stream delivers buffered bytes first", () =>
    Effect.gen(function*() {
      const { stream } = yield* bufferedWith(["abcd", "ef"], true)
      expect(str(yield* stream.receiveExactly(1))).toBe("a")
      const chunks = Chunk.toReadonlyArray(yield* Stream.runCollect(stream.stream)).map(str)
      expect(chunks.join("")).toBe("bcdef")
    }))

  it.effect("sink sends every element", () =>
    Effect.gen(function*() {
      const [a, b] = yield* ByteStream.makePair()
      yield* Stream.run(Stream.make<Array<Uint8Array | string>>("one", u8(0x32), "three"), a.sink)
      yield* a.sendEof
      const chunks = Chunk.toReadonlyArray(yield* Stream.runCollect(b.stream)).map(str)
      expect(chunks).toEqual(["one", "2", "three"])
    }))
})

describe("ByteStream.serialized batches", () => {
  it.live("sendAll from many fibers: each batch goes out whole, never interleaved with another's", () =>
    Effect.gen(function*() {
      const plan = serializedBatches
      const [a, b] = yield* ByteStream.makePair({ bufferSize: plan.bufferSize })
      const shared = ByteStream.serialized(a)
      const received = yield* Effect.fork(
        Effect.gen(function*() {
          const parts: Array<Uint8Array> = []
          for (let total = 0; total < plan.total;) {
            const part = yield* b.receive()
            parts.push(part)
            total += part.length
          }
          return Buffer.concat(parts)
        })
      )
      yield* Effect.forEach(plan.batches(), (batch) => shared.sendAll(batch), {
        concurrency: "unbounded",
        discard: true
      })
      const runs = plan.runs(yield* Fiber.join(received))
      expect(runs.length).toBe(plan.fibers)
      expect(new Set(runs).size).toBe(plan.fibers)
    }).pipe(Effect.scoped))
})
