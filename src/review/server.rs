//! The workspace's HTTP server: the page and its JSON API on 127.0.0.1 only.
//!
//! Answers are untrusted and so is every other site the person's browser visits: requests
//! whose Host or Origin is not this server's loopback address are refused (no DNS rebinding),
//! every write needs the token the page was served with (no cross-site writes), bodies are
//! limited, and the page runs only its own script under a strict Content-Security-Policy. No
//! route reads or writes a path the person did not name on the command line.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::edit::Edit;
use super::query::AnswerQuery;
use super::store::{Source, Store};
use super::StoreError;

/// Largest request body (a bulk edit of many answers fits).
pub const MAX_BODY: usize = 1 << 20;

/// The page and its assets, built into the binary.
const INDEX: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// The store.
    pub store: PathBuf,
    /// Who codes in this browser.
    pub coder: String,
    /// Port on 127.0.0.1 (0: any free one).
    pub port: u16,
    /// The secret every write must carry.
    pub token: String,
}

struct App {
    store: Mutex<Store>,
    coder: String,
    token: String,
    hosts: Vec<String>,
    origins: Vec<String>,
}

/// An error as the API answers it.
struct ApiError(StatusCode, String);

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => ApiError(StatusCode::CONFLICT, m),
            StoreError::Invalid(m) => ApiError(StatusCode::BAD_REQUEST, m),
            other => {
                let mut msg = other.to_string();
                let mut src = std::error::Error::source(&other);
                while let Some(s) = src {
                    msg.push_str(&format!(": {s}"));
                    src = s.source();
                }
                ApiError(StatusCode::INTERNAL_SERVER_ERROR, msg)
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

type ApiResult = Result<Response, ApiError>;

/// A fresh secret for a server session: 32 random bytes in hex.
pub fn new_token() -> Result<String, StoreError> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b)
        .map_err(|e| StoreError::Invalid(format!("no randomness for the session token: {e}")))?;
    Ok(hex::encode(b))
}

/// Binds 127.0.0.1, calls `ready` with the page's address, and serves until Ctrl-C.
pub fn serve(
    settings: ServerSettings,
    store: Store,
    ready: impl FnOnce(&str),
) -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener =
            tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, settings.port)))
                .await?;
        let port = listener.local_addr()?.port();
        let app = Arc::new(App {
            store: Mutex::new(store),
            coder: settings.coder.clone(),
            token: settings.token.clone(),
            hosts: vec![format!("127.0.0.1:{port}"), format!("localhost:{port}")],
            origins: vec![
                format!("http://127.0.0.1:{port}"),
                format!("http://localhost:{port}"),
            ],
        });
        ready(&format!("http://127.0.0.1:{port}/"));
        axum::serve(listener, router(app))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
    })
}

fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(index))
        .route(
            "/assets/app.js",
            get(|| async { asset(APP_JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/assets/app.css",
            get(|| async { asset(APP_CSS, "text/css; charset=utf-8") }),
        )
        .route("/api/state", get(state))
        .route("/api/answers", get(answers))
        .route("/api/history", get(history))
        .route("/api/code", post(code))
        .route("/api/adjudicate", post(adjudicate))
        .route("/api/edit", post(edit))
        .route("/api/undo", post(undo))
        .route("/api/sample", post(sample))
        .route("/api/sample-size", get(sample_size))
        .route("/api/agreement", get(agreement))
        .route("/api/export/{file}", get(export))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(app.clone(), guard))
        .with_state(app)
}

/// Refuses foreign Host and Origin headers and writes without the session's token, and sets
/// the headers every answer carries.
async fn guard(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let headers = req.headers();
    let text = |h: &HeaderMap, n: header::HeaderName| {
        h.get(n).and_then(|v| v.to_str().ok()).map(str::to_string)
    };
    let host = text(headers, header::HOST);
    if !host.as_ref().is_some_and(|h| app.hosts.contains(h)) {
        return refuse(
            StatusCode::FORBIDDEN,
            "this server answers requests for 127.0.0.1 only",
        );
    }
    if let Some(origin) = text(headers, header::ORIGIN) {
        if !app.origins.contains(&origin) {
            return refuse(
                StatusCode::FORBIDDEN,
                "requests from other sites are refused",
            );
        }
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let token = headers
            .get("x-codeframe-token")
            .and_then(|v| v.to_str().ok());
        if token != Some(app.token.as_str()) {
            return refuse(StatusCode::FORBIDDEN, "a write needs this session's token");
        }
    }
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    for (k, v) in [
        (
            "content-security-policy",
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
             img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("cache-control", "no-store"),
    ] {
        h.insert(k, HeaderValue::from_static(v));
    }
    res
}

fn refuse(status: StatusCode, msg: &str) -> Response {
    (status, Json(json!({ "error": msg }))).into_response()
}

fn asset(body: &'static str, kind: &'static str) -> Response {
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}

/// The page, with the session's token and coder in meta elements (HTML-escaped).
async fn index(State(app): State<Arc<App>>) -> Response {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('"', "&quot;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let page = INDEX
        .replace("{{TOKEN}}", &esc(&app.token))
        .replace("{{CODER}}", &esc(&app.coder));
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
}

/// Runs `f` on the store off the async threads.
async fn with_store<T: serde::Serialize + Send + 'static>(
    app: Arc<App>,
    f: impl FnOnce(&mut Store, &str) -> Result<T, StoreError> + Send + 'static,
) -> ApiResult {
    let out = tokio::task::spawn_blocking(move || {
        let mut store = app.store.lock().map_err(|_| {
            StoreError::Invalid("the store is unavailable after an earlier failure".into())
        })?;
        f(&mut store, &app.coder)
    })
    .await
    .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??;
    Ok(Json(out).into_response())
}

/// Refuses what a second coder must not see while coding blind.
fn not_blind(s: &Store, coder: &str, what: &str) -> Result<(), StoreError> {
    if s.role(coder)? == "second" {
        return Err(StoreError::Invalid(format!(
            "a second coder codes blind: {what}"
        )));
    }
    Ok(())
}

async fn state(State(app): State<Arc<App>>) -> ApiResult {
    with_store(app, |s, coder| {
        Ok(json!({
            "coder": coder,
            "role": s.role(coder)?,
            "frame": s.frame_state()?,
        }))
    })
    .await
}

async fn answers(State(app): State<Arc<App>>, Query(q): Query<AnswerQuery>) -> ApiResult {
    with_store(app, move |s, coder| s.answers(coder, &q)).await
}

#[derive(Deserialize)]
struct RowQuery {
    row: i64,
}

async fn history(State(app): State<Arc<App>>, Query(q): Query<RowQuery>) -> ApiResult {
    with_store(app, move |s, coder| {
        not_blind(s, coder, "no history")?;
        s.history(q.row)
    })
    .await
}

#[derive(Deserialize)]
struct CodeBody {
    /// (row, the base the page showed) per answer.
    writes: Vec<(i64, i64)>,
    /// The code, or none to clear.
    code: Option<i64>,
}

async fn code(State(app): State<Arc<App>>, Json(b): Json<CodeBody>) -> ApiResult {
    with_store(app, move |s, coder| {
        Ok(json!({ "seqs": s.code_rows(coder, &b.writes, b.code, Source::Person)? }))
    })
    .await
}

async fn adjudicate(State(app): State<Arc<App>>, Json(b): Json<CodeBody>) -> ApiResult {
    with_store(app, move |s, coder| {
        not_blind(s, coder, "no adjudication")?;
        Ok(json!({ "seqs": s.code_rows(coder, &b.writes, b.code, Source::Adjudicated)? }))
    })
    .await
}

#[derive(Deserialize)]
struct EditBody {
    version: i64,
    edit: Edit,
}

async fn edit(State(app): State<Arc<App>>, Json(b): Json<EditBody>) -> ApiResult {
    with_store(app, move |s, coder| {
        Ok(json!({ "version": s.edit(coder, b.version, &b.edit)? }))
    })
    .await
}

#[derive(Deserialize)]
struct UndoBody {
    version: i64,
}

async fn undo(State(app): State<Arc<App>>, Json(b): Json<UndoBody>) -> ApiResult {
    with_store(app, move |s, coder| {
        Ok(json!({ "version": s.undo(coder, b.version)? }))
    })
    .await
}

#[derive(Deserialize)]
struct SampleBody {
    coder: String,
    size: usize,
    seed: u64,
}

async fn sample(State(app): State<Arc<App>>, Json(b): Json<SampleBody>) -> ApiResult {
    with_store(app, move |s, _| {
        s.draw_sample(b.coder.trim(), b.size, b.seed)
    })
    .await
}

#[derive(Deserialize)]
struct WidthQuery {
    width: f64,
}

async fn sample_size(State(app): State<Arc<App>>, Query(q): Query<WidthQuery>) -> ApiResult {
    with_store(app, move |s, _| s.suggest_sample_size(q.width)).await
}

#[derive(Deserialize)]
struct PairQuery {
    a: String,
    b: String,
}

async fn agreement(State(app): State<Arc<App>>, Query(q): Query<PairQuery>) -> ApiResult {
    with_store(app, move |s, coder| {
        not_blind(s, coder, "no agreement yet")?;
        s.agreement(&q.a, &q.b)
    })
    .await
}

#[derive(Deserialize)]
struct ExportQuery {
    coder: Option<String>,
}

async fn export(
    State(app): State<Arc<App>>,
    axum::extract::Path(file): axum::extract::Path<String>,
    Query(q): Query<ExportQuery>,
) -> Response {
    let result =
        tokio::task::spawn_blocking(move || -> Result<(Vec<u8>, &'static str), StoreError> {
            let store = app
                .store
                .lock()
                .map_err(|_| StoreError::Invalid("the store is unavailable".into()))?;
            not_blind(&store, &app.coder, "no exports")?;
            Ok(match file.as_str() {
                "frame.toml" => (
                    store.frame_toml()?.into_bytes(),
                    "application/toml; charset=utf-8",
                ),
                "coded.csv" => (store.coded_csv()?, "text/csv; charset=utf-8"),
                "codings.csv" => (store.codings_csv()?, "text/csv; charset=utf-8"),
                "sample.csv" => (
                    store.sample_csv(q.coder.as_deref().unwrap_or(""))?,
                    "text/csv; charset=utf-8",
                ),
                _ => return Err(StoreError::Invalid("no such export".into())),
            })
        })
        .await;
    match result {
        Ok(Ok((bytes, kind))) => (
            [
                (header::CONTENT_TYPE, kind.to_string()),
                (header::CONTENT_DISPOSITION, "attachment".to_string()),
            ],
            Body::from(bytes),
        )
            .into_response(),
        Ok(Err(e)) => ApiError::from(e).into_response(),
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}
