//! How every connection to PostgreSQL is made secure and kept watched: TLS
//! as libpq's `sslmode` and `sslrootcert` mean it, over rustls (no
//! OpenSSL), and TCP keepalive.
//!
//! [`read_url`] is the one reader of a PostgreSQL URL for the event store
//! ([`super::postgres`], [`super::turns`]) and for the binary's
//! authentication store: it answers the client's settings and the [`Tls`]
//! connector every connection to that URL uses. `tokio-postgres` knows
//! `sslmode=disable|prefer|require` only, and no `sslrootcert`: this module
//! takes both out of the URL (either form: `postgres://…?sslmode=…` with
//! percent-encoded values, or libpq's `key=value` pairs, quoted with `'`),
//! hands the rest to `tokio-postgres`'s parser, and keeps their meaning in
//! the connector:
//!
//! | `sslmode` | TLS | the server's certificate |
//! |---|---|---|
//! | `disable` | never | — |
//! | `prefer` (the default) | when the server offers it, else plain | any; signed by `sslrootcert` when one is named |
//! | `require` | always, or no connection | any; signed by `sslrootcert` when one is named |
//! | `verify-ca` | always | signed by `sslrootcert` (else by the system's roots) |
//! | `verify-full` | always | that, and naming the URL's host |
//!
//! `sslrootcert=FILE` names PEM certificates (one or more), read when the
//! URL is read (a store reads it when it opens); `sslrootcert=system` names
//! the system's roots and, as in libpq 16, asks `verify-full` (its default
//! then; a weaker `sslmode` is refused). Without `sslrootcert`, `verify-ca`
//! and `verify-full` trust the system's roots (libpq would look for
//! `~/.postgresql/root.crt`). Two departures from libpq, both stricter:
//! `prefer` with a named `sslrootcert` whose check fails is an error, not a
//! plain connection; and a TLS session is always offered ALPN `postgresql`
//! (which `sslnegotiation=direct` needs). Over a Unix socket no TLS is tried,
//! whatever `sslmode` says, as in libpq. Client certificates (`sslcert`,
//! `sslkey`) are refused by name.
//!
//! TCP keepalive is on unless the URL says `keepalives=0`: a probe after
//! [`KEEPALIVE_IDLE`] of silence, then every [`KEEPALIVE_INTERVAL`], the
//! connection given up after [`KEEPALIVE_RETRIES`] unanswered probes (each
//! unless the URL sets `keepalives_idle`, `keepalives_interval`,
//! `keepalives_retries`), so a connection whose network dropped silently
//! fails within a minute or so instead of the system's two hours.
//!
//! It must not: put a password, or any of the URL but the option at fault,
//! in an error; verify less than the `sslmode` asks; use a crypto provider
//! but `ring` (aws-lc-rs needs cmake to build).

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_cert_signed_by_trust_anchor, WebPkiServerVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres::config::Host;
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres_rustls::MakeRustlsConnect;

/// Seconds of silence on a connection before the first keepalive probe,
/// unless the URL says (`keepalives_idle`): well under the idle timeouts of
/// cloud load balancers and NAT gateways (about 350 s and more).
pub const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);

/// Between two unanswered probes, unless the URL says (`keepalives_interval`).
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);

/// Unanswered probes before the connection is given up, unless the URL says
/// (`keepalives_retries`): a dead peer is noticed about
/// `30 + 3 × 10` seconds after the last thing it sent.
pub const KEEPALIVE_RETRIES: u32 = 3;

/// libpq's `sslmode`: how much of TLS a connection insists on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Plain only.
    Disable,
    /// TLS when the server offers it, without checking its certificate
    /// (unless `sslrootcert` names one), else plain.
    Prefer,
    /// TLS or no connection; the certificate as in `Prefer`.
    Require,
    /// TLS, with a certificate signed by a trusted authority.
    VerifyCa,
    /// TLS, with a certificate signed by a trusted authority for the host.
    VerifyFull,
}

impl SslMode {
    /// Every mode, in the order of the values libpq documents.
    pub const ALL: [SslMode; 5] = [
        SslMode::Disable,
        SslMode::Prefer,
        SslMode::Require,
        SslMode::VerifyCa,
        SslMode::VerifyFull,
    ];

    /// The mode's value in a URL.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|mode| mode.as_str() == value)
    }

    /// `tokio-postgres`'s mode: whether to ask for TLS, and to insist.
    fn client(self) -> tokio_postgres::config::SslMode {
        match self {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                tokio_postgres::config::SslMode::Require
            }
        }
    }
}

impl std::fmt::Display for SslMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What is wrong with a URL's settings. Each names the option at fault and
/// never the URL (the caller adds it, without its password).
#[derive(Debug, thiserror::Error)]
pub enum UrlError {
    /// What `tokio-postgres`'s parser refused, in its words and their causes.
    #[error("not a PostgreSQL URL: {0}")]
    Syntax(String),
    /// An `sslmode` libpq does not have.
    #[error("sslmode={0:?} is not one of disable, prefer, require, verify-ca, verify-full")]
    SslMode(String),
    /// `sslrootcert=system` with a mode that does not check the host.
    #[error("sslrootcert=system asks sslmode=verify-full (as in libpq), not sslmode={0}")]
    WeakWithSystemRoots(SslMode),
    /// The root certificates cannot be read, or are none.
    #[error("sslrootcert={path}: {reason}")]
    RootCert {
        /// The file, as the URL names it.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `verify-ca` or `verify-full` without `sslrootcert` on a system
    /// without root certificates.
    #[error(
        "sslmode={0} without sslrootcert trusts the system's root certificates, and none was \
         found: name the server's certificate authority with sslrootcert=FILE"
    )]
    NoSystemRoots(SslMode),
    /// A client certificate option.
    #[error("{0} is not supported: connections present no client certificate")]
    ClientCertificate(String),
}

/// The TLS connector of every connection to one URL: rustls with the `ring`
/// provider, checking the server's certificate as the URL's `sslmode` and
/// `sslrootcert` ask. Clones share one configuration.
#[derive(Clone)]
pub struct Tls {
    connect: MakeRustlsConnect,
    mode: SslMode,
}

impl Tls {
    /// The `sslmode` it keeps.
    pub fn mode(&self) -> SslMode {
        self.mode
    }
}

impl<S> MakeTlsConnect<S> for Tls
where
    MakeRustlsConnect: MakeTlsConnect<S>,
{
    type Stream = <MakeRustlsConnect as MakeTlsConnect<S>>::Stream;
    type TlsConnect = <MakeRustlsConnect as MakeTlsConnect<S>>::TlsConnect;
    type Error = <MakeRustlsConnect as MakeTlsConnect<S>>::Error;

    fn make_tls_connect(&mut self, hostname: &str) -> Result<Self::TlsConnect, Self::Error> {
        self.connect.make_tls_connect(hostname)
    }
}

/// Reads a PostgreSQL URL (`postgres://…` or libpq's `key=value` form):
/// the client's settings — TLS as its `sslmode` says, TCP keepalive on —
/// and the connector every connection to it must be made with.
pub fn read_url(url: &str) -> Result<(tokio_postgres::Config, Tls), UrlError> {
    let (rest, options) = take_options(url)?;
    let mut config: tokio_postgres::Config = rest
        .parse()
        .map_err(|e: tokio_postgres::Error| UrlError::Syntax(chain(&e)))?;
    let roots = match options.sslrootcert.as_deref() {
        None => None,
        Some("") => {
            return Err(UrlError::RootCert {
                path: String::new(),
                reason: "names no file".into(),
            })
        }
        Some("system") => Some(Roots::System),
        Some(path) => Some(Roots::File(PathBuf::from(path))),
    };
    let mode = match options.sslmode {
        None if roots == Some(Roots::System) => SslMode::VerifyFull,
        None => SslMode::Prefer,
        Some(value) => SslMode::parse(&value).ok_or(UrlError::SslMode(value))?,
    };
    if roots == Some(Roots::System) && mode != SslMode::VerifyFull {
        return Err(UrlError::WeakWithSystemRoots(mode));
    }
    let hosts = config.get_hosts();
    let unix_only = !hosts.is_empty()
        && config.get_hostaddrs().is_empty()
        && hosts.iter().all(|h| !matches!(h, Host::Tcp(_)));
    config.ssl_mode(if unix_only {
        tokio_postgres::config::SslMode::Disable
    } else {
        mode.client()
    });
    if config.get_keepalives() {
        if !options.keepalives_idle {
            config.keepalives_idle(KEEPALIVE_IDLE);
        }
        if !options.keepalives_interval {
            config.keepalives_interval(KEEPALIVE_INTERVAL);
        }
        if !options.keepalives_retries {
            config.keepalives_retries(KEEPALIVE_RETRIES);
        }
    }
    Ok((config, connector(mode, roots)?))
}

/// A sentence on what a failed TLS handshake of `error` (or of an error it
/// was caused by) means, when the server's certificate was refused for
/// want of trust or of the host's name.
pub fn hint(error: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
    let mut next = Some(error);
    while let Some(e) = next {
        let tls = e.downcast_ref::<rustls::Error>().or_else(|| {
            e.downcast_ref::<io::Error>()
                .and_then(io::Error::get_ref)
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if let Some(rustls::Error::InvalidCertificate(why)) = tls {
            return match why {
                CertificateError::UnknownIssuer => Some(
                    "the server's certificate is not trusted: no certificate authority of \
                     sslrootcert (without it, of the system's roots) signed it",
                ),
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => Some(
                    "the server's certificate does not name the URL's host (sslmode=verify-full \
                     checks the name; verify-ca checks only who signed it)",
                ),
                _ => None,
            };
        }
        next = e.source();
    }
    None
}

// ---------------------------------------------------------------------------
// The options tokio-postgres does not know
// ---------------------------------------------------------------------------

/// The options taken out of a URL (the last of each wins, as in libpq), and
/// whether it sets the keepalive's timing.
#[derive(Default)]
struct Options {
    sslmode: Option<String>,
    sslrootcert: Option<String>,
    keepalives_idle: bool,
    keepalives_interval: bool,
    keepalives_retries: bool,
}

impl Options {
    /// Notes `key`; answers whether it is taken out of the URL.
    fn note(&mut self, key: &str, value: impl FnOnce() -> String) -> Result<bool, UrlError> {
        match key {
            "sslmode" => self.sslmode = Some(value()),
            "sslrootcert" => self.sslrootcert = Some(value()),
            "sslcert" | "sslkey" | "sslpassword" => {
                return Err(UrlError::ClientCertificate(key.into()))
            }
            "keepalives_idle" => self.keepalives_idle = true,
            "keepalives_interval" => self.keepalives_interval = true,
            "keepalives_retries" => self.keepalives_retries = true,
            _ => {}
        }
        Ok(matches!(key, "sslmode" | "sslrootcert"))
    }
}

/// `url` without the options [`Options`] takes, and those options.
fn take_options(url: &str) -> Result<(String, Options), UrlError> {
    let mut options = Options::default();
    let Some(rest) = ["postgres://", "postgresql://"]
        .iter()
        .find_map(|scheme| url.strip_prefix(scheme))
    else {
        return take_key_values(url, options);
    };
    // As `tokio-postgres` reads a URL: the user information ends at the first
    // '@', and the parameters start at the first '?' after it.
    let from = url.len() - rest.len() + rest.find('@').map_or(0, |at| at + 1);
    let Some(query) = url[from..].find('?').map(|q| from + q) else {
        return Ok((url.to_owned(), options));
    };
    let mut kept = Vec::new();
    for param in url[query + 1..].split('&') {
        let taken = match param.split_once('=') {
            Some((key, value)) => options.note(&percent_decode(key), || percent_decode(value))?,
            None => false,
        };
        if !taken {
            kept.push(param);
        }
    }
    let mut rest = url[..query].to_owned();
    if !kept.is_empty() {
        rest.push('?');
        rest.push_str(&kept.join("&"));
    }
    Ok((rest, options))
}

/// [`take_options`] for libpq's `key=value` form. Where `tokio-postgres`'s
/// parser would refuse the text, it is passed on whole, for that parser to
/// say why.
fn take_key_values(s: &str, mut options: Options) -> Result<(String, Options), UrlError> {
    let Some((pairs, tail)) = key_values(s) else {
        return Ok((s.to_owned(), options));
    };
    let mut kept = Vec::new();
    for Pair { text, key, value } in pairs {
        if !options.note(key, || value)? {
            kept.push(text);
        }
    }
    let tail = s[tail..].trim();
    if !tail.is_empty() {
        kept.push(tail);
    }
    Ok((kept.join(" "), options))
}

/// One pair of libpq's `key=value` form.
struct Pair<'a> {
    /// The pair as written.
    text: &'a str,
    key: &'a str,
    /// The value read: unquoted, unescaped.
    value: String,
}

/// The pairs of libpq's `key=value` form, as `tokio-postgres` reads them
/// (values quoted with `'`, or bare words; `\` escapes the next character),
/// and where the text it reads ends (it stops, without an error, at a `=`
/// with no key before it). `None` where it would refuse the text.
fn key_values(s: &str) -> Option<(Vec<Pair<'_>>, usize)> {
    let skip_blanks = |at: usize| {
        s[at..]
            .find(|c: char| !c.is_whitespace())
            .map_or(s.len(), |n| at + n)
    };
    let mut pairs = Vec::new();
    let mut at = skip_blanks(0);
    loop {
        let key_end = s[at..]
            .find(|c: char| c.is_whitespace() || c == '=')
            .map_or(s.len(), |n| at + n);
        if key_end == at {
            return Some((pairs, at));
        }
        let start = at;
        at = skip_blanks(key_end);
        at = skip_blanks(at + s[at..].strip_prefix('=').map(|_| 1)?);
        let quoted = s[at..].starts_with('\'');
        let mut value = String::new();
        let mut chars = s[at..].char_indices().skip(usize::from(quoted));
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => value.extend(chars.next().map(|(_, c)| c)),
                '\'' if quoted => {
                    end = Some(at + i + 1);
                    break;
                }
                c if !quoted && c.is_whitespace() => {
                    end = Some(at + i);
                    break;
                }
                c => value.push(c),
            }
        }
        let end = match end {
            Some(end) => end,
            None if quoted => return None,
            None => s.len(),
        };
        if !quoted && value.is_empty() {
            return None;
        }
        pairs.push(Pair {
            text: &s[start..end],
            key: &s[start..key_end],
            value,
        });
        at = skip_blanks(end);
    }
}

/// `%XX` decoded as `tokio-postgres` decodes a URL's parts: a `%` not
/// followed by two hex digits is kept as it is, bytes that are not UTF-8
/// are replaced.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| {
            u8::from_str_radix(std::str::from_utf8(h).ok()?, 16)
                .ok()
                .filter(|_| h.iter().all(u8::is_ascii_hexdigit))
        });
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An error and its causes, as one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

// ---------------------------------------------------------------------------
// The connector
// ---------------------------------------------------------------------------

/// The certificate authorities a connection trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Roots {
    /// The PEM certificates of a file.
    File(PathBuf),
    /// The system's (`sslrootcert=system`, or no `sslrootcert` where the
    /// mode verifies).
    System,
}

/// The connector for `mode`, trusting `roots` where it checks who signed
/// the server's certificate.
fn connector(mode: SslMode, roots: Option<Roots>) -> Result<Tls, UrlError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = match (mode, roots) {
        (SslMode::Disable, _) => None,
        (SslMode::VerifyCa | SslMode::VerifyFull, None) => Some(load(&Roots::System, mode)?),
        (_, Some(roots)) => Some(load(&roots, mode)?),
        (SslMode::Prefer | SslMode::Require, None) => None,
    };
    let verifier: Arc<dyn ServerCertVerifier> = match (mode, roots) {
        (SslMode::VerifyFull, Some(roots)) => {
            WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .map_err(|e| UrlError::RootCert {
                    path: "(the roots read)".into(),
                    reason: e.to_string(),
                })?
        }
        (_, roots) => Arc::new(SignedBy {
            roots,
            signatures: Signatures(provider.clone()),
        }),
    };
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring offers TLS 1.2 and 1.3")
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    Ok(Tls {
        connect: MakeRustlsConnect::new(config),
        mode,
    })
}

/// The certificates of `roots`: at least one, or an error naming where
/// they were looked for.
fn load(roots: &Roots, mode: SslMode) -> Result<Arc<RootCertStore>, UrlError> {
    let mut store = RootCertStore::empty();
    match roots {
        Roots::File(path) => {
            let at = |reason: String| UrlError::RootCert {
                path: path.display().to_string(),
                reason,
            };
            let pem = std::fs::read(path).map_err(|e| at(format!("cannot read it: {e}")))?;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| at(format!("not PEM: {e}")))?;
                store
                    .add(cert)
                    .map_err(|e| at(format!("a certificate in it cannot be trusted: {e}")))?;
            }
            if store.is_empty() {
                return Err(at("holds no PEM certificate".into()));
            }
        }
        Roots::System => {
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
            if store.is_empty() {
                return Err(UrlError::NoSystemRoots(mode));
            }
        }
    }
    Ok(Arc::new(store))
}

/// The checks of the handshake's signatures, with the provider's algorithms:
/// kept whatever the certificate is trusted for.
#[derive(Debug)]
struct Signatures(Arc<CryptoProvider>);

impl Signatures {
    fn tls12(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn tls13(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// What `prefer`, `require` and `verify-ca` accept of the server's
/// certificate: with `roots`, one signed (through the intermediates the
/// server sends) by one of them, whatever host it names (`verify-ca`, and
/// `prefer` or `require` with `sslrootcert`); without, any (the connection
/// is encrypted; who answers is not checked). No revocation check (libpq
/// checks one only when given `sslcrl`). The handshake's signatures are
/// checked either way.
#[derive(Debug)]
struct SignedBy {
    roots: Option<Arc<RootCertStore>>,
    signatures: Signatures,
}

impl ServerCertVerifier for SignedBy {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(roots) = &self.roots {
            let cert = ParsedCertificate::try_from(end_entity)?;
            verify_server_cert_signed_by_trust_anchor(
                &cert,
                roots,
                intermediates,
                now,
                self.signatures.0.signature_verification_algorithms.all,
            )?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.signatures.tls12(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.signatures.tls13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.signatures.schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(url: &str) -> (String, Option<String>, Option<String>) {
        let (rest, options) = take_options(url).unwrap();
        (rest, options.sslmode, options.sslrootcert)
    }

    #[test]
    fn the_tls_options_are_taken_out_of_a_url() {
        assert_eq!(
            options("postgres://u:p%3Fw@h:5/db?sslmode=verify-full&sslrootcert=%2Ftmp%2Fca%20x.pem&application_name=a"),
            (
                "postgres://u:p%3Fw@h:5/db?application_name=a".into(),
                Some("verify-full".into()),
                Some("/tmp/ca x.pem".into())
            )
        );
        // A '?' in the password is not the parameters' start.
        assert_eq!(
            options("postgresql://u:a?b@h/db?sslmode=require"),
            (
                "postgresql://u:a?b@h/db".into(),
                Some("require".into()),
                None
            )
        );
        assert_eq!(
            options("postgres://h/db?sslmode=prefer&sslmode=verify-ca"),
            ("postgres://h/db".into(), Some("verify-ca".into()), None)
        );
        assert_eq!(
            options("postgres://h/db"),
            ("postgres://h/db".into(), None, None)
        );
    }

    #[test]
    fn the_tls_options_are_taken_out_of_key_values() {
        assert_eq!(
            options(
                "host=h  sslmode = verify-ca password='a b\\' c' sslrootcert='/tmp/my ca.pem' dbname=x"
            ),
            (
                "host=h password='a b\\' c' dbname=x".into(),
                Some("verify-ca".into()),
                Some("/tmp/my ca.pem".into())
            )
        );
        assert_eq!(
            options("host=h sslrootcert=/a\\ b.pem"),
            ("host=h".into(), None, Some("/a b.pem".into()))
        );
        // What tokio-postgres refuses is left for it to say why.
        assert_eq!(
            options("host=h sslmode='verify-full"),
            ("host=h sslmode='verify-full".into(), None, None)
        );
    }

    #[test]
    fn what_remains_parses_as_it_did() {
        for url in [
            "postgres://u:p@h:5/db?application_name=a&options=-c%20x%3D1&sslmode=require",
            "host=h port=5 user=u password='a b\\' c' sslmode=require dbname=x",
        ] {
            let (config, tls) = read_url(url).unwrap();
            assert_eq!(config.get_hosts(), &[Host::Tcp("h".into())], "{url}");
            assert_eq!(config.get_ports(), &[5], "{url}");
            assert_eq!(config.get_user(), Some("u"), "{url}");
            assert_eq!(
                config.get_ssl_mode(),
                tokio_postgres::config::SslMode::Require,
                "{url}"
            );
            assert_eq!(tls.mode(), SslMode::Require, "{url}");
        }
        let (config, _) = read_url("host=h password='a b\\' c' sslmode=disable").unwrap();
        assert_eq!(config.get_password(), Some(&b"a b' c"[..]));
    }

    #[test]
    fn prefer_is_the_default_and_keepalive_is_on() {
        let (config, tls) = read_url("postgres://u@h/db").unwrap();
        assert_eq!(tls.mode(), SslMode::Prefer);
        assert_eq!(
            config.get_ssl_mode(),
            tokio_postgres::config::SslMode::Prefer
        );
        assert!(config.get_keepalives());
        assert_eq!(config.get_keepalives_idle(), KEEPALIVE_IDLE);
        assert_eq!(config.get_keepalives_interval(), Some(KEEPALIVE_INTERVAL));
        assert_eq!(config.get_keepalives_retries(), Some(KEEPALIVE_RETRIES));
        let (config, _) =
            read_url("postgres://u@h/db?keepalives_idle=7&keepalives_retries=9").unwrap();
        assert_eq!(config.get_keepalives_idle(), Duration::from_secs(7));
        assert_eq!(config.get_keepalives_interval(), Some(KEEPALIVE_INTERVAL));
        assert_eq!(config.get_keepalives_retries(), Some(9));
        let (config, _) = read_url("host=h keepalives=0").unwrap();
        assert!(!config.get_keepalives());
    }

    #[test]
    fn no_tls_is_tried_over_a_unix_socket() {
        let (config, tls) = read_url("host=/run/postgresql sslmode=require").unwrap();
        assert_eq!(tls.mode(), SslMode::Require);
        assert_eq!(
            config.get_ssl_mode(),
            tokio_postgres::config::SslMode::Disable
        );
    }

    #[test]
    fn wrong_options_are_named() {
        let error = |url: &str| read_url(url).err().expect(url).to_string();
        assert_eq!(
            error("postgres://h/db?sslmode=nonsense"),
            "sslmode=\"nonsense\" is not one of disable, prefer, require, verify-ca, verify-full"
        );
        assert_eq!(
            error("postgres://h/db?sslrootcert=system&sslmode=require"),
            "sslrootcert=system asks sslmode=verify-full (as in libpq), not sslmode=require"
        );
        assert!(error("host=h sslcert=/c.pem").starts_with("sslcert is not supported"));
        let missing = error("postgres://h/db?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem");
        assert!(
            missing.starts_with("sslrootcert=/nonexistent/ca.pem: cannot read it: "),
            "{missing}"
        );
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificate here\n").unwrap();
        assert_eq!(
            error(&format!(
                "host=h sslmode=verify-ca sslrootcert='{}'",
                empty.display()
            )),
            format!("sslrootcert={}: holds no PEM certificate", empty.display())
        );
        assert!(error("postgres://h:x/db").starts_with("not a PostgreSQL URL: "));
    }

    #[test]
    fn system_roots_ask_verify_full() {
        match read_url("postgres://h/db?sslrootcert=system") {
            Ok((_, tls)) => assert_eq!(tls.mode(), SslMode::VerifyFull),
            // A system without root certificates says so.
            Err(e) => assert!(matches!(e, UrlError::NoSystemRoots(SslMode::VerifyFull))),
        }
    }

    #[test]
    fn percent_decoding_keeps_what_is_not_an_escape() {
        assert_eq!(percent_decode("a%20b%2Fc"), "a b/c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%C3%A9"), "é");
    }
}
