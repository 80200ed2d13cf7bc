//! A bare `lambda_http` function that answers every request with "hello": the baseline the
//! cold start of `examples/lambda` is measured against (benches/cold_start.rs). Nothing
//! else is set up, so the difference is what the session layer's start costs.

use std::convert::Infallible;

use lambda_http::{Error, Request, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(|_: Request| async {
        Ok::<_, Infallible>("hello")
    }))
    .await
}
