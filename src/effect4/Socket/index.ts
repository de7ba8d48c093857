/**
 * Connected byte streams: TCP clients (with TLS), UNIX stream clients (fd passing), and TLS
 * over any stream.
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
  type ConnectTlsOptions,
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

export {
  /**
   * @since 0.2.0
   */
  type TlsAttributes,
  /**
   * @since 0.2.0
   */
  type TlsOptions,
  /**
   * @since 0.2.0
   */
  type TlsStream,
  /**
   * @since 0.2.0
   */
  wrapTls
} from "./Tls.js"

export {
  /**
   * @since 0.2.0
   */
  type Connectable,
  /**
   * @since 0.2.0
   */
  type ConnectableError,
  /**
   * @since 0.2.0
   */
  ConnectableTypeId,
  /**
   * @since 0.2.0
   */
  isConnectable,
  /**
   * @since 0.2.0
   */
  makeConnectable,
  /**
   * @since 0.2.0
   */
  tcpConnectable,
  /**
   * @since 0.2.0
   */
  unixConnectable
} from "./Connectable.js"

export {
  /**
   * @since 0.2.0
   */
  fromFd,
  /**
   * @since 0.2.0
   */
  fromNetSocket
} from "./Adopt.js"
