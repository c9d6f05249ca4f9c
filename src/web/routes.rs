//! What the router does not match. The OpenAPI document lists every route the server
//! mounts (both come from the same registration), so it doubles as the route table:
//! a path it knows asked with another method is a 405 with `Allow`, anything else a
//! 404 `not_found`.

use actix_web::http::header::{HeaderValue, ALLOW};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};

use super::error::ApiError;
use super::AppState;
use crate::kernel::DomainError;

enum Segment {
    Literal(String),
    Parameter,
}

/// Path templates (`/api/v1/contracts/{id}`) and the methods each serves.
pub struct RouteTable {
    routes: Vec<(Vec<Segment>, Vec<&'static str>)>,
}

impl RouteTable {
    pub fn from_document(document: &utoipa::openapi::OpenApi) -> Self {
        let routes = document
            .paths
            .paths
            .iter()
            .map(|(template, item)| {
                let segments = template
                    .split('/')
                    .map(|part| {
                        if part.starts_with('{') && part.ends_with('}') {
                            Segment::Parameter
                        } else {
                            Segment::Literal(part.to_owned())
                        }
                    })
                    .collect();
                let methods = [
                    ("GET", item.get.is_some()),
                    // A HEAD is served wherever a GET is (`web::head`).
                    ("HEAD", item.get.is_some() || item.head.is_some()),
                    ("PUT", item.put.is_some()),
                    ("POST", item.post.is_some()),
                    ("DELETE", item.delete.is_some()),
                    ("OPTIONS", item.options.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("TRACE", item.trace.is_some()),
                ]
                .into_iter()
                .filter_map(|(method, served)| served.then_some(method))
                .collect();
                (segments, methods)
            })
            .collect();
        Self { routes }
    }

    /// The methods served on `path`, if any route's template matches it.
    pub fn methods_for(&self, path: &str) -> Vec<&'static str> {
        self.methods_matching(path, false)
    }

    /// The methods of the routes whose templates name `path` literally, with no
    /// parameter (`/api/v1/workflows/match`, not `/api/v1/workflows/{id}`).
    pub fn literal_methods_for(&self, path: &str) -> Vec<&'static str> {
        self.methods_matching(path, true)
    }

    fn methods_matching(&self, path: &str, literal_only: bool) -> Vec<&'static str> {
        let parts: Vec<&str> = path.split('/').collect();
        let mut methods: Vec<&'static str> = Vec::new();
        for (segments, served) in &self.routes {
            if literal_only && segments.iter().any(|s| matches!(s, Segment::Parameter)) {
                continue;
            }
            let matches = segments.len() == parts.len()
                && segments
                    .iter()
                    .zip(&parts)
                    .all(|(segment, part)| match segment {
                        Segment::Literal(literal) => literal == part,
                        Segment::Parameter => !part.is_empty(),
                    });
            if matches {
                for method in served {
                    if !methods.contains(method) {
                        methods.push(method);
                    }
                }
            }
        }
        methods
    }
}

/// The default service: 405 with `Allow` for a known path, else 404.
pub async fn unrouted(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let allowed = state.routes.methods_for(req.path());
    if allowed.is_empty() {
        return ApiError::from(DomainError::Missing("route")).error_response();
    }
    method_not_allowed(&allowed)
}

/// 405 with `Allow`.
pub fn method_not_allowed(allowed: &[&str]) -> HttpResponse {
    let mut response = ApiError::MethodNotAllowed.error_response();
    if let Ok(value) = HeaderValue::from_str(&allowed.join(", ")) {
        response.headers_mut().insert(ALLOW, value);
    }
    response
}

/// A path parameter that does not parse, on a path that is also a literal route
/// (`PUT /api/v1/workflows/match` reached `PUT /api/v1/workflows/{id}` with
/// `id = "match"`): the method is what is wrong, so 405 rather than a 400 about the id.
pub fn literal_route_refusal(req: &HttpRequest) -> Option<HttpResponse> {
    let state = req.app_data::<web::Data<AppState>>()?;
    let allowed = state.routes.literal_methods_for(req.path());
    (!allowed.is_empty() && !allowed.contains(&req.method().as_str()))
        .then(|| method_not_allowed(&allowed))
}

/// A path segment that does not parse (say, a malformed id) is a 400, as JSON.
pub fn path_config() -> actix_web::web::PathConfig {
    actix_web::web::PathConfig::default().error_handler(|error, req| {
        match literal_route_refusal(req) {
            Some(response) => {
                actix_web::error::InternalError::from_response(error, response).into()
            }
            None => {
                ApiError::from(DomainError::BadRequest(format!("invalid path: {error}"))).into()
            }
        }
    })
}
