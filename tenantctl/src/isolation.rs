//! `tenantctl isolation`: whether PostgreSQL itself keeps the tenants apart (see
//! `pactum_tenancy::isolation`). Run it with the URL the server connects with; with
//! `--check` any finding is exit 1, so a deploy can refuse to go on.

use std::fmt::Write as _;

use pactum_tenancy::isolation;
use pactum_tenancy::pool::DatabaseUrl;

use crate::input::connect;
use crate::output::{CliError, Exit, Report};

pub async fn run(url: &DatabaseUrl, check: bool) -> Result<Report, CliError> {
    let mut client = connect(url).await?;
    let report = isolation::check(&mut client).await?;
    let mut text = String::new();
    let _ = writeln!(
        text,
        "login role: {}{}{}",
        report.login_role,
        if report.login_superuser {
            " (superuser)"
        } else {
            ""
        },
        if report.login_bypasses_row_security {
            " (bypasses row security)"
        } else {
            ""
        },
    );
    let _ = write!(
        text,
        "tenants: {}, probed as their own role: {}",
        report.tenants, report.probed
    );
    for finding in &report.findings {
        let _ = write!(text, "\n  {}", finding.code);
        if let Some(tenant) = &finding.tenant {
            let _ = write!(text, " [{tenant}]");
        }
        let _ = write!(text, ": {}", finding.detail);
    }
    if report.clean() {
        let _ = write!(text, "\nisolated: no findings");
    }
    let exit = if check && !report.clean() {
        Exit::Failed
    } else {
        Exit::Success
    };
    let mut json = serde_json::to_value(&report).expect("the report serializes");
    json["isolated"] = report.clean().into();
    Ok(Report { json, text, exit })
}
