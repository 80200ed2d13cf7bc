//! The app as a Lambda function: API Gateway and function URL events in, their responses
//! out, through `lambda_http`, with two corrections on the way in.
//!
//! `lambda_http`'s `Adapter` (what `lambda_http::run` wraps a service in) turns the event into
//! an `http::Request` and the response back into the event's answer: REST API (payload 1.0)
//! responses carry every header in `multiValueHeaders`, so each `Set-Cookie` stays one
//! header; HTTP API and function URL (payload 2.0) responses carry them in `cookies`, and 2.0
//! requests' `cookies` become one `Cookie` header. `tests/lambda_events.rs` checks all of it
//! on recorded events.

use axum::Router;
use axum::response::Response;
use lambda_http::request::{LambdaRequest, RequestContext};
use lambda_http::tower::ServiceBuilder;
use lambda_http::tower::util::MapRequest;
use lambda_http::{Adapter, LambdaEvent, Request, RequestExt};

/// The app under `lambda_http`, as `lambda_runtime::run` takes it.
pub type Handler = MapRequest<
    Adapter<'static, Response, MapRequest<Router, fn(Request) -> Request>>,
    fn(LambdaEvent<LambdaRequest>) -> LambdaEvent<LambdaRequest>,
>;

/// `app` as a Lambda function.
pub fn handler(app: Router) -> Handler {
    let app = ServiceBuilder::new()
        .map_request(strip_stage as fn(Request) -> Request)
        .service(app);
    ServiceBuilder::new()
        .map_request(keep_repeated_headers as fn(_) -> _)
        .service(Adapter::from(app))
}

/// A REST API event's headers as the client sent them.
///
/// A REST API event has each header twice: every value in `multiValueHeaders`, and only the
/// last in `headers`. `lambda_http` starts from `multiValueHeaders` and then lets `headers`
/// replace each name it holds, so of two `Cookie` headers (HTTP/2 clients may split cookies
/// into several) only the last one would reach the app, and a session cookie sent first
/// would be lost. Names that `multiValueHeaders` holds are taken from it alone.
pub fn keep_repeated_headers(mut event: LambdaEvent<LambdaRequest>) -> LambdaEvent<LambdaRequest> {
    if let LambdaRequest::ApiGatewayV1(request) = &mut event.payload {
        let names: Vec<_> = request.multi_value_headers.keys().cloned().collect();
        for name in names {
            request.headers.remove(name);
        }
    }
    event
}

/// The request with its API Gateway stage taken off the front of the path.
///
/// `lambda_http` gives a REST API's request the stage in front of its path (`/Prod/sessions`
/// for `https://{api}/Prod/sessions`), and an HTTP API's named stage is there already; the
/// routes are `/sessions`. The `$default` stage (HTTP APIs, function URLs) adds nothing, and
/// neither does `lambda_http` when `AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH` is set.
pub fn strip_stage(mut request: Request) -> Request {
    if std::env::var_os("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH").is_some() {
        return request;
    }
    let stage = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(context)) => context.stage.clone(),
        Some(RequestContext::ApiGatewayV2(context)) => context.stage.clone(),
        _ => None,
    };
    let Some(stage) = stage.filter(|stage| !stage.is_empty() && stage != "$default") else {
        return request;
    };
    let uri = request.uri();
    let rest = match uri.path().strip_prefix(&format!("/{stage}")) {
        Some("") => "/",
        Some(rest) if rest.starts_with('/') => rest,
        _ => return request,
    };
    let path_and_query = match uri.query() {
        Some(query) => format!("{rest}?{query}"),
        None => rest.to_owned(),
    };
    let mut parts = uri.clone().into_parts();
    match path_and_query.parse() {
        Ok(path_and_query) => parts.path_and_query = Some(path_and_query),
        Err(_) => return request,
    }
    if let Ok(uri) = lambda_http::http::Uri::from_parts(parts) {
        *request.uri_mut() = uri;
    }
    request
}
