//! Where files live when no setting says otherwise: the server's attachment store and
//! `tenantctl delete`, which removes a deleted tenant's files, must agree on it.

/// The attachment store's folder, relative to the working directory, unless
/// `PACTUM_UPLOAD_DIR` names another.
pub const DEFAULT_UPLOAD_DIR: &str = ".pactum/uploads";
