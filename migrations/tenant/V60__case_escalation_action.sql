-- What a breached case's escalation does: `notify` tells the policy's team; `reassign`
-- also gives the case to the team's active member with the fewest active cases.
alter table case_sla_policies add column escalation_action text not null default 'notify'
    constraint case_sla_policies_escalation_action_check check (escalation_action in ('notify', 'reassign'));
