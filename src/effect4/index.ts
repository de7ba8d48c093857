/**
 * effect-sockets for Effect 4: TCP, TLS, UNIX and datagram sockets on the same drivers as the
 * root (Effect 3) entry, written in Effect 4's idioms. Import it as `effect-sockets/effect4`.
 *
 * @since 0.2.0
 */

/**
 * The error family.
 *
 * @since 0.2.0
 */
export * as NetError from "./NetError.js"

// TODO(issue-18): ByteStream, Socket, Listener (issue-18-core); Datagram, Platform (issue-18-dgram).
