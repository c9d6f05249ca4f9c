//! Malware scanning of uploads through ClamAV's daemon, when one is configured
//! (`PACTUM_CLAMD_URL`): a received file is streamed to clamd (its INSTREAM command,
//! through the `clamav-client` crate) before it is stored. A file clamd finds a
//! signature in is refused (422 `malware_found`) and its refusal audited; when clamd
//! cannot give a verdict (down, timed out, over its stream limit) the upload is
//! refused (503), never stored unscanned.

use std::path::Path;

pub use crate::config::clamd::Clamd;
use std::time::Duration;

/// What clamd said of a file.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    Clean,
    /// The signature found.
    Infected(String),
    /// No verdict: clamd's own error, or no answer.
    Unknown(String),
}

/// The longest a scan may take: a large archive takes a while.
const SCAN_TIMEOUT: Duration = Duration::from_secs(120);

/// clamd's reply to INSTREAM: `stream: OK`, `stream: <signature> FOUND`, or an error
/// (`INSTREAM size limit exceeded. ERROR`, ...), NUL-terminated.
pub fn verdict(reply: &[u8]) -> Verdict {
    let reply = String::from_utf8_lossy(reply);
    let reply = reply.trim_end_matches('\0').trim();
    let body = reply.strip_prefix("stream:").map(str::trim);
    match body {
        Some("OK") => Verdict::Clean,
        Some(found) if found.ends_with(" FOUND") => {
            Verdict::Infected(found.trim_end_matches(" FOUND").trim().to_owned())
        }
        _ => Verdict::Unknown(crate::kernel::validate::truncate(reply, 200)),
    }
}

/// Streams the file at `path` to clamd and says what it found.
pub async fn scan(clamd: &Clamd, path: &Path) -> Verdict {
    use clamav_client::tokio::{scan_file, Socket, Tcp};
    let reply = match clamd {
        Clamd::Tcp(address) => {
            let connection = Tcp {
                host_address: address.as_str(),
            };
            tokio::time::timeout(SCAN_TIMEOUT, scan_file(path, connection, Some(64 * 1024))).await
        }
        Clamd::Socket(socket) => {
            let connection = Socket {
                socket_path: socket.as_path(),
            };
            tokio::time::timeout(SCAN_TIMEOUT, scan_file(path, connection, Some(64 * 1024))).await
        }
    };
    match reply {
        Err(_) => Verdict::Unknown(format!("no answer in {} s", SCAN_TIMEOUT.as_secs())),
        Ok(Err(error)) => Verdict::Unknown(format!("clamd cannot be reached: {error}")),
        Ok(Ok(reply)) => verdict(&reply),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamds_replies_are_read_as_verdicts() {
        assert_eq!(verdict(b"stream: OK\0"), Verdict::Clean);
        assert_eq!(
            verdict(b"stream: Eicar-Test-Signature FOUND\0"),
            Verdict::Infected("Eicar-Test-Signature".into())
        );
        assert!(matches!(
            verdict(b"INSTREAM size limit exceeded. ERROR\0"),
            Verdict::Unknown(_)
        ));
        assert!(matches!(verdict(b""), Verdict::Unknown(_)));
    }
}
