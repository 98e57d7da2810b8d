//! The load generator: keep-alive HTTP/1.1 connections (hyper's connection-level client), each a
//! loop of requests until a deadline, recording every request's latency.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use rand::rngs::StdRng;
use rand::SeedableRng as _;
use tokio::net::TcpStream;

pub type Body = Full<Bytes>;

const SCIM_JSON: &str = "application/scim+json";

/// Where requests go and how they authenticate; builds requests with the headers a SCIM client
/// sends.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    /// Every server that serves the same data (replicas); load connections are spread over
    /// them. Just `addr` unless `with_replicas` says otherwise.
    pub replicas: Vec<SocketAddr>,
    host: HeaderValue,
    auth: Option<HeaderValue>,
}

impl Target {
    pub fn new(addr: SocketAddr, token: Option<&str>) -> anyhow::Result<Target> {
        let host = HeaderValue::from_str(&addr.to_string())?;
        let auth = token
            .map(|t| HeaderValue::from_str(&format!("Bearer {t}")))
            .transpose()?;
        Ok(Target {
            addr,
            replicas: vec![addr],
            host,
            auth,
        })
    }

    /// The same client, its load spread over `addrs` (the first is `addr`).
    pub fn with_replicas(mut self, addrs: Vec<SocketAddr>) -> Target {
        if let Some(first) = addrs.first() {
            self.addr = *first;
            self.replicas = addrs;
        }
        self
    }

    /// The same client (same headers, same token) aimed at another server.
    pub fn with_addr(&self, addr: SocketAddr) -> anyhow::Result<Target> {
        let host = HeaderValue::from_str(&addr.to_string())?;
        Ok(Target {
            addr,
            replicas: vec![addr],
            host,
            auth: self.auth.clone(),
        })
    }

    /// A request for `path_and_query`, with a JSON body if there is one.
    pub fn request(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<Vec<u8>>,
    ) -> anyhow::Result<Request<Body>> {
        let mut builder = Request::builder()
            .method(method)
            .uri(path_and_query)
            .header(HOST, self.host.clone())
            .header(ACCEPT, HeaderValue::from_static(SCIM_JSON));
        if let Some(auth) = &self.auth {
            builder = builder.header(AUTHORIZATION, auth.clone());
        }
        let body = match body {
            Some(bytes) => {
                builder = builder.header(CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
                Full::new(Bytes::from(bytes))
            }
            None => Full::new(Bytes::new()),
        };
        Ok(builder.body(body)?)
    }
}

/// One keep-alive connection.
pub struct Conn {
    sender: SendRequest<Body>,
}

impl Conn {
    pub async fn open(addr: SocketAddr) -> anyhow::Result<Conn> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("cannot connect to {addr}"))?;
        stream.set_nodelay(true)?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        // Ends when `sender` is dropped or the server closes the connection.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Conn { sender })
    }

    /// Sends one request and reads the whole response.
    pub async fn send(&mut self, request: Request<Body>) -> anyhow::Result<(StatusCode, Bytes)> {
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }

    /// Sends one request, failing unless the response has the expected status.
    pub async fn expect(
        &mut self,
        request: Request<Body>,
        expected: StatusCode,
    ) -> anyhow::Result<Bytes> {
        let what = format!("{} {}", request.method(), request.uri());
        let (status, body) = self.send(request).await?;
        check(&what, expected, status, &body)?;
        Ok(body)
    }
}

fn check(what: &str, expected: StatusCode, status: StatusCode, body: &[u8]) -> anyhow::Result<()> {
    anyhow::ensure!(
        status == expected,
        "{what}: expected {expected}, got {status}: {}",
        String::from_utf8_lossy(body.get(..body.len().min(500)).unwrap_or_default())
    );
    Ok(())
}

/// Builds the next request of a connection from its index, its request counter and its own
/// random generator (seeded by the index, so runs pick the same sequence).
pub type MakeRequest =
    Arc<dyn Fn(usize, u64, &mut StdRng) -> anyhow::Result<Request<Body>> + Send + Sync>;

/// What a load run measured.
#[derive(Debug)]
pub struct Run {
    pub requests: u64,
    pub elapsed: Duration,
    /// Every request's latency in microseconds, sorted.
    pub latencies_us: Vec<u32>,
}

impl Run {
    pub fn throughput(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    /// The nearest-rank percentile (`p` in 0..=1), in milliseconds.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        let n = self.latencies_us.len();
        let rank = ((p * n as f64).ceil() as usize).clamp(1, n.max(1));
        self.latencies_us
            .get(rank - 1)
            .map_or(0.0, |&us| f64::from(us) / 1000.0)
    }

    pub fn mean_ms(&self) -> f64 {
        let n = self.latencies_us.len().max(1) as f64;
        self.latencies_us
            .iter()
            .map(|&us| f64::from(us))
            .sum::<f64>()
            / n
            / 1000.0
    }
}

/// Runs `connections` connections against `addrs` (connection i to `addrs[i % len]`) for
/// `duration`, each sending requests from `make` back to back; every response must have status
/// `expected`. Connections are opened before the clock starts.
pub async fn run(
    addrs: &[SocketAddr],
    connections: usize,
    duration: Duration,
    expected: StatusCode,
    make: MakeRequest,
) -> anyhow::Result<Run> {
    let mut conns = Vec::with_capacity(connections);
    for addr in addrs.iter().cycle().take(connections) {
        conns.push(Conn::open(*addr).await?);
    }
    let start_line = Arc::new(tokio::sync::Barrier::new(connections + 1));
    let mut tasks = Vec::with_capacity(connections);
    for (index, mut conn) in conns.into_iter().enumerate() {
        let make = Arc::clone(&make);
        let start_line = Arc::clone(&start_line);
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(index as u64);
            let mut latencies = Vec::with_capacity(4096);
            start_line.wait().await;
            let deadline = Instant::now() + duration;
            let mut seq = 0u64;
            while Instant::now() < deadline {
                let request = make(index, seq, &mut rng)?;
                let uri = request.uri().clone();
                let sent = Instant::now();
                let (status, body) = conn.send(request).await?;
                let micros = sent.elapsed().as_micros();
                check(&uri.to_string(), expected, status, &body)?;
                latencies.push(u32::try_from(micros).unwrap_or(u32::MAX));
                seq += 1;
            }
            anyhow::Ok(latencies)
        }));
    }
    start_line.wait().await;
    let start = Instant::now();
    let mut latencies_us = Vec::new();
    for task in tasks {
        latencies_us.extend(task.await.context("a load connection task failed")??);
    }
    let elapsed = start.elapsed();
    latencies_us.sort_unstable();
    Ok(Run {
        requests: latencies_us.len() as u64,
        elapsed,
        latencies_us,
    })
}
