//! A generative summary, the one thing of contract intelligence that may leave the
//! server, and only where the tenant chose: its admin saves an OpenAI-compatible
//! endpoint (`base_url`, `model`, an API key that is never shown again) and turns it on;
//! until then nothing is sent and the summary is refused. A member asks for a
//! contract's summary: its text (title, body, files' text, cut at the tenant's
//! `max_input_chars`) goes to `{base_url}/chat/completions` through the client that
//! checks every destination after DNS resolution with no proxy in between
//! ([`crate::kernel::destination`]); every call, answered or not, is audited on the
//! contract with the model, the host and what was sent, never the key. A member may
//! also ask in the background ([`requests`]): answered at once, the call made by a job.

mod model;
pub mod requests;

use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio_postgres::Row;
use uuid::Uuid;

pub use self::model::{
    GenerativeSettings, GenerativeSettingsView, GenerativeSummary, SummaryRequest,
};
use self::model::{KEPT_SQL, SETTINGS_COLUMNS, SYSTEM_PROMPT};
pub use self::requests::{Asked, GenerativeRequest};
use super::indexing::{sources_for, texts, FileText};
use crate::kernel::audit::{self, Entry};
use crate::kernel::destination;
use crate::kernel::reads::{as_actor, read_as};
use crate::kernel::{unit, validate, Actor, DomainError, Origin, Principal, Refusal, Role};
use crate::tenancy::scoped::{TenantDb, TenantTx};

/// How long an endpoint has to answer.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// The most of an answer read.
const MAX_ANSWER_BYTES: usize = 1 << 20;
/// The longest summary asked for, in tokens.
const MAX_TOKENS: u32 = 800;

/// The client generative calls go through: destinations checked after resolution, no
/// proxy, no redirects.
#[derive(Clone)]
pub struct Generator {
    client: reqwest::Client,
    allow_internal: bool,
}

impl Generator {
    /// `allow_internal`: the operator lets tenant-chosen destinations reach loopback
    /// and private addresses (`PACTUM_WEBHOOK_ALLOW_PRIVATE`, as webhooks and chat).
    pub fn new(allow_internal: bool) -> anyhow::Result<Self> {
        Ok(Self {
            client: destination::client(
                allow_internal,
                concat!("Pactum/", env!("CARGO_PKG_VERSION")),
                CALL_TIMEOUT,
            )?,
            allow_internal,
        })
    }
}

/// The tenant's settings, for its admins: the key only as whether one is set.
pub async fn settings(
    db: &TenantDb,
    principal: &Principal,
) -> Result<GenerativeSettingsView, DomainError> {
    let sql = format!("select {SETTINGS_COLUMNS} from generative_settings");
    let (_, rows) = read_as(db, principal, Role::Admin, &[(&sql, &[])]).await?;
    Ok(rows[0]
        .first()
        .map(GenerativeSettingsView::from)
        .unwrap_or_default())
}

/// Checks `input` before it is saved: its URL must be a destination the server may
/// reach (resolved now; checked again at every call).
pub async fn check(input: &GenerativeSettings, generator: &Generator) -> Result<(), DomainError> {
    input.check()?;
    let url = destination::parse_url(
        &input.base_url,
        !generator.allow_internal,
        generator.allow_internal,
    )
    .map_err(|why| {
        DomainError::invalid_as("invalid_base_url", format!("base_url {why}"), json!({}))
    })?;
    destination::check_resolved(&url, generator.allow_internal)
        .await
        .map_err(|why| {
            DomainError::invalid_as(
                "invalid_base_url",
                format!("base_url: {}", why.0),
                json!({}),
            )
        })
}

/// Saves the tenant's settings (admins; [`check`] first). An absent `api_key` keeps
/// the saved one, an empty one removes it. Audited without the key.
pub async fn save(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    input: GenerativeSettings,
) -> Result<GenerativeSettingsView, DomainError> {
    actor.require(Role::Admin)?;
    input.check()?;
    let key_change = input.api_key.as_deref().map(str::trim);
    let row = tx
        .query_one(
            &format!(
                "insert into generative_settings as s (id, enabled, base_url, model, api_key, \
                 max_input_chars, updated_by, updated_at) \
                 values (true, $1, $2, $3, nullif($4, ''), $5, $6, $7) \
                 on conflict (id) do update set enabled = excluded.enabled, \
                 base_url = excluded.base_url, model = excluded.model, \
                 api_key = case when $8 then excluded.api_key else s.api_key end, \
                 max_input_chars = excluded.max_input_chars, updated_by = excluded.updated_by, \
                 updated_at = excluded.updated_at \
                 returning {SETTINGS_COLUMNS}"
            ),
            &[
                &input.enabled,
                &input.base_url.trim(),
                &input.model.trim(),
                &key_change,
                &input.max_input_chars(),
                &actor.user_id(),
                &unit::now(tx),
                &key_change.is_some(),
            ],
        )
        .await
        .map_err(DomainError::write)?;
    let saved = GenerativeSettingsView::from(&row);
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "updated",
            entity: "generative_settings",
            entity_id: None,
            changes: json!({
                "enabled": saved.enabled,
                "base_url": saved.base_url,
                "model": saved.model,
                "max_input_chars": saved.max_input_chars,
                "api_key_changed": key_change.is_some(),
            }),
        },
    )
    .await?;
    Ok(saved)
}

/// What one call got, for the audit.
struct Call {
    host: String,
    outcome: Result<(String, Value), String>,
}

/// The tenant's settings as a call reads them.
const SETTINGS_SQL: &str =
    "select enabled, base_url, model, api_key, max_input_chars from generative_settings";

/// What a call for a contract as it stands would send, and the digest that tells a
/// kept summary of the same request apart.
struct Request {
    sent: String,
    /// Characters sent, and characters of the whole text.
    sent_chars: usize,
    whole: usize,
    digest: String,
}

impl Request {
    /// The request `settings` (a row of [`SETTINGS_SQL`]) make of a contract: its title
    /// and every non-empty text, cut at `max_input_chars`.
    fn of(settings: &Row, sources: &Sources) -> Self {
        let (base_url, model, max_chars): (&str, &str, i32) =
            (settings.get(1), settings.get(2), settings.get(4));
        let mut text = format!("Title: {}", sources.title);
        for (_, part) in texts(&sources.body, &sources.files) {
            if !part.trim().is_empty() {
                text.push_str("\n\n");
                text.push_str(part);
            }
        }
        let whole = text.chars().count();
        let sent: String = text.chars().take(max_chars.max(0) as usize).collect();
        let mut hasher = Sha256::new();
        for part in [base_url.trim_end_matches('/'), model, SYSTEM_PROMPT, &sent] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
        let digest = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Self {
            sent,
            sent_chars: whole.min(max_chars.max(0) as usize),
            whole,
            digest,
        }
    }
}

/// A contract's title and texts, as a call would send them.
struct Sources {
    title: String,
    body: String,
    files: Vec<FileText>,
}

/// `contract`'s sources, for a reader with `role` who may read its original, and the
/// rows of the tenant's settings ([`SETTINGS_SQL`]) and its kept summary ([`KEPT_SQL`]).
async fn state(
    db: &TenantDb,
    principal: &Principal,
    role: Role,
    contract: Uuid,
) -> Result<(Sources, Vec<Vec<Row>>), DomainError> {
    let (body, files) = sources_for(db, principal, contract).await?;
    let (_, mut rows) = read_as(
        db,
        principal,
        role,
        &[
            ("select title from contracts where id = $1", &[&contract]),
            (SETTINGS_SQL, &[]),
            (KEPT_SQL, &[&contract]),
        ],
    )
    .await?;
    let title = rows[0]
        .first()
        .ok_or(DomainError::Missing("contract"))?
        .get(0);
    rows.remove(0);
    Ok((Sources { title, body, files }, rows))
}

/// What a call for a contract as it stands would be: the tenant's endpoint, the
/// request, and the summary kept from an earlier call.
struct Prepared {
    base_url: String,
    model: String,
    key: Option<String>,
    request: Request,
    kept: Option<GenerativeSummary>,
}

impl Prepared {
    /// The kept summary, when it was made from this same request and `refresh` does
    /// not ask for a new one.
    fn reusable(&mut self, refresh: bool) -> Option<GenerativeSummary> {
        self.kept.take().filter(|kept| kept.current && !refresh)
    }
}

/// Prepares a call for `contract`, for a member who may read its original; refused
/// while the tenant has not turned generative summaries on.
async fn prepare(
    db: &TenantDb,
    principal: &Principal,
    contract: Uuid,
) -> Result<Prepared, DomainError> {
    let (sources, rows) = state(db, principal, Role::Member, contract).await?;
    let settings = rows[0].first().filter(|row| row.get::<_, bool>(0)).ok_or_else(|| {
        DomainError::refused(
            Refusal::Conflict,
            "generative_off",
            "generative summaries are off for this tenant: its admin turns them on in /generative-settings",
            json!({}),
        )
    })?;
    let request = Request::of(settings, &sources);
    let kept = rows[1]
        .first()
        .map(|row| GenerativeSummary::kept(contract, row, Some(&request.digest)));
    Ok(Prepared {
        base_url: settings.get(1),
        model: settings.get(2),
        key: settings.get(3),
        request,
        kept,
    })
}

/// A generative summary of `contract` from the tenant's endpoint, for a member who may
/// read its original; refused while the tenant has not turned it on. The kept summary
/// is served again, without a call, while it was made from the same request, unless
/// `refresh` asks for a new one; an answered call's summary is kept in its place.
pub async fn summarize(
    db: &TenantDb,
    principal: &Principal,
    origin: &Origin,
    generator: &Generator,
    contract: Uuid,
    refresh: bool,
) -> Result<GenerativeSummary, DomainError> {
    let mut prepared = prepare(db, principal, contract).await?;
    if let Some(kept) = prepared.reusable(refresh) {
        return Ok(kept);
    }
    made(db, principal, origin, generator, contract, &prepared, false).await
}

/// Calls the endpoint with `prepared`, records the call (finishing the contract's
/// background request when `background`), and gives the summary it made.
async fn made(
    db: &TenantDb,
    principal: &Principal,
    origin: &Origin,
    generator: &Generator,
    contract: Uuid,
    prepared: &Prepared,
    background: bool,
) -> Result<GenerativeSummary, DomainError> {
    let Prepared {
        base_url,
        model,
        key,
        request,
        ..
    } = prepared;
    let call = call(generator, base_url, model, key.as_deref(), &request.sent).await;
    let recorded = Recorded {
        contract,
        model,
        call: &call,
        request,
        background,
    };
    let (generated_at, answer) = recorded.record(db, principal, origin).await?;
    let (summary, usage) = answer?;
    Ok(GenerativeSummary {
        contract_id: contract,
        summary,
        model: model.clone(),
        input_chars: request.sent_chars,
        truncated: request.sent_chars < request.whole,
        usage,
        generated_by: principal.user_id(),
        generated_at,
        current: true,
        reused: false,
    })
}

/// The summary kept for `contract`, for readers who may read its original, with whether
/// it was made from the contract and settings as they stand.
pub async fn kept(
    db: &TenantDb,
    principal: &Principal,
    contract: Uuid,
) -> Result<GenerativeSummary, DomainError> {
    let (sources, rows) = state(db, principal, Role::Viewer, contract).await?;
    let kept = rows[1]
        .first()
        .ok_or(DomainError::Missing("generative summary"))?;
    let digest_now = rows[0]
        .first()
        .map(|settings| Request::of(settings, &sources).digest);
    Ok(GenerativeSummary::kept(
        contract,
        kept,
        digest_now.as_deref(),
    ))
}

/// One call to record on its contract.
struct Recorded<'a> {
    contract: Uuid,
    model: &'a str,
    call: &'a Call,
    request: &'a Request,
    /// Made by a job for a member's background request, which it finishes.
    background: bool,
}

impl Recorded<'_> {
    /// Records the call on the contract, keeps an answered call's summary and
    /// finishes a background request (in its own unit of work: the text left the
    /// server whatever came back), and hands back its outcome as the caller sees it.
    async fn record(
        &self,
        db: &TenantDb,
        principal: &Principal,
        origin: &Origin,
    ) -> Result<(DateTime<Utc>, Result<(String, Value), DomainError>), DomainError> {
        let Self {
            contract,
            model,
            call,
            request,
            background,
        } = *self;
        let outcome = match &call.outcome {
            Ok(_) => "answered".to_owned(),
            Err(why) => validate::truncate(why, 300),
        };
        let at = as_actor(db, principal, async |tx, actor| {
            let mut changes = json!({
                "model": model,
                "host": call.host,
                "sent_chars": request.sent_chars,
                "text_chars": request.whole,
                "outcome": outcome,
            });
            if background {
                changes["background"] = json!(true);
                changes["requested_by"] = json!(actor.user_id());
            }
            audit::record(
                tx,
                actor,
                origin,
                Entry {
                    action: "generative_summary",
                    entity: "contract",
                    entity_id: Some(contract),
                    changes,
                },
            )
            .await?;
            // As PostgreSQL keeps it, so the answer and the kept summary say the same.
            let at = unit::now(tx).trunc_subsecs(6);
            if let Ok((summary, usage)) = &call.outcome {
                keep(tx, actor, contract, model, request, summary, usage, at).await?;
            }
            if background {
                let error = call.outcome.as_ref().err().map(|_| outcome.as_str());
                requests::finish(tx, contract, error, at).await?;
            }
            Ok(at)
        })
        .await?;
        let answer = call.outcome.clone().map_err(|why| {
            DomainError::refused(
                Refusal::Upstream,
                "generative_failed",
                format!("the generative endpoint did not give a summary: {why}"),
                json!({}),
            )
        });
        Ok((at, answer))
    }
}

/// Keeps `summary` as the contract's generative summary, in place of any earlier one
/// (nothing when the contract was deleted meanwhile).
#[allow(clippy::too_many_arguments)]
async fn keep(
    tx: &TenantTx,
    actor: &Actor,
    contract: Uuid,
    model: &str,
    request: &Request,
    summary: &str,
    usage: &Value,
    at: DateTime<Utc>,
) -> Result<(), DomainError> {
    tx.execute(
        "insert into generative_summaries as g (contract_id, digest, model, summary, \
         input_chars, text_chars, usage, generated_by, generated_at) \
         select id, $2, $3, $4, $5, $6, $7, $8, $9 from contracts where id = $1 \
         on conflict (contract_id) do update set digest = excluded.digest, \
         model = excluded.model, summary = excluded.summary, \
         input_chars = excluded.input_chars, text_chars = excluded.text_chars, \
         usage = excluded.usage, generated_by = excluded.generated_by, \
         generated_at = excluded.generated_at",
        &[
            &contract,
            &request.digest,
            &model,
            &summary,
            &(request.sent_chars as i32),
            &(request.whole as i32),
            usage,
            &actor.user_id(),
            &at,
        ],
    )
    .await
    .map_err(DomainError::write)?;
    Ok(())
}

/// Sends `text` to the endpoint and reads the summary out of its answer.
async fn call(
    generator: &Generator,
    base_url: &str,
    model: &str,
    key: Option<&str>,
    text: &str,
) -> Call {
    let url = format!("{}/chat/completions", base_url.trim_end_matches('/'));
    let parsed = reqwest::Url::parse(&url);
    let host = parsed
        .as_ref()
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    let outcome = async {
        let parsed = parsed.map_err(|e| format!("base_url: {e}"))?;
        destination::check_literal(&parsed, generator.allow_internal).map_err(|why| why.0)?;
        let mut request = generator.client.post(parsed).json(&json!({
            "model": model,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": text},
            ],
            "temperature": 0.2,
            "max_tokens": MAX_TOKENS,
        }));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.map_err(|e| {
            destination::refusal_in(&e).unwrap_or_else(|| {
                if e.is_timeout() {
                    "it did not answer in time".to_owned()
                } else {
                    "it could not be reached".to_owned()
                }
            })
        })?;
        let status = response.status();
        let body = read_bounded(response).await?;
        if !status.is_success() {
            return Err(format!("it answered {status}"));
        }
        model::answer(&body)
    }
    .await;
    Call { host, outcome }
}

/// The answer's body, at most [`MAX_ANSWER_BYTES`].
async fn read_bounded(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|_| "its answer broke off".to_owned())?
    {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err("its answer is larger than 1 MiB".into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
