-- Access tokens logged out before their expiry, kept (until that expiry, pruned at the
-- next logout) where every request's acting-user read finds them: a logout holds on
-- every instance at once, with or without Redis and through a Redis outage.
create table revoked_access_tokens (
    token_id uuid primary key,
    expires_at timestamptz not null
);
