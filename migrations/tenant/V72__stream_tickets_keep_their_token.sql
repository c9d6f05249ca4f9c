-- A stream opened with a ticket lives no longer than the access token that asked for
-- the ticket: the token's id (to hear of its revocation at logout) and its expiry.
-- Tickets made before these columns (a minute's worth at most) have neither; the stream
-- they open ends an access token's lifetime after the ticket was made.
alter table notification_stream_tickets add column token_id uuid;

alter table notification_stream_tickets add column token_expires_at timestamptz;
