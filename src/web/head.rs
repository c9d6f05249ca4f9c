//! `HEAD` (RFC 9110, 9.3.2): every resource served to `GET` is served to `HEAD`, with
//! the same status and headers and no content. Routes are registered for `GET` only,
//! so a `HEAD` is routed as a `GET` and its answer's content is dropped unread: a
//! sized body is replaced by one of the same size that yields nothing (so
//! `Content-Length` stays what a `GET` would get, and a download reads no file), a
//! streamed one (a notification stream) by none at all.

use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest};

/// Marks a request that came as `HEAD`: a handler whose `GET` changes something (a
/// ticket used up) answers it without the change.
#[derive(Clone, Copy)]
struct CameAsHead;

/// Whether the request came as `HEAD` and is routed as a `GET`.
pub fn came_as_head(req: &HttpRequest) -> bool {
    req.extensions().contains::<CameAsHead>()
}

/// Routes a `HEAD` as a `GET` and answers it without content.
pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let head = req.method() == Method::HEAD;
    if head {
        req.head_mut().method = Method::GET;
        req.extensions_mut().insert(CameAsHead);
    }
    let response = next.call(req).await?.map_into_boxed_body();
    if !head {
        return Ok(response);
    }
    Ok(response.map_body(|_, body| match body.size() {
        BodySize::Sized(size) => BoxBody::new(Unread(size)),
        BodySize::None | BodySize::Stream => BoxBody::new(actix_web::body::None::new()),
    }))
}

/// A body as long as the content a `GET` would carry that yields none of it: what a
/// `HEAD`'s answer carries.
struct Unread(u64);

impl MessageBody for Unread {
    type Error = std::convert::Infallible;

    fn size(&self) -> BodySize {
        BodySize::Sized(self.0)
    }

    fn poll_next(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<actix_web::web::Bytes, Self::Error>>> {
        Poll::Ready(None)
    }
}
