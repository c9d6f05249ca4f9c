//! A real S3-compatible server for the tests of the bucket store: `s3s-fs` (installed
//! from crates.io by `scripts/s3.sh`), on a free port, keeping objects in a folder of
//! its own and checking every request's signature. Stopped and removed when dropped.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub struct S3Server {
    child: Child,
    /// The server's root: a folder per bucket, a file per object.
    pub root: PathBuf,
    port: u16,
}

pub const BUCKET: &str = "pactum-test";
const ACCESS_KEY: &str = "pactum-test-key";
const SECRET_KEY: &str = "pactum-test-secret-0123456789";

impl S3Server {
    pub fn start() -> Self {
        let installed = Command::new("bash")
            .arg(crate::support::workspace_root().join("scripts/s3.sh"))
            .output()
            .expect("scripts/s3.sh runs");
        assert!(
            installed.status.success(),
            "{}",
            String::from_utf8_lossy(&installed.stderr)
        );
        let binary = String::from_utf8_lossy(&installed.stdout).trim().to_owned();
        let root = std::env::temp_dir().join(format!("pactum-s3-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(root.join(BUCKET)).unwrap();
        let port = crate::support::free_port();
        let mut child = Command::new(binary)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(&root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("s3s-fs starts");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("s3s-fs exited with {status}");
            }
            assert!(
                std::time::Instant::now() < deadline,
                "s3s-fs did not listen"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Self { child, root, port }
    }

    /// The server settings that keep attachments in this server's bucket.
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("PACTUM_STORAGE_URL", format!("s3://{BUCKET}/files")),
            (
                "PACTUM_STORAGE_ENDPOINT",
                format!("http://127.0.0.1:{}", self.port),
            ),
            ("PACTUM_STORAGE_REGION", "us-east-1".into()),
            ("PACTUM_STORAGE_ACCESS_KEY_ID", ACCESS_KEY.into()),
            ("PACTUM_STORAGE_SECRET_ACCESS_KEY", SECRET_KEY.into()),
        ]
    }

    /// Where the server keeps a tenant's object `name`.
    pub fn object(&self, tenant: uuid::Uuid, name: &str) -> PathBuf {
        self.root
            .join(BUCKET)
            .join("files/tenants")
            .join(tenant.to_string())
            .join(name)
    }
}

impl S3Server {
    /// Stops the server in its tracks (SIGSTOP), as a bucket service that hangs: the
    /// kernel still accepts connections, nothing answers them. [`Self::thaw`] resumes.
    pub fn freeze(&self) {
        self.signal(libc::SIGSTOP);
    }

    pub fn thaw(&self) {
        self.signal(libc::SIGCONT);
    }

    /// How many connections to the server are open (from the kernel's table, so it
    /// counts those a frozen server has not yet taken up).
    pub fn connections(&self) -> usize {
        let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
        let remote = format!("0100007F:{:04X}", self.port);
        table
            .lines()
            .skip(1)
            .filter(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                // `01` is ESTABLISHED; the remote end is the server.
                fields.get(2) == Some(&remote.as_str()) && fields.get(3) == Some(&"01")
            })
            .count()
    }

    fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("a process id fits pid_t");
        #[allow(unsafe_code)]
        // SAFETY: kill(2) with a valid signal has no memory effects; the pid is our child's.
        let sent = unsafe { libc::kill(pid, signal) };
        assert_eq!(sent, 0, "{}", std::io::Error::last_os_error());
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
