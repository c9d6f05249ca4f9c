-- Three more clause categories: restrictive covenants (non-compete, non-solicitation),
-- assignment of the contract, and automatic renewal.
alter table clauses drop constraint clauses_category_check;

alter table clauses add constraint clauses_category_check
    check (category in ('payment', 'liability', 'confidentiality', 'termination', 'indemnity',
                        'governing_law', 'intellectual_property', 'warranty', 'force_majeure',
                        'data_protection', 'dispute_resolution', 'non_compete', 'assignment',
                        'auto_renewal', 'other'));
