//! A fault-injecting HTTP proxy in front of an emulator: passes requests through, or answers
//! chosen operations with the error a real AWS service sends when throttling or failing, or
//! with an answer of the test's. It keeps the request bodies it saw, by operation.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Method, StatusCode, Uri};

/// What the proxy does to the operation it is told to fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// 400 `TooManyRequestsException`, Cognito's throttling error.
    Throttle,
    /// 500 `InternalErrorException`.
    ServerError,
    /// 400 with this error type and message, as AWS sends them.
    Error {
        kind: &'static str,
        message: &'static str,
    },
    /// 200 with this JSON body: an answer the emulator can't give.
    Answer(&'static str),
}

type Faults = Arc<Mutex<HashMap<&'static str, Fault>>>;
type Bodies = Arc<Mutex<HashMap<String, Vec<serde_json::Value>>>>;
/// Changes made to an operation's requests on their way to the emulator (`.0`), and to its
/// answers on their way back (`.1`).
type Rewrite = fn(&mut serde_json::Value);
type Rewrites = Arc<Mutex<HashMap<&'static str, (Option<Rewrite>, Option<Rewrite>)>>>;

pub struct FaultProxy {
    pub url: String,
    fault: Faults,
    bodies: Bodies,
    rewrites: Rewrites,
}

impl FaultProxy {
    pub async fn start(upstream: String) -> Self {
        let fault: Faults = Arc::default();
        let bodies: Bodies = Arc::default();
        let rewrites: Rewrites = Arc::default();
        let state = fault.clone();
        let seen = bodies.clone();
        let rewriting = rewrites.clone();
        let http = reqwest::Client::new();
        let handler = move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let (state, http, upstream) = (state.clone(), http.clone(), upstream.clone());
            let (seen, rewriting) = (seen.clone(), rewriting.clone());
            async move {
                let target = headers
                    .get("x-amz-target")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                let operation = target.rsplit('.').next().unwrap_or("").to_owned();
                if let Ok(json) = serde_json::from_slice(&body) {
                    seen.lock()
                        .unwrap()
                        .entry(operation.clone())
                        .or_default()
                        .push(json);
                }
                let injected = state.lock().unwrap().get(operation.as_str()).copied();
                if let Some(fault) = injected {
                    return error(fault);
                }
                let (to_emulator, back) = rewriting
                    .lock()
                    .unwrap()
                    .get(operation.as_str())
                    .copied()
                    .unwrap_or_default();
                let mut body = body;
                if let Some(rewrite) = to_emulator
                    && let Ok(mut json) = serde_json::from_slice(&body)
                {
                    rewrite(&mut json);
                    body = Bytes::from(json.to_string());
                }
                let path = uri.path_and_query().map_or("/", |p| p.as_str());
                let mut forwarded = http.request(method, format!("{upstream}{path}")).body(body);
                for (name, value) in &headers {
                    if name != http::header::HOST && name != http::header::CONTENT_LENGTH {
                        forwarded = forwarded.header(name, value);
                    }
                }
                match forwarded.send().await {
                    Ok(answer) => {
                        let status = answer.status();
                        let mut headers = answer.headers().clone();
                        let mut body = answer.bytes().await.unwrap_or_default();
                        if let Some(rewrite) = back
                            && let Ok(mut json) = serde_json::from_slice(&body)
                        {
                            rewrite(&mut json);
                            body = Bytes::from(json.to_string());
                            headers.remove(http::header::CONTENT_LENGTH);
                        }
                        (status, headers, body).into_response()
                    }
                    Err(_) => StatusCode::BAD_GATEWAY.into_response(),
                }
            }
        };
        let app = axum::Router::new().fallback(handler);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            url,
            fault,
            bodies,
            rewrites,
        }
    }

    /// Passes `operation` through, changing its JSON request with `to_emulator` and the
    /// emulator's JSON answer with `back`.
    pub fn rewrite(
        &self,
        operation: &'static str,
        to_emulator: Option<Rewrite>,
        back: Option<Rewrite>,
    ) {
        self.rewrites
            .lock()
            .unwrap()
            .insert(operation, (to_emulator, back));
    }

    /// Answers `operation` (e.g. `InitiateAuth`) with `fault` from now on (other operations
    /// keep theirs).
    pub fn fail(&self, operation: &'static str, fault: Fault) {
        self.fault.lock().unwrap().insert(operation, fault);
    }

    /// Passes everything through again.
    pub fn heal(&self) {
        self.fault.lock().unwrap().clear();
    }

    /// The JSON bodies of the `operation` requests seen so far, oldest first.
    pub fn bodies(&self, operation: &str) -> Vec<serde_json::Value> {
        self.bodies
            .lock()
            .unwrap()
            .get(operation)
            .cloned()
            .unwrap_or_default()
    }
}

fn error(fault: Fault) -> Response {
    let (status, kind, message) = match fault {
        Fault::Throttle => (
            StatusCode::BAD_REQUEST,
            "TooManyRequestsException",
            "injected by the test proxy",
        ),
        Fault::ServerError => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalErrorException",
            "injected by the test proxy",
        ),
        Fault::Error { kind, message } => (StatusCode::BAD_REQUEST, kind, message),
        Fault::Answer(body) => {
            return (
                StatusCode::OK,
                [("content-type", "application/x-amz-json-1.1")],
                body,
            )
                .into_response();
        }
    };
    let body = serde_json::json!({ "__type": kind, "message": message });
    (
        status,
        [
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amzn-errortype", kind),
        ],
        body.to_string(),
    )
        .into_response()
}
