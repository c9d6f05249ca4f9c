//! One list shape for the whole API. Every list takes the same page request, `limit`
//! (1 to the list's maximum, 50 by default) and `cursor` (the `next_cursor` of the page
//! before), and answers the same envelope, `{"items": [...], "next_cursor": ...}`, with
//! `next_cursor` absent on the last page.
//!
//! Cursors are opaque to clients. Where the order is on unique, non-null columns the
//! cursor holds the last row's key and the next page starts after it (keyset paging:
//! as fast on page 1,000 as on page 1, and stable while rows are added); where it is
//! not (a search rank, a sort on a nullable column) it holds an offset.
//!
//! A keyset statement bounds its key on every page, the first one included, with a
//! bound before every row: `(created_at, id) > (coalesce($4, '-infinity'),
//! coalesce($5, '00000000-0000-0000-0000-000000000000'))`, `id < coalesce($7,
//! 9223372036854775807)`. Written `$4 is null or (created_at, id) > ($4, $5)`, the plan
//! PostgreSQL may settle on for a cached statement (the generic plan, made without the
//! parameters' values) cannot use the bound as the range of an index and reads every
//! row before the cursor, so reading a whole list page by page costs the square of its
//! length.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::DomainError;

/// The most records one export (a whole list as a file) holds.
pub const MAX_EXPORT_ROWS: usize = 100_000;

/// Rows per page when the request does not say.
pub const DEFAULT_LIMIT: i64 = 50;
/// Offsets beyond this are refused: deep offset paging costs the database the rows it
/// skips; lists that go deeper page by key.
pub const MAX_OFFSET: i64 = 100_000;
const MAX_CURSOR_CHARS: usize = 1024;
// An offset-paged list read for an export must still hand out a cursor when more rows
// follow, or an export over the bound would end short without saying so.
const _: () = assert!(MAX_EXPORT_ROWS as i64 <= MAX_OFFSET);

/// The query of a list that takes nothing but a page request.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` of the page before.
    pub cursor: Option<String>,
}

impl PageQuery {
    /// Largest page these lists hand out.
    pub const MAX_LIMIT: i64 = 200;

    pub fn parse(&self) -> Result<PageRequest, DomainError> {
        PageRequest::parse(self.limit, self.cursor.as_deref(), Self::MAX_LIMIT)
    }
}

/// One page of a list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
enum Position {
    #[serde(rename = "o")]
    Offset(i64),
    #[serde(rename = "k")]
    After(Value),
}

/// A validated page request.
#[derive(Debug)]
pub struct PageRequest {
    pub limit: i64,
    position: Option<Position>,
}

fn bad_cursor() -> DomainError {
    DomainError::Validation("cursor is not one this list handed out".into())
}

impl PageRequest {
    /// `limit` within 1..=`max` (default [`DEFAULT_LIMIT`], or `max` when smaller), and
    /// the cursor decoded.
    pub fn parse(limit: Option<i64>, cursor: Option<&str>, max: i64) -> Result<Self, DomainError> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT.min(max));
        if !(1..=max).contains(&limit) {
            return Err(DomainError::Validation(format!("limit must be 1 to {max}")));
        }
        let position = match cursor {
            None => None,
            Some(text) if text.len() > MAX_CURSOR_CHARS => return Err(bad_cursor()),
            Some(text) => {
                let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad_cursor())?;
                Some(serde_json::from_slice(&bytes).map_err(|_| bad_cursor())?)
            }
        };
        Ok(Self { limit, position })
    }

    /// A list read whole for an export: from its start, up to [`MAX_EXPORT_ROWS`]
    /// records (see [`Page::into_export`]). An export reads through its list's own
    /// query, so it selects and orders exactly what the list would.
    pub fn export() -> Self {
        Self {
            limit: MAX_EXPORT_ROWS as i64,
            position: None,
        }
    }

    /// How many rows to ask for: one more than the page, to learn whether another
    /// page follows without counting.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }

    /// For lists paged by offset: where this page starts.
    pub fn offset(&self) -> Result<i64, DomainError> {
        match &self.position {
            None => Ok(0),
            Some(Position::Offset(offset)) if (0..=MAX_OFFSET).contains(offset) => Ok(*offset),
            Some(_) => Err(bad_cursor()),
        }
    }

    /// For lists paged by key: the key of the last row of the page before, if any.
    pub fn after<K: DeserializeOwned>(&self) -> Result<Option<K>, DomainError> {
        match &self.position {
            None => Ok(None),
            Some(Position::After(key)) => serde_json::from_value(key.clone())
                .map(Some)
                .map_err(|_| bad_cursor()),
            Some(Position::Offset(_)) => Err(bad_cursor()),
        }
    }
}

fn encode(position: &Position) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(position).expect("a cursor serializes"))
}

impl<T> Page<T> {
    /// A page of a list paged by key, from up to `request.fetch()` rows: `key` gives the
    /// last row's key for the next cursor.
    pub fn keyset<K: Serialize>(
        mut rows: Vec<T>,
        request: &PageRequest,
        key: impl Fn(&T) -> K,
    ) -> Self {
        let more = rows.len() as i64 > request.limit;
        rows.truncate(request.limit as usize);
        let next_cursor = more.then(|| rows.last()).flatten().map(|last| {
            encode(&Position::After(
                serde_json::to_value(key(last)).expect("a key serializes"),
            ))
        });
        Self {
            items: rows,
            next_cursor,
        }
    }

    /// A page of a list ordered by `(lower(name), id)` (any name-like column), from rows
    /// that end with that lowered name: the cursor's key.
    pub fn by_lowered_name(
        rows: &[tokio_postgres::Row],
        request: &PageRequest,
        id: impl Fn(&T) -> uuid::Uuid,
    ) -> Self
    where
        T: for<'r> From<&'r tokio_postgres::Row>,
    {
        let rows: Vec<(T, String)> = rows
            .iter()
            .map(|row| (T::from(row), row.get(row.len() - 1)))
            .collect();
        let page = Page::keyset(rows, request, |(view, key)| (key.clone(), id(view)));
        page.map(|(view, _)| view)
    }

    /// A page of a list paged by offset, from up to `request.fetch()` rows starting at
    /// `request.offset()`.
    pub fn offset(mut rows: Vec<T>, request: &PageRequest) -> Self {
        let more = rows.len() as i64 > request.limit;
        rows.truncate(request.limit as usize);
        let next = request.offset().unwrap_or(0) + request.limit;
        Self {
            items: rows,
            next_cursor: (more && next <= MAX_OFFSET).then(|| encode(&Position::Offset(next))),
        }
    }

    /// The same page with each item turned into another (say, a row's sort key
    /// dropped once the cursor is made).
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }

    /// The records of a list read with [`PageRequest::export`]; refused when the list
    /// holds more than one export may, so a file never ends short without saying so.
    pub fn into_export(self) -> Result<Vec<T>, DomainError> {
        match self.next_cursor {
            None => Ok(self.items),
            Some(_) => Err(DomainError::Validation(format!(
                "an export holds at most {MAX_EXPORT_ROWS} rows: narrow it with the list's filters"
            ))),
        }
    }

    /// A list that is never long enough to page (bounded by its nature, such as the
    /// clauses on one contract): everything, in one page.
    pub fn whole(items: Vec<T>) -> Self {
        Self {
            items,
            next_cursor: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyset_pages_hand_out_the_last_key_and_only_while_more_follow() {
        let first = PageRequest::parse(Some(2), None, 10).unwrap();
        assert_eq!(first.fetch(), 3);
        let page = Page::keyset(vec![1, 2, 3], &first, |n| *n);
        assert_eq!(page.items, [1, 2]);
        let cursor = page.next_cursor.unwrap();
        let second = PageRequest::parse(Some(2), Some(&cursor), 10).unwrap();
        assert_eq!(second.after::<i32>().unwrap(), Some(2));
        let last = Page::keyset(vec![3], &second, |n| *n);
        assert_eq!((last.items, last.next_cursor), (vec![3], None));
    }

    #[test]
    fn an_export_is_the_whole_list_or_refused_never_cut_short() {
        let bound = MAX_EXPORT_ROWS as i64;
        assert_eq!(PageRequest::export().fetch(), bound + 1);
        let rows = |n: i64| (0..n).collect::<Vec<_>>();
        for page in [
            Page::keyset(rows(bound), &PageRequest::export(), |n| *n),
            Page::offset(rows(bound), &PageRequest::export()),
        ] {
            assert_eq!(page.into_export().unwrap().len(), MAX_EXPORT_ROWS);
        }
        for page in [
            Page::keyset(rows(bound + 1), &PageRequest::export(), |n| *n),
            Page::offset(rows(bound + 1), &PageRequest::export()),
        ] {
            assert!(page.into_export().is_err());
        }
    }

    #[test]
    fn offset_pages_move_by_the_limit() {
        let first = PageRequest::parse(None, None, 100).unwrap();
        assert_eq!(first.limit, DEFAULT_LIMIT);
        let page = Page::offset((0..51).collect::<Vec<_>>(), &first);
        let second = PageRequest::parse(None, page.next_cursor.as_deref(), 100).unwrap();
        assert_eq!(second.offset().unwrap(), 50);
    }

    #[test]
    fn foreign_forged_and_oversized_cursors_and_limits_are_refused() {
        assert!(PageRequest::parse(Some(0), None, 10).is_err());
        assert!(PageRequest::parse(Some(11), None, 10).is_err());
        for cursor in ["not base64!", "bm90IGpzb24", &"A".repeat(2000)] {
            assert!(
                PageRequest::parse(None, Some(cursor), 10).is_err(),
                "{cursor}"
            );
        }
        let keyset = Page::keyset(
            vec![1, 2],
            &PageRequest::parse(Some(1), None, 10).unwrap(),
            |n| *n,
        )
        .next_cursor
        .unwrap();
        let request = PageRequest::parse(None, Some(&keyset), 10).unwrap();
        assert!(request.offset().is_err(), "a key cursor is no offset");
        assert!(
            request.after::<String>().is_err(),
            "nor a key of another shape"
        );
        let deep = encode(&Position::Offset(MAX_OFFSET + 1));
        assert!(PageRequest::parse(None, Some(&deep), 10)
            .unwrap()
            .offset()
            .is_err());
    }
}
