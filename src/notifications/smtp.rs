//! SMTP connections made by us and driven by lettre's client: lettre's pooled transport
//! leaves Nagle's algorithm on (it sets no `TCP_NODELAY`), and since it writes a
//! message's body and its closing `.` as two writes, every message then waits out the
//! receiver's delayed ACK: 40 ms on Linux, which capped a worker at about 20 messages a
//! second. Here the socket is ours (with `TCP_NODELAY`), lettre speaks SMTP over it, and
//! a batch sends many messages over one connection. `SMTP_URL` keeps lettre's form.

use std::borrow::Cow;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
#[allow(deprecated)]
use lettre::transport::smtp::client::AsyncNetworkStream;
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::Address;
use tokio_util::compat::{Compat, FuturesAsyncReadCompatExt};

/// How long one connection may stay idle in the pool: well under the few minutes
/// servers commonly wait before closing an idle client.
const IDLE: Duration = Duration::from_secs(30);
/// Idle connections kept for the next batch.
const POOL: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Security {
    /// Plain text (`smtp://host`, local relays).
    None,
    /// STARTTLS, refusing a server without it (`?tls=required`).
    Required,
    /// STARTTLS when offered (`?tls=opportunistic`).
    Opportunistic,
    /// TLS from the first byte (`smtps://`).
    Implicit,
}

/// An SMTP server as `SMTP_URL` names it, in lettre's form.
#[derive(Clone)]
pub struct SmtpServer {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<Credentials>,
    hello: ClientId,
    timeout: Duration,
}

impl std::fmt::Debug for SmtpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the credentials.
        f.debug_struct("SmtpServer")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .finish()
    }
}

impl SmtpServer {
    /// `smtps://user:pass@host:465`, `smtp://host:587?tls=required`,
    /// `smtp://host:587?tls=opportunistic`, `smtp://localhost:2525`; a path names the
    /// client in `EHLO`. The same rules as lettre's `from_url`.
    pub fn from_url(url: &str, timeout: Duration) -> anyhow::Result<Self> {
        let parsed = url::Url::parse(url).map_err(|e| anyhow::anyhow!("SMTP_URL: {e}"))?;
        let host = parsed
            .host_str()
            .filter(|host| !host.is_empty())
            .ok_or_else(|| anyhow::anyhow!("SMTP_URL names no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let tls = parsed
            .query_pairs()
            .find(|(key, _)| key == "tls")
            .map(|(_, value)| value.into_owned());
        let (security, default_port) = match (parsed.scheme(), tls.as_deref()) {
            ("smtp", None) => (Security::None, 25),
            ("smtp", Some("required")) => (Security::Required, 587),
            ("smtp", Some("opportunistic")) => (Security::Opportunistic, 587),
            ("smtps", _) => (Security::Implicit, 465),
            (scheme, tls) => anyhow::bail!(
                "SMTP_URL: scheme {scheme:?} with tls={tls:?}; use smtp:// (optionally ?tls=required or ?tls=opportunistic) or smtps://"
            ),
        };
        let hello = match parsed.path().trim_matches('/') {
            "" => ClientId::default(),
            name => ClientId::Domain(name.to_owned()),
        };
        let decode = |part: &str| {
            percent_encoding::percent_decode_str(part)
                .decode_utf8()
                .map(Cow::into_owned)
                .map_err(|e| anyhow::anyhow!("SMTP_URL credentials: {e}"))
        };
        let credentials = match parsed.password() {
            Some(password) => Some(Credentials::new(
                decode(parsed.username())?,
                decode(password)?,
            )),
            None => None,
        };
        Ok(Self {
            port: parsed.port().unwrap_or(default_port),
            host,
            security,
            credentials,
            hello,
            timeout,
        })
    }

    fn tls(&self) -> Result<TlsParameters, lettre::transport::smtp::Error> {
        TlsParameters::new(self.host.clone())
    }

    /// A new connection, greeted, encrypted and logged in as the URL says.
    async fn connect(&self) -> Result<AsyncSmtpConnection, ConnectError> {
        let tcp = tokio::time::timeout(
            self.timeout,
            tokio::net::TcpStream::connect((self.host.as_str(), self.port)),
        )
        .await
        .map_err(|_| ConnectError::Io(format!("connecting timed out after {:?}", self.timeout)))?
        .map_err(|e| ConnectError::Io(format!("connecting to {}:{}: {e}", self.host, self.port)))?;
        tcp.set_nodelay(true)
            .map_err(|e| ConnectError::Io(format!("setting TCP_NODELAY: {e}")))?;
        let stream: Box<dyn AsyncTokioStream> = match self.security {
            Security::Implicit => {
                // lettre upgrades a stream it was handed; the upgraded stream is then
                // handed back to it as the transport of the connection.
                #[allow(deprecated)]
                let mut network = AsyncNetworkStream::use_existing_tokio1(Box::new(tcp));
                network.upgrade_tls(self.tls()?).await?;
                Box::new(Upgraded(network.compat()))
            }
            _ => Box::new(tcp),
        };
        let mut connection =
            AsyncSmtpConnection::connect_with_transport(stream, &self.hello).await?;
        match self.security {
            Security::Required => connection.starttls(self.tls()?, &self.hello).await?,
            Security::Opportunistic if connection.can_starttls() => {
                connection.starttls(self.tls()?, &self.hello).await?;
            }
            _ => {}
        }
        if let Some(credentials) = &self.credentials {
            connection.auth(DEFAULT_MECHANISMS, credentials).await?;
        }
        Ok(connection)
    }
}

#[derive(Debug, thiserror::Error)]
enum ConnectError {
    #[error("{0}")]
    Io(String),
    #[error(transparent)]
    Smtp(#[from] lettre::transport::smtp::Error),
}

/// A TLS stream lettre made, as a stream lettre can be handed.
#[allow(deprecated)]
#[derive(Debug)]
struct Upgraded(Compat<AsyncNetworkStream>);

#[allow(deprecated)]
impl AsyncTokioStream for Upgraded {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().peer_addr()
    }
}

impl tokio::io::AsyncRead for Upgraded {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for Upgraded {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// What sending one message came to.
#[derive(Debug)]
pub enum SendError {
    /// Worth another try later (server down, temporary refusal, a broken connection).
    Transient(String),
    /// Refused for good (5xx: an unknown recipient, a message the server will not take).
    Permanent(String),
}

/// Connections to one server: a few idle ones kept for the next batch.
pub struct SmtpClient {
    server: SmtpServer,
    idle: Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
}

impl SmtpClient {
    pub fn new(server: SmtpServer) -> Self {
        Self {
            server,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// A connection for a batch: an idle one that is still fresh, else a new one.
    /// Whether it was reused comes with it, for a retry on a connection the server
    /// closed while it waited.
    fn take_idle(&self) -> Option<AsyncSmtpConnection> {
        let mut idle = self.idle.lock().expect("idle SMTP connections");
        while let Some((connection, since)) = idle.pop() {
            if since.elapsed() < IDLE && !connection.has_broken() {
                return Some(connection);
            }
        }
        None
    }

    fn put_back(&self, connection: AsyncSmtpConnection) {
        if connection.has_broken() {
            return;
        }
        let mut idle = self.idle.lock().expect("idle SMTP connections");
        if idle.len() < POOL {
            idle.push((connection, Instant::now()));
        }
    }

    pub fn session(&self) -> SmtpSession<'_> {
        SmtpSession {
            client: self,
            connection: None,
            reused: false,
        }
    }
}

/// Messages sent one after another over one connection; it goes back to the pool when
/// the session is dropped unbroken.
pub struct SmtpSession<'a> {
    client: &'a SmtpClient,
    connection: Option<AsyncSmtpConnection>,
    reused: bool,
}

impl SmtpSession<'_> {
    /// Sends one message: `from` and `to` make the envelope.
    pub async fn send(
        &mut self,
        from: &Address,
        to: &[Address],
        bytes: &[u8],
    ) -> Result<(), SendError> {
        let envelope = lettre::address::Envelope::new(Some(from.clone()), to.to_vec())
            .map_err(|e| SendError::Permanent(format!("envelope: {e}")))?;
        // A pooled connection the server closed while it sat idle fails at once; that
        // earns one more try on a new connection, never more.
        for _ in 0..2 {
            if self.connection.is_none() {
                match self.client.take_idle() {
                    Some(connection) => {
                        self.connection = Some(connection);
                        self.reused = true;
                    }
                    None => {
                        let connection = self
                            .client
                            .server
                            .connect()
                            .await
                            .map_err(|e| classify_connect(&e))?;
                        self.connection = Some(connection);
                        self.reused = false;
                    }
                }
            }
            let connection = self.connection.as_mut().expect("a connection");
            let sent = tokio::time::timeout(
                self.client.server.timeout,
                connection.send(&envelope, bytes),
            )
            .await;
            let error = match sent {
                Ok(Ok(_)) => return Ok(()),
                Ok(Err(error)) => error,
                Err(_) => {
                    self.connection = None;
                    return Err(SendError::Transient(format!(
                        "the SMTP server did not answer within {:?}",
                        self.client.server.timeout
                    )));
                }
            };
            let broken = connection.has_broken();
            if broken {
                self.connection = None;
            }
            if error.is_permanent() {
                return Err(SendError::Permanent(error.to_string()));
            }
            if !(broken && std::mem::take(&mut self.reused)) {
                return Err(SendError::Transient(error.to_string()));
            }
        }
        Err(SendError::Transient(
            "the SMTP connection broke twice".into(),
        ))
    }
}

impl Drop for SmtpSession<'_> {
    fn drop(&mut self) {
        if let Some(connection) = self.connection.take() {
            self.client.put_back(connection);
        }
    }
}

fn classify_connect(error: &ConnectError) -> SendError {
    match error {
        ConnectError::Smtp(error) if error.is_permanent() => {
            SendError::Permanent(format!("the SMTP server refused the session: {error}"))
        }
        other => SendError::Transient(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(url: &str) -> SmtpServer {
        SmtpServer::from_url(url, Duration::from_secs(1)).unwrap()
    }

    #[test]
    fn urls_read_as_lettre_reads_them() {
        let plain = server("smtp://localhost:2525");
        assert_eq!(
            (plain.host.as_str(), plain.port, &plain.security),
            ("localhost", 2525, &Security::None)
        );
        assert!(plain.credentials.is_none());
        assert_eq!(server("smtp://relay").port, 25);
        let required = server("smtp://user:p%40ss@mail.example:587?tls=required");
        assert_eq!(required.security, Security::Required);
        assert_eq!(
            required.credentials,
            Some(Credentials::new("user".into(), "p@ss".into()))
        );
        assert_eq!(
            server("smtp://mail.example?tls=opportunistic").security,
            Security::Opportunistic
        );
        let implicit = server("smtps://mail.example");
        assert_eq!(
            (implicit.port, implicit.security),
            (465, Security::Implicit)
        );
        assert_eq!(
            server("smtp://[::1]:2525/client.example").hello,
            ClientId::Domain("client.example".into())
        );
        assert_eq!(server("smtp://[::1]:2525").host, "::1");
        for bad in [
            "http://mail.example",
            "smtp://mail.example?tls=maybe",
            "smtp://",
            "not a url",
        ] {
            assert!(
                SmtpServer::from_url(bad, Duration::from_secs(1)).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_debug_form_keeps_the_password_out() {
        let debug = format!("{:?}", server("smtps://user:secret@mail.example"));
        assert!(!debug.contains("secret"), "{debug}");
    }
}
