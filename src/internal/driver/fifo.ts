/**
 * @internal
 * A first-in first-out queue on a ring of slots that only ever grows (doubling, power-of-two
 * sizes). Effect-free. A queue that empties and fills once per message (a stream's or a
 * datagram socket's receive queue) then costs no array resizing: emptying an `Array` by
 * `length = 0` or `splice` goes through V8's slow array-length path on every message, and
 * `shift` moves every element.
 */

/** @internal */
export class Fifo<A> {
  private slots: Array<A | undefined> = emptySlots(8)
  private head = 0
  private count = 0

  /** How many items are queued. */
  get size(): number {
    return this.count
  }

  push(item: A): void {
    if (this.count === this.slots.length) this.grow()
    this.slots[(this.head + this.count) & (this.slots.length - 1)] = item
    this.count++
  }

  /** The oldest item; only while `size > 0`. */
  peek(): A {
    return this.slots[this.head]!
  }

  /** Replaces the oldest item (what is left of it after a partial take); only while `size > 0`. */
  replaceOldest(item: A): void {
    this.slots[this.head] = item
  }

  /** Removes and returns the oldest item; only while `size > 0`. */
  shift(): A {
    const item = this.slots[this.head]!
    this.slots[this.head] = undefined
    this.head = (this.head + 1) & (this.slots.length - 1)
    this.count--
    return item
  }

  /** Every item, oldest first, leaving the queue empty. */
  takeAll(): Array<A> {
    const out = new Array<A>(this.count)
    for (let i = 0; i < out.length; i++) out[i] = this.shift()
    return out
  }

  private grow(): void {
    const slots = emptySlots<A>(this.slots.length * 2)
    for (let i = 0; i < this.count; i++) slots[i] = this.slots[(this.head + i) & (this.slots.length - 1)]
    this.slots = slots
    this.head = 0
  }
}

/** A packed array of `n` empty slots (a holey one would make every access slower). */
const emptySlots = <A>(n: number): Array<A | undefined> => Array.from({ length: n }, () => undefined)
