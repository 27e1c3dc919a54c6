//! A PostgreSQL server that speaks TLS, for tests, whatever the `ssl`
//! setting of the real one: a proxy on 127.0.0.1 (a port of the system's
//! choosing) in front of the server of `PASSERELLE_TEST_PG`. It reads the
//! client's first 8 bytes; to an SSLRequest it answers `S` and does the TLS
//! handshake with a certificate signed by an [`Authority`] made at run time
//! ([`Answer::Tls`]), or answers `N` as a server without TLS does
//! ([`Answer::Refuse`]); then it connects in plain to the real server and
//! copies bytes both ways. It counts what it saw. [`Proxy::cut`] makes the
//! database unreachable (every connection closed, every new one closed at
//! once) until [`Proxy::restore`].
//!
//! Shared by `events/tests/postgres_tls.rs`, the authentication store's
//! tests in `src/auth/postgresql.rs` and `tests/instances.rs` (included
//! there with `#[path]`).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use passerelle_events::store::postgres::scratch::{percent_encode as encode, ScratchSchema};
use passerelle_events::store::tls::read_url;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_postgres::config::Host;

/// The first message of a client that asks for TLS: its length (8) and the
/// SSLRequest code 80877103.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// A certificate authority made at run time.
pub struct Authority {
    params: CertificateParams,
    key: KeyPair,
    pem: String,
}

impl Authority {
    /// A new self-signed authority named `name`.
    pub fn new(name: &str) -> Self {
        let key = KeyPair::generate().expect("a key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("parameters");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let pem = params.self_signed(&key).expect("self-signed").pem();
        Self { params, key, pem }
    }

    /// Writes the authority's certificate (PEM) to `dir/file`; answers the path.
    pub fn write(&self, dir: &Path, file: &str) -> PathBuf {
        let path = dir.join(file);
        std::fs::write(&path, &self.pem).expect("write the certificate");
        path
    }

    /// A server's TLS configuration: a new key, with a certificate for the
    /// DNS names `names` signed by this authority.
    pub fn server(&self, names: &[&str]) -> Arc<rustls::ServerConfig> {
        let key = KeyPair::generate().expect("a key");
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .expect("parameters");
        params.distinguished_name.push(DnType::CommonName, names[0]);
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer).expect("signed");
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key)
        .expect("the server's certificate");
        Arc::new(config)
    }
}

/// What the proxy answers an SSLRequest.
#[derive(Clone)]
pub enum Answer {
    /// `S`, then the TLS handshake with this configuration.
    Tls(Arc<rustls::ServerConfig>),
    /// `N`: no TLS here.
    Refuse,
}

/// What the proxy saw, counted as it happens.
#[derive(Default)]
struct Counts {
    /// SSLRequests received.
    asked: AtomicUsize,
    /// TLS handshakes completed.
    handshakes: AtomicUsize,
    /// Connections carried in plain (no SSLRequest, or one answered `N`).
    plain: AtomicUsize,
}

/// Where the real server is.
#[derive(Clone)]
enum Upstream {
    Tcp(String, u16),
    Unix(PathBuf),
}

/// The proxy: it stops (its connections closed) when dropped.
pub struct Proxy {
    port: u16,
    counts: Arc<Counts>,
    /// Whether the database is cut off: connections are closed on accept.
    down: Arc<AtomicBool>,
    /// Moved at each cut: every connection carried then is closed.
    cuts: Arc<tokio::sync::watch::Sender<u64>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    /// Starts a proxy in front of the server `schema` is on, on a thread and
    /// a runtime of its own (so that a blocking client of the test's thread
    /// does not stop it).
    pub fn start(schema: &ScratchSchema, answer: Answer) -> Self {
        let (config, _) = read_url(schema.base_url()).expect("the test server's URL");
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let upstream = match config.get_hosts().first() {
            Some(Host::Tcp(host)) => Upstream::Tcp(host.clone(), port),
            Some(Host::Unix(dir)) => Upstream::Unix(dir.join(format!(".s.PGSQL.{port}"))),
            None => Upstream::Tcp("localhost".into(), port),
        };
        let counts = Arc::new(Counts::default());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        listener.set_nonblocking(true).expect("non-blocking");
        let port = listener.local_addr().expect("its port").port();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let down = Arc::new(AtomicBool::new(false));
        let cuts = Arc::new(tokio::sync::watch::channel(0u64).0);
        let thread = {
            let counts = counts.clone();
            let (down, cuts) = (down.clone(), cuts.clone());
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("the proxy's runtime");
                runtime.block_on(async move {
                    let listener = TcpListener::from_std(listener).expect("the proxy's listener");
                    let accepting = async {
                        while let Ok((client, _)) = listener.accept().await {
                            // Subscribed before the check: a cut after it
                            // is seen as a change, one before it as down.
                            let mut cut = cuts.subscribe();
                            if down.load(Ordering::SeqCst) {
                                drop(client);
                                continue;
                            }
                            let (answer, upstream, counts) =
                                (answer.clone(), upstream.clone(), counts.clone());
                            tokio::spawn(async move {
                                tokio::select! {
                                    _ = carry(client, answer, upstream, &counts) => {}
                                    // Dropping the copy closes both sides.
                                    _ = cut.changed() => {}
                                }
                            });
                        }
                    };
                    tokio::select! {
                        _ = stopped => {}
                        _ = accepting => {}
                    }
                });
            })
        };
        Self {
            port,
            counts,
            down,
            cuts,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Cuts the database off: every connection through the proxy is closed,
    /// and every new one is closed as soon as it is accepted.
    pub fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        self.cuts.send_modify(|n| *n += 1);
    }

    /// Lets connections through again.
    pub fn restore(&self) {
        self.down.store(false, Ordering::SeqCst);
    }

    /// The port it listens on, at 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// SSLRequests received.
    pub fn asked(&self) -> usize {
        self.counts.asked.load(Ordering::SeqCst)
    }

    /// TLS handshakes completed.
    pub fn handshakes(&self) -> usize {
        self.counts.handshakes.load(Ordering::SeqCst)
    }

    /// Connections carried in plain.
    pub fn plain(&self) -> usize {
        self.counts.plain.load(Ordering::SeqCst)
    }

    /// A URL of the server `schema` is on, through this proxy reached as
    /// `host` (at 127.0.0.1 whatever the name: `hostaddr`), in `schema`,
    /// with `password` and the parameters `params`.
    pub fn url(
        &self,
        schema: &ScratchSchema,
        host: &str,
        password: &str,
        params: &[(&str, &str)],
    ) -> String {
        let (config, _) = read_url(schema.base_url()).expect("the test server's URL");
        let user = config.get_user().unwrap_or("postgres");
        let dbname = config.get_dbname().unwrap_or(user);
        let mut url = format!(
            "postgres://{}:{}@{host}:{}/{}?hostaddr=127.0.0.1&options={}",
            encode(user),
            encode(password),
            self.port,
            encode(dbname),
            encode(&format!("-c search_path={}", schema.name())),
        );
        for (key, value) in params {
            url.push_str(&format!("&{key}={}", encode(value)));
        }
        url
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The password the test server is reached with: its URL's, else one a
/// server trusting its clients ignores. Either way a message must not show it.
pub fn password_of(schema: &ScratchSchema) -> String {
    let (config, _) = read_url(schema.base_url()).expect("the test server's URL");
    config
        .get_password()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .unwrap_or_else(|| "tls-test-secret-Zq7".into())
}

/// One connection: the client's first message, the answer, then the bytes
/// copied both ways until either side ends.
async fn carry(
    mut client: TcpStream,
    answer: Answer,
    upstream: Upstream,
    counts: &Counts,
) -> std::io::Result<()> {
    let mut first = [0u8; 8];
    client.read_exact(&mut first).await?;
    if first != SSL_REQUEST {
        counts.plain.fetch_add(1, Ordering::SeqCst);
        return to_server(client, Some(first), &upstream).await;
    }
    counts.asked.fetch_add(1, Ordering::SeqCst);
    match answer {
        Answer::Tls(config) => {
            client.write_all(b"S").await?;
            let tls = tokio_rustls::TlsAcceptor::from(config)
                .accept(client)
                .await?;
            counts.handshakes.fetch_add(1, Ordering::SeqCst);
            to_server(tls, None, &upstream).await
        }
        Answer::Refuse => {
            client.write_all(b"N").await?;
            counts.plain.fetch_add(1, Ordering::SeqCst);
            to_server(client, None, &upstream).await
        }
    }
}

/// Connects to the real server in plain, sends it `first` if the client
/// already sent that, and copies bytes both ways.
async fn to_server<C>(
    mut client: C,
    first: Option<[u8; 8]>,
    upstream: &Upstream,
) -> std::io::Result<()>
where
    C: AsyncRead + AsyncWrite + Unpin,
{
    async fn pipe<C, S>(
        client: &mut C,
        mut server: S,
        first: Option<[u8; 8]>,
    ) -> std::io::Result<()>
    where
        C: AsyncRead + AsyncWrite + Unpin,
        S: AsyncRead + AsyncWrite + Unpin,
    {
        if let Some(first) = first {
            server.write_all(&first).await?;
        }
        tokio::io::copy_bidirectional(client, &mut server).await?;
        Ok(())
    }
    match upstream {
        Upstream::Tcp(host, port) => {
            pipe(
                &mut client,
                TcpStream::connect((host.as_str(), *port)).await?,
                first,
            )
            .await
        }
        Upstream::Unix(path) => {
            pipe(
                &mut client,
                tokio::net::UnixStream::connect(path).await?,
                first,
            )
            .await
        }
    }
}
