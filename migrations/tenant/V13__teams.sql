-- Teams: named groups of users (legal, finance, executives) that approval stages name
-- as approvers. A team's name is its key in workflow definitions.
create table teams (
    id           uuid primary key default gen_random_uuid(),
    name         text not null
                 constraint teams_name_key unique
                 constraint teams_name_format check (name ~ '^[a-z][a-z0-9_-]{0,49}$'),
    description  text not null default ''
                 constraint teams_description_length check (char_length(description) <= 500),
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now()
);

create table team_members (
    team_id   uuid not null constraint team_members_team_id_fkey references teams (id) on delete cascade,
    user_id   uuid not null constraint team_members_user_id_fkey references users (id) on delete cascade,
    added_at  timestamptz not null default now(),
    constraint team_members_pkey primary key (team_id, user_id)
);

create index team_members_user_idx on team_members (user_id);
