/**
 * Connected byte streams: TCP clients (happy eyeballs of our own) and UNIX stream clients (fd passing).
 *
 * @since 0.2.0
 */
export {
  /**
   * @since 0.2.0
   */
  connectTcp,
  /**
   * @since 0.2.0
   */
  type ConnectTcpOptions,
  /**
   * @since 0.2.0
   */
  setTcpOptions,
  /**
   * @since 0.2.0
   */
  type TcpSocketOptions,
  /**
   * @since 0.2.0
   */
  type TcpStream
} from "./Tcp.js"

export {
  /**
   * @since 0.2.0
   */
  connectUnix,
  /**
   * @since 0.2.0
   */
  type FdLike,
  /**
   * @since 0.2.0
   */
  type PeerCredentials,
  /**
   * @since 0.2.0
   */
  type UnixStream
} from "./Unix.js"

// TODO(issue-18): wrapTls (TLS), Connectable, fromFd/fromNetSocket.
