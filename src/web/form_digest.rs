//! A digest of a `multipart/form-data` body that a retry of the same form matches.
//!
//! A client picks a new boundary for every request it sends, so the bytes of a form
//! sent twice differ wherever a delimiter stands. The digest leaves the delimiters out
//! and takes instead where each stood in what remains: the same parts (headers and
//! bytes) in the same order give the same digest whatever the boundary, and two bodies
//! that differ anywhere else give different ones. What follows the closing delimiter
//! (the epilogue, which receivers ignore) is left out too, so the digest is known as
//! soon as the closing delimiter has passed, whether or not the reader asks the stream
//! for its end.

use memchr::memmem;
use sha2::{Digest, Sha256};

pub struct FormDigest {
    /// `--` and the boundary.
    delimiter: Vec<u8>,
    /// Bytes not yet digested: the tail of what came, where a delimiter may begin.
    pending: Vec<u8>,
    content: Sha256,
    /// How many bytes of content (everything but delimiters) were digested.
    content_len: u64,
    /// Where each delimiter stood, in content bytes before it.
    delimiters: Vec<u64>,
    closed: bool,
}

impl FormDigest {
    pub fn new(boundary: &str) -> Self {
        Self {
            delimiter: [b"--", boundary.as_bytes()].concat(),
            pending: Vec::new(),
            content: Sha256::new(),
            content_len: 0,
            delimiters: Vec::new(),
            closed: false,
        }
    }

    /// Whether the closing delimiter has passed: nothing more counts.
    pub fn closed(&self) -> bool {
        self.closed
    }

    fn digest_content(&mut self, from: usize, to: usize) {
        self.content.update(&self.pending[from..to]);
        self.content_len += (to - from) as u64;
    }

    /// Takes the next bytes of the body.
    pub fn update(&mut self, chunk: &[u8]) {
        if self.closed {
            return;
        }
        self.pending.extend_from_slice(chunk);
        let width = self.delimiter.len();
        let mut start = 0;
        loop {
            match memmem::find(&self.pending[start..], &self.delimiter) {
                // Whether it closes the form is told by the two bytes after it.
                Some(at) if start + at + width + 2 <= self.pending.len() => {
                    let at = start + at;
                    self.digest_content(start, at);
                    self.delimiters.push(self.content_len);
                    start = at + width;
                    if &self.pending[start..start + 2] == b"--" {
                        self.closed = true;
                        self.pending.clear();
                        return;
                    }
                }
                Some(at) => {
                    let at = start + at;
                    self.digest_content(start, at);
                    start = at;
                    break;
                }
                None => {
                    // A delimiter may begin in the last bytes and end in the next chunk.
                    let kept = (width - 1).min(self.pending.len() - start);
                    let to = self.pending.len() - kept;
                    self.digest_content(start, to);
                    start = to;
                    break;
                }
            }
        }
        self.pending.drain(..start);
    }

    /// The digest, in hex: the content's, its length and where the delimiters stood.
    pub fn finish(mut self) -> String {
        if !self.closed {
            let len = self.pending.len();
            self.digest_content(0, len);
        }
        let mut digest = Sha256::new();
        digest.update(self.content.finalize());
        digest.update(self.content_len.to_be_bytes());
        for at in &self.delimiters {
            digest.update(at.to_be_bytes());
        }
        digest
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::FormDigest;

    fn form(boundary: &str, parts: &[(&str, &[u8])]) -> Vec<u8> {
        let mut body = b"preamble\r\n".to_vec();
        for (name, bytes) in parts {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n")
                    .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        body
    }

    fn digest_in_chunks(boundary: &str, body: &[u8], chunk: usize) -> String {
        let mut digest = FormDigest::new(boundary);
        for piece in body.chunks(chunk) {
            digest.update(piece);
        }
        digest.finish()
    }

    #[test]
    fn the_same_form_under_another_boundary_and_in_other_chunks_digests_the_same() {
        let parts: &[(&str, &[u8])] = &[("file", b"hello world"), ("note", b"--not a delimiter")];
        let first = digest_in_chunks("abc123", &form("abc123", parts), 1000);
        for chunk in [1, 2, 3, 7, 13] {
            assert_eq!(
                digest_in_chunks(
                    "zz-other-boundary-9",
                    &form("zz-other-boundary-9", parts),
                    chunk
                ),
                first,
                "chunks of {chunk}"
            );
        }
    }

    #[test]
    fn another_byte_another_order_or_another_split_digests_differently() {
        let base = digest_in_chunks("b", &form("b", &[("file", b"hello"), ("x", b"y")]), 5);
        for other in [
            form("b", &[("file", b"hellO"), ("x", b"y")]),
            form("b", &[("x", b"y"), ("file", b"hello")]),
            form("b", &[("file", b"hel"), ("x", b"lo\r\n--b\r\ny")]),
            form("b", &[("file", b"hello"), ("x", b"y"), ("z", b"")]),
        ] {
            assert_ne!(digest_in_chunks("b", &other, 3), base);
        }
    }

    #[test]
    fn nothing_after_the_closing_delimiter_counts_and_it_is_seen_at_once() {
        let body = form("q", &[("file", b"data")]);
        let mut digest = FormDigest::new("q");
        digest.update(&body);
        assert!(digest.closed(), "closed without the stream's end");
        digest.update(b"epilogue that differs");
        assert_eq!(digest.finish(), digest_in_chunks("q", &body, 2));
    }

    #[test]
    fn a_form_cut_short_digests_what_came() {
        let body = form("q", &[("file", b"data")]);
        let cut = &body[..body.len() - 8];
        let mut digest = FormDigest::new("q");
        digest.update(cut);
        assert!(!digest.closed());
        assert_ne!(digest.finish(), digest_in_chunks("q", &body, 4));
    }
}
