/**
 * @internal
 * Turns in strict arrival order (no barging), without Effect: the state machine of both
 * editions' `ByteStream.serialized` lock. `enter` takes a ticket (granted at once when nobody
 * holds the turn); a waiting ticket's `wake` is called when the turn reaches it; `leave`
 * retires a ticket whatever happened (done, failed, interrupted while waiting or holding): a
 * granted one passes the turn on, a waiting one is skipped when its turn comes.
 */

/** @internal */
export interface Ticket {
  state: "waiting" | "granted" | "done"
  wake: (() => void) | undefined
}

/** @internal */
export const makeFifoTurns = () => {
  const queue: Array<Ticket> = []
  let busy = false

  // Hands the turn to the first ticket still waiting, or frees it.
  const grantNext = () => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      if (next.state !== "waiting") continue
      next.state = "granted"
      next.wake?.()
      return
    }
    busy = false
  }

  const enter = (): Ticket => {
    const ticket: Ticket = { state: "waiting", wake: undefined }
    if (busy) queue.push(ticket)
    else {
      busy = true
      ticket.state = "granted"
    }
    return ticket
  }

  const leave = (ticket: Ticket): void => {
    const was = ticket.state
    ticket.state = "done"
    if (was === "granted") grantNext()
  }

  return { enter, leave }
}
