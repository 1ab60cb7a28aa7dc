//! A VectorStore endpoint as the prober sees it: the target parsed from `spec.endpoint.url`
//! and what the last probe found. Pure, so readiness can read it without the prober's I/O
//! (`probe.rs`), which depends on this module and not the other way round.

/// What the prober knows about one store's endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeState {
    /// `--no-probe`.
    Disabled,
    /// Not probed yet.
    Pending,
    /// The last probe got an answer.
    Reachable,
    /// The last probe failed, and why.
    Unreachable(String),
}

/// Scheme of a probe target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// `http://`: TCP connect plus `HEAD`.
    Http,
    /// `https://`: TCP connect.
    Https,
}

/// Where to probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The scheme.
    pub scheme: Scheme,
    /// Host name or address (an IPv6 address without its brackets).
    pub host: String,
    /// Port (80/443 unless given).
    pub port: u16,
    /// Path and query for the `HEAD` request.
    pub path: String,
}

impl Scheme {
    /// The port a URL of this scheme means when it names none.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

impl Target {
    /// The host as it is written in a URL authority: an IPv6 address in brackets.
    fn url_host(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        }
    }

    /// `host:port`, for messages.
    pub fn address(&self) -> String {
        format!("{}:{}", self.url_host(), self.port)
    }

    /// The `Host` header: the authority, without the port when it is the scheme's default
    /// ([RFC 9110 section 7.2](https://www.rfc-editor.org/rfc/rfc9110#section-7.2)).
    pub fn host_header(&self) -> String {
        if self.port == self.scheme.default_port() {
            self.url_host()
        } else {
            self.address()
        }
    }
}

/// Parses `endpoint.url` into a probe target.
pub fn parse_target(url: &str) -> Result<Target, String> {
    let uri: http::Uri = url
        .trim()
        .parse()
        .map_err(|e: http::uri::InvalidUri| e.to_string())?;
    let scheme = match uri.scheme_str() {
        Some("http") => Scheme::Http,
        Some("https") => Scheme::Https,
        Some(other) => return Err(format!("scheme {other:?} is not http or https")),
        None => return Err("no scheme".to_string()),
    };
    let host = uri
        .host()
        .filter(|h| !h.is_empty())
        .ok_or("no host")?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = uri.port_u16().unwrap_or(scheme.default_port());
    // Origin form: `Uri::path` is "/" when the URL has none, also before a query.
    let path = match uri.query() {
        Some(query) => format!("{}?{query}", uri.path()),
        None => uri.path().to_string(),
    };
    Ok(Target {
        scheme,
        host,
        port,
        path,
    })
}
