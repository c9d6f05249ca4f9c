//! The query string of a list: the list's own filters and the page request every list
//! takes (`limit`, `cursor`), told apart by name. The filters are then a struct of their
//! own that the list's export takes as well, so a file holds exactly what the list
//! shows. (serde's `flatten` cannot carry typed fields, a number or a flag, through a
//! query string, nor refuse unknown ones.)

use actix_web::{dev::Payload, FromRequest, HttpRequest};
use futures::future::{ready, Ready};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::kernel::page::PageQuery;
use crate::kernel::DomainError;

/// The parameters of the page request, taken out before the filters are read.
const PAGING: [&str; 2] = ["limit", "cursor"];

/// A list's query: filters `F` (a struct that refuses unknown fields) and the page.
pub struct ListQuery<F> {
    pub filters: F,
    pub page: PageQuery,
}

impl<F: DeserializeOwned> ListQuery<F> {
    fn parse(query: &str) -> Result<Self, serde_urlencoded::de::Error> {
        // The query's own `name=value` segments are sorted by their decoded name and
        // each side is then read once, as it came: nothing is decoded and encoded again.
        let (mut paging, mut filters) = (String::new(), String::new());
        for segment in query.split('&').filter(|segment| !segment.is_empty()) {
            let paging_part = form_urlencoded::parse(segment.as_bytes())
                .next()
                .is_some_and(|(name, _)| PAGING.contains(&name.as_ref()));
            let side = if paging_part {
                &mut paging
            } else {
                &mut filters
            };
            if !side.is_empty() {
                side.push('&');
            }
            side.push_str(segment);
        }
        Ok(Self {
            filters: serde_urlencoded::from_str(&filters)?,
            page: serde_urlencoded::from_str(&paging)?,
        })
    }
}

impl<F: DeserializeOwned> FromRequest for ListQuery<F> {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Self::parse(req.query_string()).map_err(|e| {
            ApiError::from(DomainError::BadRequest(format!("invalid query: {e}"))).into()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Filters {
        status: Option<String>,
        breached: Option<bool>,
    }

    #[test]
    fn filters_and_page_are_read_apart_with_their_types() {
        let query =
            ListQuery::<Filters>::parse("status=open&limit=20&breached=true&cursor=abc").unwrap();
        assert_eq!(
            query.filters,
            Filters {
                status: Some("open".into()),
                breached: Some(true)
            }
        );
        assert_eq!(query.page.limit, Some(20));
        assert_eq!(query.page.cursor.as_deref(), Some("abc"));
        let encoded = ListQuery::<Filters>::parse("st%61tus=a%26b+c&%6Cimit=5&&").unwrap();
        assert_eq!(encoded.filters.status.as_deref(), Some("a&b c"));
        assert_eq!(encoded.page.limit, Some(5));
        let empty = ListQuery::<Filters>::parse("").unwrap();
        assert_eq!((empty.filters.status, empty.page.limit), (None, None));
    }

    #[test]
    fn unknown_mistyped_and_repeated_parameters_are_refused() {
        for query in [
            "colour=red",
            "breached=maybe",
            "limit=ten",
            "limit=1&limit=2",
            "status=a&status=b",
            "limit=1&%6Cimit=2",
            "%ZZ=1",
        ] {
            assert!(ListQuery::<Filters>::parse(query).is_err(), "{query}");
        }
    }
}
