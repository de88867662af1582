//! A stand-in for the Moogsoft webhook: it accepts a POST on any path, records it, logs
//! it, and answers whatever it has been told to (200 by default; any status, optionally
//! after a delay), so tests can make "Moog" fail, throttle or hang on purpose.
//!
//! Control routes, under `/_mock`: `GET /_mock/received` lists what arrived,
//! `GET /_mock/count` counts it (cheap enough to poll under load),
//! `DELETE /_mock/received` forgets it, `PUT /_mock/behaviour` with
//! `{"status": 500, "delay_ms": 0, "retry_after": null}` changes the answer.
//!
//! A batch (`{"events": [...]}`, `MOOG_BATCH_SIZE` > 1) is recorded as one arrival per
//! event, all answered alike; [`ReceiverState::requests`] counts the POSTs.

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// One request as it arrived.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Received {
    pub path: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    /// The body as JSON, or `{"unparsed": "<text>"}` when it was not JSON.
    pub body: Value,
    /// The status this request was answered with.
    pub answered: u16,
}

/// How the receiver answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Behaviour {
    pub status: u16,
    #[serde(default)]
    pub delay_ms: u64,
    /// Sent as a `Retry-After` header (seconds) when set.
    #[serde(default)]
    pub retry_after: Option<u64>,
    /// A request whose body contains this text is answered 400 (a Moog that refuses one
    /// malformed event, and with it any batch that carries it).
    #[serde(default)]
    pub refuse_containing: Option<String>,
}

impl Default for Behaviour {
    fn default() -> Self {
        Self {
            status: 200,
            delay_ms: 0,
            retry_after: None,
            refuse_containing: None,
        }
    }
}

/// A request as stored: the body stays raw bytes until someone lists it, so that
/// recording costs next to nothing under load (the receiver shares the machine with what
/// it measures).
#[derive(Clone)]
struct Arrival {
    path: String,
    authorization: Option<String>,
    content_type: Option<String>,
    body: web::Bytes,
    answered: u16,
    /// When it arrived, Unix milliseconds (for end-to-end latency).
    at_ms: i64,
}

impl Arrival {
    fn to_received(&self) -> Received {
        let body = serde_json::from_slice(&self.body).unwrap_or_else(
            |_| serde_json::json!({"unparsed": String::from_utf8_lossy(&self.body)}),
        );
        Received {
            path: self.path.clone(),
            authorization: self.authorization.clone(),
            content_type: self.content_type.clone(),
            body,
            answered: self.answered,
        }
    }
}

#[derive(Default)]
struct Inner {
    received: Vec<Arrival>,
    /// POSTs, a batch counting once.
    requests: u64,
    behaviour: Behaviour,
}

/// The receiver's shared state: what arrived and how to answer. Cloning shares it.
#[derive(Clone, Default)]
pub struct ReceiverState(Arc<Mutex<Inner>>);

impl ReceiverState {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn received(&self) -> Vec<Received> {
        // Copied (cheaply: the bodies are shared bytes) and parsed outside the lock, so
        // that listing does not stall the receiver.
        let arrivals = self.lock().received.clone();
        arrivals.iter().map(Arrival::to_received).collect()
    }

    /// Events received (each event of a batch counts).
    pub fn count(&self) -> usize {
        self.lock().received.len()
    }

    /// POSTs received (a batch counts once).
    pub fn requests(&self) -> u64 {
        self.lock().requests
    }

    /// `(seq, answered, at_ms)` of every request whose event (`custom_info`) carries
    /// `"load_run": run`, as `mutt-load pipeline` and the tests tag their events.
    pub fn arrivals_of(&self, run: &str) -> Vec<(u64, u16, i64)> {
        let arrivals = self.lock().received.clone();
        arrivals
            .iter()
            .filter_map(|a| {
                let body: Value = serde_json::from_slice(&a.body).ok()?;
                let event = body.get("custom_info")?;
                (event.get("load_run")?.as_str()? == run)
                    .then(|| Some((event.get("seq")?.as_u64()?, a.answered, a.at_ms)))
                    .flatten()
            })
            .collect()
    }

    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.received.clear();
        inner.requests = 0;
    }

    pub fn set_behaviour(&self, behaviour: Behaviour) {
        self.lock().behaviour = behaviour;
    }
}

/// A bound receiver.
pub struct Receiver {
    pub addr: SocketAddr,
    pub state: ReceiverState,
    server: actix_web::dev::Server,
}

impl Receiver {
    /// Binds `addr` (port 0 picks a free port).
    pub fn bind(addr: SocketAddr) -> std::io::Result<Self> {
        // Tests that start a receiver build HTTP clients next; they need a TLS provider.
        shared::tls::install_crypto_provider();
        let state = ReceiverState::default();
        let app_state = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(app_state.clone()))
                .app_data(web::PayloadConfig::new(16 * 1024 * 1024))
                .route("/_mock/received", web::get().to(list))
                .route("/_mock/received", web::delete().to(clear))
                .route("/_mock/count", web::get().to(count))
                .route("/_mock/arrivals", web::get().to(arrivals))
                .route("/_mock/behaviour", web::put().to(set_behaviour))
                .route(
                    "/health",
                    web::get().to(|| async {
                        HttpResponse::Ok().json(serde_json::json!({"status": "healthy"}))
                    }),
                )
                .default_service(web::post().to(receive))
        })
        .workers(2)
        .disable_signals()
        .shutdown_timeout(1)
        .bind(addr)?;
        let addr = server.addrs()[0];
        Ok(Self {
            addr,
            state,
            server: server.run(),
        })
    }

    /// Serves until `shutdown` is cancelled.
    pub async fn run_until(self, shutdown: CancellationToken) -> std::io::Result<()> {
        shared::process::admin::serve_until(self.server, shutdown).await
    }
}

async fn receive(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<ReceiverState>,
) -> HttpResponse {
    let behaviour = state.lock().behaviour.clone();
    if behaviour.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(behaviour.delay_ms)).await;
    }
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let refused = behaviour.refuse_containing.as_ref().is_some_and(|text| {
        body.windows(text.len().max(1))
            .any(|w| w == text.as_bytes())
    });
    let answered = if refused { 400 } else { behaviour.status };
    let at_ms = chrono::Utc::now().timestamp_millis();
    let arrival = |body: web::Bytes| Arrival {
        path: req.path().to_owned(),
        authorization: header("authorization"),
        content_type: header("content-type"),
        body,
        answered,
        at_ms,
    };
    let arrivals: Vec<Arrival> = match serde_json::from_slice::<Batch<'_>>(&body) {
        Ok(batch) => batch
            .events
            .iter()
            .map(|event| arrival(web::Bytes::copy_from_slice(event.get().as_bytes())))
            .collect(),
        Err(_) => vec![arrival(body.clone())],
    };
    tracing::debug!(path = %req.path(), status = answered, events = arrivals.len(), "webhook received");
    {
        let mut inner = state.lock();
        inner.requests += 1;
        inner.received.extend(arrivals);
    }
    let status = actix_web::http::StatusCode::from_u16(answered)
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    if let Some(secs) = behaviour.retry_after {
        response.insert_header(("Retry-After", secs.to_string()));
    }
    response.json(serde_json::json!({"status": if status.is_success() { "ok" } else { "error" }}))
}

/// The batch form: `{"events": [...]}`, each event kept as its bytes.
#[derive(Deserialize)]
struct Batch<'a> {
    #[serde(borrow)]
    events: Vec<&'a serde_json::value::RawValue>,
}

async fn list(state: web::Data<ReceiverState>) -> HttpResponse {
    HttpResponse::Ok().json(state.received())
}

#[derive(Deserialize)]
struct ArrivalsQuery {
    run: String,
}

/// `GET /_mock/arrivals?run=R`: `[seq, answered, at_ms]` of every request whose event
/// (`custom_info`) carries `"load_run": R` — what `mutt-load pipeline` tags its events with.
async fn arrivals(
    state: web::Data<ReceiverState>,
    query: web::Query<ArrivalsQuery>,
) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "arrivals": state.arrivals_of(&query.run) }))
}

async fn count(state: web::Data<ReceiverState>) -> HttpResponse {
    let (received, requests) = {
        let inner = state.lock();
        (inner.received.len(), inner.requests)
    };
    HttpResponse::Ok().json(serde_json::json!({ "received": received, "requests": requests }))
}

async fn clear(state: web::Data<ReceiverState>) -> HttpResponse {
    state.clear();
    HttpResponse::NoContent().finish()
}

async fn set_behaviour(
    body: web::Json<Behaviour>,
    state: web::Data<ReceiverState>,
) -> HttpResponse {
    if actix_web::http::StatusCode::from_u16(body.status).is_err() {
        return HttpResponse::BadRequest()
            .json(serde_json::json!({"error": "status must be 100-999"}));
    }
    state.set_behaviour(body.into_inner());
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}
