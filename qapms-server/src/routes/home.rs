//! `/`: the landing page. It says what the server is and links the API until the persona
//! dashboards replace it.

use axum::Router;
use axum::response::Html;
use axum::routing::get;

use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/", get(home))
}

async fn home() -> Html<&'static str> {
    Html(include_str!("../../assets/home.html"))
}
