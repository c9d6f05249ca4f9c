//! The Pactum server. The HTTP server arrives with issue 3; until then this binary only
//! says so, so that the workspace layout (library + server + tenantctl) is already final.

fn main() -> std::process::ExitCode {
    eprintln!(
        "pactum {}: the HTTP server is not built yet; use `tenantctl` to provision and migrate tenants",
        env!("CARGO_PKG_VERSION")
    );
    std::process::ExitCode::from(2)
}
