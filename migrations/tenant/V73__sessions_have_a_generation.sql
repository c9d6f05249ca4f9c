-- A user's sessions come in generations: every access token names the one it was
-- minted in, and a password change or a deactivation starts the next, so the tokens of
-- every earlier session stop working at once rather than at their expiry. Added bare,
-- then given its default and filled (users is a small table), so the migration costs
-- per row rather than a check of the whole catalog in every schema.
alter table users add column session_generation integer;

alter table users alter column session_generation set default 0;

update users set session_generation = 0 where session_generation is null;

alter table users alter column session_generation set not null;

-- A refresh token keeps the generation it was issued in, so one issued by a login or a
-- refresh that raced a password change is refused like the rest of its generation.
-- Tokens issued before this column are of the first generation.
alter table refresh_tokens add column session_generation integer;

-- A stream ticket keeps the generation of the token that asked for it, so the stream it
-- opens ends with that session. Tickets made before this column have none; their
-- streams end when the user is deactivated or at the token's expiry.
alter table notification_stream_tickets add column session_generation integer;
