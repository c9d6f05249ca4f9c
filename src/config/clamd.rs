//! The address of ClamAV's daemon, as `PACTUM_CLAMD_URL` gives it.

use std::path::PathBuf;

/// Where clamd listens.
#[derive(Debug, Clone, PartialEq)]
pub enum Clamd {
    /// `tcp://host:port`
    Tcp(String),
    /// `unix:/path/to/clamd.sock`
    Socket(PathBuf),
}

impl Clamd {
    pub fn parse(url: &str) -> Result<Self, String> {
        if let Some(address) = url.strip_prefix("tcp://") {
            let ok = address
                .rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
            if ok {
                return Ok(Self::Tcp(address.to_owned()));
            }
        } else if let Some(path) = url.strip_prefix("unix:") {
            if path.starts_with('/') {
                return Ok(Self::Socket(PathBuf::from(path)));
            }
        }
        Err(format!(
            "expected tcp://host:port or unix:/absolute/path, got {url:?}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamd_addresses_are_tcp_or_an_absolute_socket() {
        assert_eq!(
            Clamd::parse("tcp://127.0.0.1:3310"),
            Ok(Clamd::Tcp("127.0.0.1:3310".into()))
        );
        assert_eq!(
            Clamd::parse("unix:/run/clamav/clamd.ctl"),
            Ok(Clamd::Socket("/run/clamav/clamd.ctl".into()))
        );
        for bad in [
            "",
            "tcp://",
            "tcp://host",
            "tcp://:3310",
            "unix:relative",
            "http://x:1",
        ] {
            assert!(Clamd::parse(bad).is_err(), "{bad}");
        }
    }
}
