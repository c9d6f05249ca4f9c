//! Where tenants' stored files live, behind one type: the server's attachment store,
//! its jobs and `tenantctl` (which removes a deleted tenant's files) all go through
//! [`Store`]. A file is named by [`StoredName`], built only from an attachment's id,
//! and kept under its tenant's own folder, so no name a client sends can reach another
//! tenant's file or leave the tenant's folder.
//!
//! Files being received or worked on (a temporary upload, OCR's pages) are always on
//! local disk, in the tenant's scratch folder ([`Store::scratch`]); [`Store::put`] moves
//! a finished one into the store.

use std::path::{Path, PathBuf};

use uuid::Uuid;

use crate::tenancy::TenantId;

/// The attachment store's folder, relative to the working directory, unless
/// `PACTUM_UPLOAD_DIR` names another.
pub const DEFAULT_UPLOAD_DIR: &str = ".pactum/uploads";

/// How a file being received begins its name in the scratch folder.
pub const RECEIVING_PREFIX: &str = ".upload-";
/// How a file being written by a job (a searchable PDF) ends its name.
pub const PARTIAL_SUFFIX: &str = ".part";

/// Whether a file of the scratch folder is being received or worked on, not stored.
pub fn in_progress(name: &str) -> bool {
    name.starts_with(RECEIVING_PREFIX) || name.ends_with(PARTIAL_SUFFIX)
}

/// How long a file in progress may sit untouched before it counts as left behind by a
/// process that died mid-way. An upload is written at least every idle timeout (else
/// it is refused and removed) and then moved into the store within a request; a
/// searchable PDF within its job's timeout. A day is far beyond either.
pub const ABANDONED_AFTER: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// How the unique key of the job that removes an upload not yet recorded begins; the
/// attachment's id follows. An upload goes into the store before its record commits,
/// with that removal enqueued first and cancelled by the record, so while the job is
/// pending the file is on its way in (or left by a process that stopped), not lost.
pub const UNRECORDED_KEY_PREFIX: &str = "unrecorded:";

/// The unique key of the job that removes `attachment`'s upload unless it is recorded.
pub fn unrecorded_key(attachment: Uuid) -> String {
    format!("{UNRECORDED_KEY_PREFIX}{attachment}")
}

/// The name of a stored file within its tenant's folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredName(String);

impl StoredName {
    /// An attachment's bytes as uploaded.
    pub fn original(attachment: Uuid) -> Self {
        Self(attachment.to_string())
    }

    /// The searchable PDF OCR made of an attachment.
    pub fn searchable_pdf(attachment: Uuid) -> Self {
        Self(format!("{attachment}.searchable.pdf"))
    }

    /// What is stored for an attachment: its bytes and what was made from them.
    pub fn all_of(attachment: Uuid) -> [Self; 2] {
        [Self::original(attachment), Self::searchable_pdf(attachment)]
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Settings for an S3-compatible bucket (AWS S3, Cloudflare R2, MinIO, ...).
#[derive(Debug, Clone)]
pub struct S3Settings {
    pub bucket: String,
    /// Prepended to every key, without slashes at either end; may be empty.
    pub prefix: String,
    /// `https://...` (or `http://` for a server on this machine).
    pub endpoint: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl S3Settings {
    /// From `s3://bucket[/prefix]` and the other settings.
    pub fn parse(
        url: &str,
        endpoint: &str,
        region: &str,
        access_key_id: &str,
        secret_access_key: &str,
    ) -> Result<Self, String> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| format!("expected s3://bucket[/prefix], got {url:?}"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let valid_bucket = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !valid_bucket {
            return Err(format!("{bucket:?} is not an S3 bucket name"));
        }
        let prefix = prefix.trim_matches('/');
        if prefix.split('/').any(|part| part == ".." || part == ".") || prefix.contains("//") {
            return Err(format!("{prefix:?} is not a key prefix"));
        }
        if !(endpoint.starts_with("https://") || endpoint.starts_with("http://")) {
            return Err(format!(
                "the endpoint must be an http(s) URL, got {endpoint:?}"
            ));
        }
        if access_key_id.is_empty() || secret_access_key.is_empty() {
            return Err("an access key id and a secret access key are needed".into());
        }
        Ok(Self {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            endpoint: endpoint.to_owned(),
            region: if region.is_empty() {
                "auto".into()
            } else {
                region.to_owned()
            },
            access_key_id: access_key_id.to_owned(),
            secret_access_key: secret_access_key.to_owned(),
        })
    }
}

/// The files of every tenant.
#[derive(Debug, Clone)]
pub struct Store {
    /// The local folder: the files themselves, or only the scratch space when a bucket
    /// holds them.
    root: PathBuf,
    bucket: Option<Bucket>,
}

#[derive(Clone)]
struct Bucket {
    client: std::sync::Arc<object_store::aws::AmazonS3>,
    prefix: String,
}

/// Without the client: its configuration holds the secret key.
impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bucket")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// How much of a file goes up in one part of a multipart upload: memory held per upload.
const PART_BYTES: usize = 8 * 1024 * 1024;

fn io_error(error: object_store::Error) -> std::io::Error {
    match error {
        object_store::Error::NotFound { .. } => {
            std::io::Error::new(std::io::ErrorKind::NotFound, error.to_string())
        }
        other => std::io::Error::other(other.to_string()),
    }
}

impl Store {
    /// Files on local disk under `root`, a folder per tenant id.
    pub fn local(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            bucket: None,
        }
    }

    /// Files in an S3-compatible bucket, `root` on local disk for scratch space.
    pub fn s3(root: impl Into<PathBuf>, settings: &S3Settings) -> Result<Self, String> {
        // The HTTP client is built here, and needs the process's TLS provider (ring,
        // as for webhooks); installing it twice is no error.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(&settings.bucket)
            .with_endpoint(&settings.endpoint)
            .with_region(&settings.region)
            .with_access_key_id(&settings.access_key_id)
            .with_secret_access_key(&settings.secret_access_key)
            .with_allow_http(settings.endpoint.starts_with("http://"))
            .with_virtual_hosted_style_request(false)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            root: root.into(),
            bucket: Some(Bucket {
                client: std::sync::Arc::new(client),
                prefix: settings.prefix.clone(),
            }),
        })
    }

    /// The store the environment describes: `PACTUM_UPLOAD_DIR` (the local folder,
    /// [`DEFAULT_UPLOAD_DIR`] by default) and, for a bucket, `PACTUM_STORAGE_URL`
    /// (`s3://bucket[/prefix]`) with `PACTUM_STORAGE_ENDPOINT`, `PACTUM_STORAGE_REGION`
    /// (`auto` by default), `PACTUM_STORAGE_ACCESS_KEY_ID` and
    /// `PACTUM_STORAGE_SECRET_ACCESS_KEY`. A refusal names the variable at fault.
    pub fn from_lookup(
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, (&'static str, String)> {
        let root = get("PACTUM_UPLOAD_DIR").unwrap_or_else(|| DEFAULT_UPLOAD_DIR.into());
        let Some(url) = get("PACTUM_STORAGE_URL").filter(|u| !u.trim().is_empty()) else {
            return Ok(Self::local(root));
        };
        let setting = |name: &str| get(name).unwrap_or_default().trim().to_owned();
        let settings = S3Settings::parse(
            url.trim(),
            &setting("PACTUM_STORAGE_ENDPOINT"),
            &setting("PACTUM_STORAGE_REGION"),
            &setting("PACTUM_STORAGE_ACCESS_KEY_ID"),
            &setting("PACTUM_STORAGE_SECRET_ACCESS_KEY"),
        )
        .map_err(|reason| ("PACTUM_STORAGE_URL", reason))?;
        Self::s3(root, &settings).map_err(|reason| ("PACTUM_STORAGE_URL", reason))
    }

    /// Whether files are kept in a bucket rather than on local disk.
    pub fn is_bucket(&self) -> bool {
        self.bucket.is_some()
    }

    /// The tenant's folder on local disk, for files being received or worked on.
    pub fn scratch(&self, tenant: TenantId) -> PathBuf {
        self.root.join(tenant.0.to_string())
    }

    /// Where a stored file is on local disk, when files are kept there.
    pub fn local_path(&self, tenant: TenantId, name: &StoredName) -> Option<PathBuf> {
        self.bucket
            .is_none()
            .then(|| self.scratch(tenant).join(name.as_str()))
    }

    fn tenant_prefix(bucket: &Bucket, tenant: TenantId) -> String {
        if bucket.prefix.is_empty() {
            format!("tenants/{}", tenant.0)
        } else {
            format!("{}/tenants/{}", bucket.prefix, tenant.0)
        }
    }

    fn key(bucket: &Bucket, tenant: TenantId, name: &StoredName) -> object_store::path::Path {
        object_store::path::Path::from(format!(
            "{}/{}",
            Self::tenant_prefix(bucket, tenant),
            name.as_str()
        ))
    }

    /// Moves the finished file at `from` (in the tenant's scratch folder) into the store
    /// as `name`, replacing what was there. To a bucket it goes up in parts read from
    /// disk, never whole in memory.
    pub async fn put(
        &self,
        tenant: TenantId,
        name: &StoredName,
        from: &Path,
    ) -> std::io::Result<()> {
        let Some(bucket) = &self.bucket else {
            return tokio::fs::rename(from, self.scratch(tenant).join(name.as_str())).await;
        };
        use object_store::ObjectStoreExt;
        use tokio::io::AsyncReadExt;
        let upload = bucket
            .client
            .put_multipart(&Self::key(bucket, tenant, name))
            .await
            .map_err(io_error)?;
        let mut writer = object_store::WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        let mut file = tokio::fs::File::open(from).await?;
        let mut block = vec![0u8; 256 * 1024];
        loop {
            let read = file.read(&mut block).await?;
            if read == 0 {
                break;
            }
            // At most a few parts in flight: memory stays bounded, whatever the size.
            writer.wait_for_capacity(2).await.map_err(io_error)?;
            writer.write(&block[..read]);
        }
        writer.finish().await.map_err(io_error)?;
        tokio::fs::remove_file(from).await
    }

    /// The stored file as a stream of blocks, or `None` when there is none.
    pub async fn stream(
        &self,
        tenant: TenantId,
        name: &StoredName,
    ) -> std::io::Result<Option<futures::stream::BoxStream<'static, std::io::Result<bytes::Bytes>>>>
    {
        use futures::{StreamExt, TryStreamExt};
        match &self.bucket {
            None => {
                let path = self.scratch(tenant).join(name.as_str());
                match tokio::fs::File::open(path).await {
                    Ok(file) => Ok(Some(
                        tokio_util::io::ReaderStream::with_capacity(file, 64 * 1024).boxed(),
                    )),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e),
                }
            }
            Some(bucket) => {
                use object_store::ObjectStoreExt;
                match bucket.client.get(&Self::key(bucket, tenant, name)).await {
                    Ok(found) => Ok(Some(found.into_stream().map_err(io_error).boxed())),
                    Err(object_store::Error::NotFound { .. }) => Ok(None),
                    Err(e) => Err(io_error(e)),
                }
            }
        }
    }

    /// Copies a stored file to `to` on local disk (for a tool that reads files), block
    /// by block; false when there is none.
    pub async fn copy_to(
        &self,
        tenant: TenantId,
        name: &StoredName,
        to: &Path,
    ) -> std::io::Result<bool> {
        use futures::StreamExt;
        use tokio::io::AsyncWriteExt;
        let Some(mut blocks) = self.stream(tenant, name).await? else {
            return Ok(false);
        };
        let mut file = tokio::fs::File::create(to).await?;
        while let Some(block) = blocks.next().await {
            file.write_all(&block?).await?;
        }
        file.flush().await?;
        Ok(true)
    }

    /// The whole of a stored file, or `None` when there is none.
    pub async fn read(
        &self,
        tenant: TenantId,
        name: &StoredName,
    ) -> std::io::Result<Option<Vec<u8>>> {
        use futures::StreamExt;
        if let Some(path) = self.local_path(tenant, name) {
            return match tokio::fs::read(path).await {
                Ok(bytes) => Ok(Some(bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            };
        }
        let Some(mut blocks) = self.stream(tenant, name).await? else {
            return Ok(None);
        };
        let mut bytes = Vec::new();
        while let Some(block) = blocks.next().await {
            bytes.extend_from_slice(&block?);
        }
        Ok(Some(bytes))
    }

    /// A link that downloads the stored file without credentials until `valid_for` has
    /// passed, when the files are in a bucket; `None` on local disk.
    pub async fn signed_link(
        &self,
        tenant: TenantId,
        name: &StoredName,
        valid_for: std::time::Duration,
    ) -> std::io::Result<Option<url::Url>> {
        let Some(bucket) = &self.bucket else {
            return Ok(None);
        };
        use object_store::signer::Signer;
        bucket
            .client
            .signed_url(
                reqwest::Method::GET,
                &Self::key(bucket, tenant, name),
                valid_for,
            )
            .await
            .map(Some)
            .map_err(io_error)
    }

    /// Removes stored files; one already gone is no error.
    pub async fn remove(&self, tenant: TenantId, names: &[StoredName]) -> std::io::Result<()> {
        for name in names {
            let removed = match &self.bucket {
                None => tokio::fs::remove_file(self.scratch(tenant).join(name.as_str())).await,
                Some(bucket) => {
                    use object_store::ObjectStoreExt;
                    bucket
                        .client
                        .delete(&Self::key(bucket, tenant, name))
                        .await
                        .map_err(io_error)
                }
            };
            match removed {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    /// The names of every file stored for `tenant`, for checking against its records.
    pub async fn list(&self, tenant: TenantId) -> std::io::Result<Vec<String>> {
        match &self.bucket {
            None => {
                let mut names = Vec::new();
                let mut entries = match tokio::fs::read_dir(self.scratch(tenant)).await {
                    Ok(entries) => entries,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(names),
                    Err(e) => return Err(e),
                };
                while let Some(entry) = entries.next_entry().await? {
                    if entry.file_type().await?.is_file() {
                        names.push(entry.file_name().to_string_lossy().into_owned());
                    }
                }
                Ok(names)
            }
            Some(bucket) => {
                use futures::TryStreamExt;
                use object_store::ObjectStore;
                let prefix = object_store::path::Path::from(Self::tenant_prefix(bucket, tenant));
                let objects: Vec<object_store::ObjectMeta> = bucket
                    .client
                    .list(Some(&prefix))
                    .try_collect()
                    .await
                    .map_err(io_error)?;
                Ok(objects
                    .iter()
                    .filter_map(|o| o.location.filename().map(str::to_owned))
                    .collect())
            }
        }
    }

    /// Removes the files in progress (see [`in_progress`]) of every tenant's scratch
    /// folder that nothing has written for `older_than`: what a process killed while
    /// receiving an upload or writing a searchable PDF left behind, which nothing else
    /// would ever remove. Returns how many went.
    pub async fn sweep_abandoned(&self, older_than: std::time::Duration) -> std::io::Result<usize> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || sweep_abandoned_in(&root, older_than))
            .await
            .map_err(std::io::Error::other)?
    }

    /// Removes everything of a tenant's: its folder, and its objects in the bucket.
    /// Whether there was anything to remove.
    pub async fn remove_tenant(&self, tenant: TenantId) -> std::io::Result<bool> {
        let mut removed = false;
        if self.bucket.is_some() {
            let names: Vec<StoredName> = self
                .list(tenant)
                .await?
                .into_iter()
                .map(StoredName)
                .collect();
            removed = !names.is_empty();
            self.remove(tenant, &names).await?;
        }
        match tokio::fs::remove_dir_all(self.scratch(tenant)).await {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(removed),
            Err(e) => Err(e),
        }
    }
}

/// [`Store::sweep_abandoned`] on the folder `root`, one folder per tenant below it.
/// A file's age is read against the machine's clock, which is what stamped it.
fn sweep_abandoned_in(root: &Path, older_than: std::time::Duration) -> std::io::Result<usize> {
    let tenants = match std::fs::read_dir(root) {
        Ok(tenants) => tenants,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let now = std::time::SystemTime::now();
    let mut removed = 0;
    for tenant in tenants.flatten() {
        let is_tenant = tenant.file_type().is_ok_and(|kind| kind.is_dir())
            && tenant
                .file_name()
                .to_str()
                .is_some_and(|name| Uuid::parse_str(name).is_ok());
        if !is_tenant {
            continue;
        }
        let Ok(files) = std::fs::read_dir(tenant.path()) else {
            continue;
        };
        for file in files.flatten() {
            let Some(name) = file.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            let abandoned = in_progress(&name)
                && file.file_type().is_ok_and(|kind| kind.is_file())
                && file
                    .metadata()
                    .and_then(|meta| meta.modified())
                    .is_ok_and(|written| {
                        now.duration_since(written).unwrap_or_default() >= older_than
                    });
            if abandoned {
                match std::fs::remove_file(file.path()) {
                    Ok(()) => removed += 1,
                    // Another instance sharing the folder swept it first.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;

    /// Files in progress untouched for longer than the limit go; fresh ones, stored
    /// files however old, and anything outside a tenant's folder stay.
    #[test]
    fn only_files_in_progress_left_untouched_are_swept() {
        let root = std::env::temp_dir().join(format!("pactum-sweep-{}", Uuid::new_v4()));
        let tenant = root.join(Uuid::new_v4().to_string());
        let elsewhere = root.join("not-a-tenant");
        std::fs::create_dir_all(&tenant).unwrap();
        std::fs::create_dir_all(&elsewhere).unwrap();
        let two_days_ago = SystemTime::now() - Duration::from_secs(2 * 24 * 3600);
        let file = |folder: &Path, name: &str, written: SystemTime| {
            let path = folder.join(name);
            std::fs::write(&path, b"x").unwrap();
            std::fs::File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_modified(written)
                .unwrap();
            path
        };
        let stale_upload = file(&tenant, ".upload-1", two_days_ago);
        let stale_part = file(&tenant, "a.searchable.pdf.part", two_days_ago);
        let fresh_upload = file(&tenant, ".upload-2", SystemTime::now());
        let stored = file(&tenant, &Uuid::new_v4().to_string(), two_days_ago);
        let outside = file(&elsewhere, ".upload-3", two_days_ago);
        assert_eq!(sweep_abandoned_in(&root, ABANDONED_AFTER).unwrap(), 2);
        assert!(!stale_upload.exists() && !stale_part.exists());
        assert!(fresh_upload.exists() && stored.exists() && outside.exists());
        assert_eq!(sweep_abandoned_in(&root, ABANDONED_AFTER).unwrap(), 0);
        std::fs::remove_dir_all(&root).unwrap();
        assert_eq!(
            sweep_abandoned_in(&root, ABANDONED_AFTER).unwrap(),
            0,
            "no folder yet"
        );
    }
}
