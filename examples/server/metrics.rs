//! `GET /metrics`: the crate's metrics in Prometheus' text format, when `METRICS=true`.
//!
//! The exporter's own HTTP listener is left out: the route is one more handler of this
//! router, served on `BIND` like the others. It needs no session (Prometheus scrapes without
//! one), so keep the port off the public internet or put the route behind your own guard.

use axum::Router;

/// `app` with `GET /metrics` when `METRICS=true`; `app` unchanged otherwise. Installs the
/// process's metrics recorder, so call it once.
pub fn with_metrics(app: Router) -> Result<Router, String> {
    match std::env::var("METRICS").as_deref() {
        Ok("true") => serve(app),
        Ok("false") | Err(_) => Ok(app),
        Ok(other) => Err(format!("METRICS: expected true or false, got {other:?}")),
    }
}

#[cfg(feature = "metrics")]
fn serve(app: Router) -> Result<Router, String> {
    use axum::http::header;
    use axum::response::IntoResponse;
    use axum::routing::get;
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};

    // Durations as Prometheus histograms (summed across instances, unlike quantiles), with
    // buckets from an in-memory answer (well under a millisecond) to the SDK's timeouts.
    let buckets = [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    ];
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &buckets)
        .and_then(PrometheusBuilder::install_recorder)
        .map_err(|e| format!("METRICS: {e}"))?;
    cognito_session::metrics::describe();
    // Without its listener the exporter leaves its upkeep (draining histogram samples) to us.
    let upkeep = handle.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            upkeep.run_upkeep();
        }
    });
    tracing::info!("metrics at GET /metrics");
    let render = move || {
        let body = handle.render();
        async move { ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response() }
    };
    Ok(app.route("/metrics", get(render)))
}

#[cfg(not(feature = "metrics"))]
fn serve(_app: Router) -> Result<Router, String> {
    Err(
        "METRICS=true: this server was built without the crate's `metrics` feature; \
         run it with `--features metrics`"
            .to_owned(),
    )
}
