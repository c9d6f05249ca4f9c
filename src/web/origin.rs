//! The request as an [`Origin`] for the audit log: the client's address (the first
//! `X-Forwarded-For` entry only behind a trusted proxy), its user agent and the id.
//! Handlers extract a [`RequestOrigin`], which derefs to the kernel's `Origin` (the
//! kernel is another crate, so actix's extractor trait cannot be implemented on it
//! here).

use std::future::{ready, Ready};

use actix_web::{web, FromRequest, HttpMessage, HttpRequest};

use super::request_id::RequestId;
use super::AppState;
use crate::kernel::actor::{Origin, MAX_USER_AGENT_CHARS};

/// The [`Origin`] of the request being handled; `&origin` passes as `&Origin`.
#[derive(Debug, Clone)]
pub struct RequestOrigin(pub Origin);

impl RequestOrigin {
    pub fn into_inner(self) -> Origin {
        self.0
    }
}

impl std::ops::Deref for RequestOrigin {
    type Target = Origin;

    fn deref(&self) -> &Origin {
        &self.0
    }
}

impl FromRequest for RequestOrigin {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let trust_proxy = req
            .app_data::<web::Data<AppState>>()
            .is_some_and(|state| state.config.trust_proxy);
        // Behind our own proxy the client is the first X-Forwarded-For entry;
        // otherwise the header is the client's to forge, and the peer is the truth.
        let forwarded = trust_proxy
            .then(|| req.headers().get("x-forwarded-for"))
            .flatten()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|ip| ip.trim().parse::<std::net::IpAddr>().ok());
        let ip = forwarded
            .or_else(|| req.peer_addr().map(|addr| addr.ip()))
            .map(|ip| ip.to_string());
        let user_agent = req
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| {
                ua.chars()
                    .filter(|c| !c.is_control())
                    .take(MAX_USER_AGENT_CHARS)
                    .collect()
            });
        let request_id = req.extensions().get::<RequestId>().map(|id| id.0.clone());
        ready(Ok(RequestOrigin(Origin::Request {
            ip,
            user_agent,
            request_id,
        })))
    }
}
