//! A fault-injecting HTTP proxy in front of an emulator: passes requests through, or answers
//! chosen operations with the error a real AWS service sends when throttling or failing.

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
}

pub struct FaultProxy {
    pub url: String,
    fault: Arc<Mutex<Option<(&'static str, Fault)>>>,
}

impl FaultProxy {
    pub async fn start(upstream: String) -> Self {
        let fault: Arc<Mutex<Option<(&'static str, Fault)>>> = Arc::default();
        let state = fault.clone();
        let http = reqwest::Client::new();
        let handler = move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let (state, http, upstream) = (state.clone(), http.clone(), upstream.clone());
            async move {
                let target = headers
                    .get("x-amz-target")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                let injected = *state.lock().unwrap();
                if let Some((operation, fault)) = injected
                    && target.ends_with(&format!(".{operation}"))
                {
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
        Self { url, fault }
    }

    /// Answers `operation` (e.g. `InitiateAuth`) with `fault` from now on.
    pub fn fail(&self, operation: &'static str, fault: Fault) {
        *self.fault.lock().unwrap() = Some((operation, fault));
    }

    /// Passes everything through again.
    pub fn heal(&self) {
        *self.fault.lock().unwrap() = None;
    }
}

fn error(fault: Fault) -> Response {
    let (status, kind) = match fault {
        Fault::Throttle => (StatusCode::BAD_REQUEST, "TooManyRequestsException"),
        Fault::ServerError => (StatusCode::INTERNAL_SERVER_ERROR, "InternalErrorException"),
    };
    let body = serde_json::json!({ "__type": kind, "message": "injected by the test proxy" });
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
