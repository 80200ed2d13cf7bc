use axum::Router;
use axum::body::Body;
use axum::routing::get;
use axum_core::response::IntoResponse as _;
use http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

use super::*;
use crate::{Claims, MemoryStore, SessionConfig, SessionLayer, SessionManager};

async fn name(user: CurrentUser) -> String {
    user.username().to_owned()
}

struct Answer {
    status: StatusCode,
    challenge: Option<String>,
    body: String,
}

async fn get_as(app: &Router, path: &str, token: Option<&str>) -> Answer {
    let mut request = Request::builder().uri(path);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let challenge = response.headers().get(WWW_AUTHENTICATE);
    let challenge = challenge.map(|v| v.to_str().unwrap().to_owned());
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        challenge,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

/// A manager, and tokens of an admin, a member of `staff` with scope `orders/read`, and
/// a user with no claims at all.
async fn sessions() -> (SessionManager, [String; 3]) {
    let manager = SessionManager::new(MemoryStore::new(), SessionConfig::default()).unwrap();
    let admin = Claims::new().with_groups(["staff", "admins"]);
    let staff = Claims::new()
        .with_groups(["staff"])
        .with_scopes(["orders/read"]);
    let mut tokens = Vec::new();
    for (name, claims) in [("ada", admin), ("sam", staff), ("nob", Claims::new())] {
        let session = manager.create_with(name, claims).await.unwrap();
        tokens.push(session.token.expose().to_owned());
    }
    (manager, tokens.try_into().unwrap())
}

#[tokio::test]
async fn a_group_guard_lets_members_through_and_refuses_others_with_403() {
    let (manager, [admin, staff, nobody]) = sessions().await;
    let app = Router::new()
        .route("/admin", get(name))
        .route_layer(RequireGroup::new("admins"))
        .route("/open", get(name))
        .layer(SessionLayer::new(manager));

    let ok = get_as(&app, "/admin", Some(&admin)).await;
    assert_eq!((ok.status, ok.body.as_str()), (StatusCode::OK, "ada"));
    for token in [&staff, &nobody] {
        let refused = get_as(&app, "/admin", Some(token)).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert_eq!(
            refused.challenge.as_deref(),
            Some(r#"Bearer error="insufficient_scope""#)
        );
        assert_eq!(refused.body, r#"{"error":"Insufficient permissions."}"#);
        let open = get_as(&app, "/open", Some(token)).await;
        assert_eq!(open.status, StatusCode::OK, "other routes are not guarded");
    }
    let anonymous = get_as(&app, "/admin", None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn any_of_and_scope_guards() {
    let (manager, [admin, staff, nobody]) = sessions().await;
    let app = Router::new()
        .route(
            "/orders",
            get(name).route_layer(RequireScope::new("orders/read")),
        )
        .route(
            "/desk",
            get(name).route_layer(RequireGroup::any_of(["support", "staff"])),
        )
        .route(
            "/nobody",
            get(name).route_layer(RequireGroup::any_of(Vec::<String>::new())),
        )
        .layer(SessionLayer::new(manager));
    let status = async |path, token| get_as(&app, path, Some(token)).await.status;
    assert_eq!(status("/orders", &staff).await, StatusCode::OK);
    assert_eq!(status("/orders", &admin).await, StatusCode::FORBIDDEN);
    assert_eq!(status("/desk", &admin).await, StatusCode::OK);
    assert_eq!(status("/desk", &staff).await, StatusCode::OK);
    assert_eq!(status("/desk", &nobody).await, StatusCode::FORBIDDEN);
    assert_eq!(status("/nobody", &admin).await, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn refusals_are_customisable_and_a_missing_user_is_answered_as_the_layer_would() {
    let (manager, [admin, staff, _]) = sessions().await;
    let teapot = |r: &Rejection| {
        let mut response = Response::new(Body::from(format!("teapot: {}", r.message())));
        *response.status_mut() = StatusCode::IM_A_TEAPOT;
        response
    };
    let to_login = |_: &Rejection| {
        Response::builder()
            .status(StatusCode::SEE_OTHER)
            .header("location", "/login")
            .body(Body::empty())
            .unwrap()
    };
    let app = Router::new()
        .route("/admin", get(name))
        .route_layer(RequireGroup::new("admins").with_rejection(teapot))
        .layer(
            SessionLayer::new(manager)
                .with_required(false)
                .with_rejection(to_login),
        )
        .route("/bare", get(name).route_layer(RequireGroup::new("admins")));
    assert_eq!(
        get_as(&app, "/admin", Some(&admin)).await.status,
        StatusCode::OK
    );
    let refused = get_as(&app, "/admin", Some(&staff)).await;
    assert_eq!(refused.status, StatusCode::IM_A_TEAPOT);
    assert_eq!(refused.body, "teapot: Insufficient permissions.");
    // No user: the session layer's way of answering, not the guard's.
    let anonymous = get_as(&app, "/admin", None).await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    // No session layer at all: the guard's own rejection, 401.
    let bare = get_as(&app, "/bare", Some(&admin)).await;
    assert_eq!(bare.status, StatusCode::UNAUTHORIZED);
    assert_eq!(bare.body, r#"{"error":"Session does not exist."}"#);
}

#[tokio::test]
async fn the_guard_service_delegates_readiness_and_calls_inner_only_when_allowed() {
    let (mut service, mut handle) = tower_test::mock::spawn_layer::<Request<()>, Response<String>, _>(
        RequireGroup::new("admins"),
    );
    handle.allow(0);
    assert!(
        service.poll_ready().is_pending(),
        "not ready while inner isn't"
    );
    let request = |groups: &[&str]| {
        let record = crate::SessionRecord {
            claims: Claims::new().with_groups(groups.iter().copied()),
            ..crate::SessionRecord::for_test("k", "ada", 0)
        };
        let mut request = Request::new(());
        let user = CurrentUser::from_record(std::sync::Arc::new(record));
        request.extensions_mut().insert(user);
        request
    };
    handle.allow(1);
    assert!(matches!(service.poll_ready(), Poll::Ready(Ok(()))));
    let refused = service.call(request(&["staff"])).await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    assert!(matches!(service.poll_ready(), Poll::Ready(Ok(()))));
    let call = tokio::spawn(service.call(request(&["admins"])));
    let (seen, reply) = handle.next_request().await.expect("the inner call");
    assert_eq!(
        seen.extensions().get::<CurrentUser>().unwrap().username(),
        "ada"
    );
    reply.send_response(Response::new("inner".to_owned()));
    assert_eq!(call.await.unwrap().unwrap().into_body(), "inner");
}

struct Admins;

impl Permission for Admins {
    fn is_granted(user: &CurrentUser) -> bool {
        user.in_group("admins")
    }
}

async fn admin_only(user: Authorized<Admins>) -> String {
    user.username().to_owned()
}

#[tokio::test]
async fn the_extractor_checks_the_same_way() {
    let (manager, [admin, staff, _]) = sessions().await;
    let app = Router::new()
        .route("/admin", get(admin_only))
        .layer(SessionLayer::new(manager).with_required(false))
        .route("/uncovered", get(admin_only));
    let ok = get_as(&app, "/admin", Some(&admin)).await;
    assert_eq!((ok.status, ok.body.as_str()), (StatusCode::OK, "ada"));
    let refused = get_as(&app, "/admin", Some(&staff)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        refused.challenge.as_deref(),
        Some(r#"Bearer error="insufficient_scope""#)
    );
    assert_eq!(refused.body, r#"{"error":"Insufficient permissions."}"#);
    assert_eq!(
        get_as(&app, "/admin", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get_as(&app, "/uncovered", Some(&admin)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let response = AuthorizedRejection::Forbidden.into_response();
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
}
