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

pub struct FaultProxy {
    pub url: String,
    fault: Faults,
    bodies: Bodies,
}

impl FaultProxy {
    pub async fn start(upstream: String) -> Self {
        let fault: Faults = Arc::default();
        let bodies: Bodies = Arc::default();
        let state = fault.clone();
        let seen = bodies.clone();
        let http = reqwest::Client::new();
        let handler = move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let (state, http, upstream) = (state.clone(), http.clone(), upstream.clone());
            let seen = seen.clone();
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
                let path = uri.path_and_query().map_or("/", |p| p.as_str());
                let mut forwarded = http.request(method, format!("{upstream}{path}")).body(body);
                for (name, value) in &headers {
                    if name != http::header::HOST {
                        forwarded = forwarded.header(name, value);
                    }
                }
                match forwarded.send().await {
                    Ok(answer) => {
                        let status = answer.status();
                        let headers = answer.headers().clone();
                        let body = answer.bytes().await.unwrap_or_default();
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
        Self { url, fault, bodies }
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
