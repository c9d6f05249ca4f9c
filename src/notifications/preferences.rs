//! Who is told how: per user, per channel, globally (`"*"`) and per type, over the
//! tenant's defaults, over the built-in ones (inbox and email on, chat off). Critical
//! types cannot be muted in the inbox or by email. Quiet hours, in the user's time zone,
//! defer email and chat (never the inbox); a digest batches non-critical email.
//!
//! The resolution rules are pure functions ([`Resolved`], [`quiet_until`],
//! [`digest_window_end`]); the rest reads and writes the two tables.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::kernel::audit;
use crate::kernel::validate::distinct_days;
use crate::kernel::{unit, Actor, DomainError, Origin, Role};
use crate::tenancy::scoped::TenantTx;

pub use super::kinds::{is_critical, CHANNELS, CRITICAL, TYPES};

/// `{"email": {"*": false, "mentioned": true}, ...}`.
pub type ChannelChoices = BTreeMap<String, BTreeMap<String, bool>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Digest {
    Off,
    Hourly,
    Daily,
}

impl Digest {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "off" => Some(Self::Off),
            "hourly" => Some(Self::Hourly),
            "daily" => Some(Self::Daily),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Hourly => "hourly",
            Self::Daily => "daily",
        }
    }
}

/// Local `start` to `end`, wrapping over midnight when `end` is earlier ("22:00" to
/// "07:00").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    #[schema(value_type = String, example = "22:00")]
    #[serde(with = "hhmm")]
    pub start: NaiveTime,
    #[schema(value_type = String, example = "07:00")]
    #[serde(with = "hhmm")]
    pub end: NaiveTime,
}

mod hhmm;

/// A user's own choices; unset fields fall back to the tenant's defaults.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPreferences {
    /// IANA zone (`Europe/Paris`) quiet hours and digests are judged in.
    pub time_zone: Option<String>,
    pub quiet_hours: Option<QuietHours>,
    pub digest: Option<Digest>,
    /// A Slack-compatible incoming webhook that receives this user's chat notifications.
    pub chat_webhook_url: Option<String>,
    /// Per channel (`in_app`, `email`, `chat`): `"*"` or a type, on or off.
    #[serde(default)]
    #[schema(value_type = Object, example = json!({"email": {"*": true, "contract_updated": false}}))]
    pub channels: ChannelChoices,
}

/// The tenant's defaults (admins).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantDefaults {
    pub time_zone: Option<String>,
    #[serde(default = "digest_off")]
    pub digest: Digest,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub channels: ChannelChoices,
    /// Days before a contract's end date its owner is reminded (at most 10, 1 to 3650).
    #[serde(default = "default_reminder_days")]
    pub reminder_days: Vec<i32>,
    /// Days before the renewal-notice date (end date minus notice period) its owner is
    /// reminded.
    #[serde(default = "default_lead_days")]
    pub renewal_notice_lead_days: i32,
    /// Days before an obligation task's due date its assignee is reminded (at most 10,
    /// 0 to 365; 0 is the day itself).
    #[serde(default = "default_obligation_days")]
    pub obligation_reminder_days: Vec<i32>,
    /// Shown in email headers and footers; the tenant's name when unset.
    pub brand_name: Option<String>,
    /// `#rrggbb`, the email accent colour.
    pub brand_color: Option<String>,
}

fn digest_off() -> Digest {
    Digest::Off
}

fn default_reminder_days() -> Vec<i32> {
    vec![90, 60, 30]
}

fn default_lead_days() -> i32 {
    14
}

fn default_obligation_days() -> Vec<i32> {
    vec![7, 0]
}

impl Default for TenantDefaults {
    fn default() -> Self {
        Self {
            time_zone: None,
            digest: Digest::Off,
            channels: ChannelChoices::new(),
            reminder_days: default_reminder_days(),
            renewal_notice_lead_days: default_lead_days(),
            obligation_reminder_days: default_obligation_days(),
            brand_name: None,
            brand_color: None,
        }
    }
}

/// One type's outcome for a user.
#[derive(Debug, Serialize, ToSchema)]
pub struct TypeChoice {
    pub in_app: bool,
    pub email: bool,
    pub chat: bool,
    pub critical: bool,
}

/// What the caller sees: their own choices and what they add up to.
#[derive(Debug, Serialize, ToSchema)]
pub struct PreferencesView {
    /// What the user chose (the body `PUT` takes).
    pub own: UserPreferences,
    /// The zone, digest and per-type channels in force, defaults applied.
    pub effective: Effective,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Effective {
    pub time_zone: String,
    pub digest: Digest,
    pub types: BTreeMap<String, TypeChoice>,
}

fn check_zone(zone: Option<&str>) -> Result<(), DomainError> {
    match zone {
        Some(zone) if Tz::from_str(zone).is_err() => Err(DomainError::invalid_as(
            "invalid_time_zone",
            format!("{zone:?} is not an IANA time zone"),
            json!({"time_zone": zone}),
        )),
        _ => Ok(()),
    }
}

/// Channels and types known; when `user`, no critical type muted.
fn check_channels(channels: &ChannelChoices, user: bool) -> Result<(), DomainError> {
    for (channel, choices) in channels {
        if !CHANNELS.contains(&channel.as_str()) {
            return Err(DomainError::invalid_as(
                "unknown_channel",
                format!("unknown channel {channel:?}; expected one of {CHANNELS:?}"),
                json!({"channel": channel}),
            ));
        }
        if choices.len() > TYPES.len() + 1 {
            return Err(DomainError::invalid_as(
                "unknown_notification_type",
                "more choices than there are types",
                json!({"channel": channel}),
            ));
        }
        for (kind, enabled) in choices {
            if kind != "*" && !TYPES.contains(&kind.as_str()) {
                return Err(DomainError::invalid_as(
                    "unknown_notification_type",
                    format!("unknown notification type {kind:?}"),
                    json!({"channel": channel, "type": kind, "types": TYPES}),
                ));
            }
            if user && !enabled && channel != "chat" && is_critical(kind) {
                return Err(DomainError::invalid_as(
                    "critical_notification_type",
                    format!("{kind} is critical: it cannot be muted in {channel}"),
                    json!({"channel": channel, "type": kind, "critical": CRITICAL}),
                ));
            }
        }
    }
    Ok(())
}

async fn check_chat_url(url: Option<&str>, allow_internal: bool) -> Result<(), DomainError> {
    let Some(url) = url else { return Ok(()) };
    let refused = |why: &str| {
        DomainError::invalid_as(
            "invalid_chat_webhook_url",
            format!("chat_webhook_url {why}"),
            json!({"chat_webhook_url": url}),
        )
    };
    let parsed = crate::kernel::destination::parse_url(url, true, allow_internal)
        .map_err(|why| refused(&why))?;
    crate::kernel::destination::check_resolved(&parsed, allow_internal)
        .await
        .map_err(|why| refused(&why.to_string()))
}

impl UserPreferences {
    pub async fn check(&self, allow_internal: bool) -> Result<(), DomainError> {
        check_zone(self.time_zone.as_deref())?;
        check_channels(&self.channels, true)?;
        check_chat_url(self.chat_webhook_url.as_deref(), allow_internal).await
    }
}

impl TenantDefaults {
    pub fn check(&self) -> Result<(), DomainError> {
        check_zone(self.time_zone.as_deref())?;
        check_channels(&self.channels, false)?;
        distinct_days(
            ("reminder_days", "invalid_reminder_days"),
            &self.reminder_days,
            1..=3650,
        )?;
        distinct_days(
            (
                "obligation_reminder_days",
                "invalid_obligation_reminder_days",
            ),
            &self.obligation_reminder_days,
            0..=365,
        )?;
        if !(0..=365).contains(&self.renewal_notice_lead_days) {
            return Err(DomainError::invalid_as(
                "invalid_renewal_notice_lead_days",
                "renewal_notice_lead_days: 0 to 365",
                json!({"renewal_notice_lead_days": self.renewal_notice_lead_days}),
            ));
        }
        if self
            .brand_name
            .as_ref()
            .is_some_and(|n| n.chars().count() > 200)
        {
            return Err(DomainError::invalid_as(
                "invalid_brand",
                "brand_name: at most 200 characters",
                json!({}),
            ));
        }
        if let Some(color) = &self.brand_color {
            let hex = color.strip_prefix('#').unwrap_or_default();
            if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(DomainError::invalid_as(
                    "invalid_brand",
                    "brand_color: #rrggbb",
                    json!({"brand_color": color}),
                ));
            }
        }
        Ok(())
    }
}

/// One user's preferences with the tenant's defaults under them: what the notifier asks.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub own: UserPreferences,
    pub defaults: TenantDefaults,
}

fn choice(channels: &ChannelChoices, channel: &str, kind: &str) -> Option<bool> {
    let choices = channels.get(channel)?;
    choices.get(kind).or_else(|| choices.get("*")).copied()
}

impl Resolved {
    /// Whether `channel` carries `kind` to this user.
    pub fn wants(&self, channel: &str, kind: &str) -> bool {
        if channel == "chat" && self.own.chat_webhook_url.is_none() {
            return false;
        }
        if channel != "chat" && is_critical(kind) {
            return true;
        }
        choice(&self.own.channels, channel, kind)
            .or_else(|| choice(&self.defaults.channels, channel, kind))
            .unwrap_or(channel != "chat")
    }

    pub fn zone(&self) -> Tz {
        self.own
            .time_zone
            .as_deref()
            .or(self.defaults.time_zone.as_deref())
            .and_then(|z| Tz::from_str(z).ok())
            .unwrap_or(Tz::UTC)
    }

    pub fn digest(&self) -> Digest {
        self.own.digest.unwrap_or(self.defaults.digest)
    }

    /// When email or chat about `kind` may go out, from `now`: at once, after the quiet
    /// hours, or (email, non-critical, with a digest) at the end of the digest window.
    /// `Err` carries the digest window's end.
    pub fn schedule(
        &self,
        channel: &str,
        kind: &str,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, DateTime<Utc>> {
        let zone = self.zone();
        let after_quiet =
            |at: DateTime<Utc>| quiet_until(at, zone, self.own.quiet_hours).unwrap_or(at);
        if channel == "email" && !is_critical(kind) {
            if let Some(end) = digest_window_end(now, zone, self.digest()) {
                return Err(after_quiet(end));
            }
        }
        Ok(after_quiet(now))
    }

    pub fn view(&self) -> PreferencesView {
        let types = TYPES
            .iter()
            .map(|kind| {
                (
                    (*kind).to_owned(),
                    TypeChoice {
                        in_app: self.wants("in_app", kind),
                        email: self.wants("email", kind),
                        chat: self.wants("chat", kind),
                        critical: is_critical(kind),
                    },
                )
            })
            .collect();
        PreferencesView {
            own: self.own.clone(),
            effective: Effective {
                time_zone: self.zone().name().to_owned(),
                digest: self.digest(),
                types,
            },
        }
    }
}

/// A local wall-clock time on `date` in `zone`, as UTC; in a DST gap, the first instant
/// after it.
fn local(zone: Tz, date: chrono::NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let mut naive = date.and_time(time);
    for _ in 0..4 {
        if let Some(at) = zone.from_local_datetime(&naive).earliest() {
            return at.with_timezone(&Utc);
        }
        naive += Duration::minutes(30);
    }
    Utc.from_utc_datetime(&naive)
}

/// When the quiet hours that `at` falls in end, or `None` when `at` is not in them.
pub fn quiet_until(
    at: DateTime<Utc>,
    zone: Tz,
    quiet: Option<QuietHours>,
) -> Option<DateTime<Utc>> {
    let quiet = quiet?;
    if quiet.start == quiet.end {
        return None;
    }
    let here = at.with_timezone(&zone);
    let (today, time) = (here.date_naive(), here.time());
    if quiet.start < quiet.end {
        (time >= quiet.start && time < quiet.end).then(|| local(zone, today, quiet.end))
    } else if time >= quiet.start {
        Some(local(zone, today + Duration::days(1), quiet.end))
    } else if time < quiet.end {
        Some(local(zone, today, quiet.end))
    } else {
        None
    }
}

/// Daily digests go out at this local time.
pub const DAILY_DIGEST_AT: NaiveTime = match NaiveTime::from_hms_opt(8, 0, 0) {
    Some(time) => time,
    None => panic!("a valid time"),
};

/// The end of the digest window `at` falls in: the next local full hour (hourly) or
/// the next local 08:00 (daily); `None` without a digest.
pub fn digest_window_end(at: DateTime<Utc>, zone: Tz, digest: Digest) -> Option<DateTime<Utc>> {
    let here = at.with_timezone(&zone);
    match digest {
        Digest::Off => None,
        Digest::Hourly => {
            let hour = NaiveTime::from_hms_opt(here.hour(), 0, 0)?;
            Some(local(zone, here.date_naive(), hour) + Duration::hours(1))
        }
        Digest::Daily => {
            let today = local(zone, here.date_naive(), DAILY_DIGEST_AT);
            Some(if today > at {
                today
            } else {
                local(zone, here.date_naive() + Duration::days(1), DAILY_DIGEST_AT)
            })
        }
    }
}

/// At most 10 distinct whole numbers of days within `range`.
fn channels_of(value: Value) -> ChannelChoices {
    serde_json::from_value(value).unwrap_or_default()
}

const DEFAULTS_SQL: &str = "select time_zone, digest, channels, reminder_days, renewal_notice_lead_days, brand_name, brand_color, obligation_reminder_days from notification_defaults";

/// The tenant's defaults (built-in ones when never set).
pub async fn defaults(tx: &TenantTx) -> Result<TenantDefaults, DomainError> {
    Ok(match tx.query_opt(DEFAULTS_SQL, &[]).await? {
        None => TenantDefaults::default(),
        Some(row) => TenantDefaults {
            time_zone: row.get(0),
            digest: Digest::parse(row.get(1)).unwrap_or(Digest::Off),
            channels: channels_of(row.get(2)),
            reminder_days: row.get(3),
            renewal_notice_lead_days: row.get(4),
            brand_name: row.get(5),
            brand_color: row.get(6),
            obligation_reminder_days: row.get(7),
        },
    })
}

fn own_of(row: &tokio_postgres::Row, at: usize) -> UserPreferences {
    let quiet: (Option<NaiveTime>, Option<NaiveTime>) = (row.get(at + 1), row.get(at + 2));
    UserPreferences {
        time_zone: row.get(at),
        quiet_hours: match quiet {
            (Some(start), Some(end)) => Some(QuietHours { start, end }),
            _ => None,
        },
        digest: row.get::<_, Option<&str>>(at + 3).and_then(Digest::parse),
        chat_webhook_url: row.get(at + 4),
        channels: row
            .get::<_, Option<Value>>(at + 5)
            .map(channels_of)
            .unwrap_or_default(),
    }
}

/// Preferences of several users at once (those without a row get the defaults).
pub async fn resolve_many(
    tx: &TenantTx,
    users: &[Uuid],
) -> Result<BTreeMap<Uuid, Resolved>, DomainError> {
    let defaults = defaults(tx).await?;
    let rows = tx
        .query(
            "select u.id, s.time_zone, s.quiet_start, s.quiet_end, s.digest, s.chat_webhook_url, s.channels \
             from unnest($1::uuid[]) as u(id) left join notification_settings s on s.user_id = u.id",
            &[&users],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| {
            (
                row.get(0),
                Resolved {
                    own: own_of(row, 1),
                    defaults: defaults.clone(),
                },
            )
        })
        .collect())
}

/// The caller's preferences.
pub async fn mine(tx: &TenantTx, actor: &Actor) -> Result<PreferencesView, DomainError> {
    let user = actor.user_id().ok_or(DomainError::InvalidToken)?;
    // `resolve_many` answers for every id it is given.
    resolve_many(tx, &[user])
        .await?
        .remove(&user)
        .map(|resolved| resolved.view())
        .ok_or(DomainError::UserNotFound)
}

/// Replaces the caller's preferences.
pub async fn set_mine(
    tx: &TenantTx,
    actor: &Actor,
    preferences: UserPreferences,
    allow_internal: bool,
) -> Result<PreferencesView, DomainError> {
    let user = actor.user_id().ok_or(DomainError::InvalidToken)?;
    preferences.check(allow_internal).await?;
    let channels = serde_json::to_value(&preferences.channels).unwrap_or(json!({}));
    tx.execute(
        "insert into notification_settings (user_id, time_zone, quiet_start, quiet_end, digest, chat_webhook_url, channels, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8) \
         on conflict (user_id) do update set time_zone = excluded.time_zone, quiet_start = excluded.quiet_start, \
           quiet_end = excluded.quiet_end, digest = excluded.digest, chat_webhook_url = excluded.chat_webhook_url, \
           channels = excluded.channels, updated_at = excluded.updated_at",
        &[
            &user,
            &preferences.time_zone,
            &preferences.quiet_hours.map(|q| q.start),
            &preferences.quiet_hours.map(|q| q.end),
            &preferences.digest.map(Digest::as_str),
            &preferences.chat_webhook_url,
            &channels,
            &unit::now(tx),
        ],
    )
    .await
    .map_err(DomainError::write)?;
    mine(tx, actor).await
}

/// Replaces the tenant's defaults (admins). Audited with what changed, so that what
/// follows a setting (contract reminders follow the reminder days and the zone) can
/// react to it.
pub async fn set_defaults(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    defaults: TenantDefaults,
) -> Result<TenantDefaults, DomainError> {
    actor.require(Role::Admin)?;
    defaults.check()?;
    let before = self::defaults(tx).await?;
    let channels = serde_json::to_value(&defaults.channels).unwrap_or(json!({}));
    let mut days = defaults.reminder_days.clone();
    days.sort_unstable_by(|a, b| b.cmp(a));
    let mut obligation_days = defaults.obligation_reminder_days.clone();
    obligation_days.sort_unstable_by(|a, b| b.cmp(a));
    tx.execute(
        "insert into notification_defaults (id, time_zone, digest, channels, reminder_days, renewal_notice_lead_days, brand_name, brand_color, updated_at, obligation_reminder_days) \
         values (true, $1, $2, $3, $4, $5, $6, $7, $8, $9) \
         on conflict (id) do update set time_zone = excluded.time_zone, digest = excluded.digest, \
           channels = excluded.channels, reminder_days = excluded.reminder_days, \
           renewal_notice_lead_days = excluded.renewal_notice_lead_days, brand_name = excluded.brand_name, \
           brand_color = excluded.brand_color, updated_at = excluded.updated_at, \
           obligation_reminder_days = excluded.obligation_reminder_days",
        &[
            &defaults.time_zone,
            &defaults.digest.as_str(),
            &channels,
            &days,
            &defaults.renewal_notice_lead_days,
            &defaults.brand_name,
            &defaults.brand_color,
            &unit::now(tx),
            &obligation_days,
        ],
    )
    .await
    .map_err(DomainError::write)?;
    let saved = self::defaults(tx).await?;
    audit::record_settings_update(tx, actor, origin, "notification_defaults", &before, &saved)
        .await?;
    Ok(saved)
}

#[cfg(test)]
mod tests;
