//! A real ClamAV daemon for the tests that scan uploads: the distribution's `clamd`
//! (installed by `scripts/clamav.sh`), on a Unix socket in a folder of its own, with a
//! signature database of one entry, the EICAR test file's hash (no signatures can be
//! fetched here). Stopped and removed when dropped.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// The EICAR anti-virus test file: harmless, and what every scanner reports.
pub const EICAR: &[u8] = br"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

pub struct ClamAv {
    child: Child,
    dir: PathBuf,
}

impl ClamAv {
    pub fn start() -> Self {
        let installed = Command::new("bash")
            .arg(crate::support::workspace_root().join("scripts/clamav.sh"))
            .output()
            .expect("scripts/clamav.sh runs");
        assert!(
            installed.status.success(),
            "{}",
            String::from_utf8_lossy(&installed.stderr)
        );
        let clamd = String::from_utf8_lossy(&installed.stdout).trim().to_owned();
        let dir = std::env::temp_dir().join(format!("pactum-clamd-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(dir.join("db")).unwrap();
        // MD5, size and name: a hash signature (ClamAV's .hdb format).
        std::fs::write(
            dir.join("db/eicar.hdb"),
            "44d88612fea8a8f36de82e1278abb02f:68:Eicar-Test-Signature\n",
        )
        .unwrap();
        let d = dir.display();
        std::fs::write(
            dir.join("clamd.conf"),
            format!(
                "Foreground yes\nLocalSocket {d}/clamd.sock\nDatabaseDirectory {d}/db\n\
                 LogFile {d}/clamd.log\nStreamMaxLength 200M\n"
            ),
        )
        .unwrap();
        let mut child = Command::new(clamd)
            .arg("-c")
            .arg(dir.join("clamd.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("clamd starts");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::os::unix::net::UnixStream::connect(dir.join("clamd.sock")).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "clamd exited with {status}:\n{}",
                    std::fs::read_to_string(dir.join("clamd.log")).unwrap_or_default()
                );
            }
            assert!(std::time::Instant::now() < deadline, "clamd did not listen");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Self { child, dir }
    }

    /// `PACTUM_CLAMD_URL` for this daemon.
    pub fn url(&self) -> String {
        format!("unix:{}", self.dir.join("clamd.sock").display())
    }

    /// Stops the daemon, leaving its socket path dead.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(self.dir.join("clamd.sock"));
    }
}

impl Drop for ClamAv {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
