-- The tenant schema that migrations V1 to V71 build, squashed: what a cold build
-- runs instead of replaying them. Written by scripts/squash-tenant-migrations.sh from
-- a replay of those files; do not edit it, run the script again.
-- squashes: 71
-- digest: c6e0813b07b92767bf9ece296ee3673ceac37f9d3f91fa2ae7ac75f91dab4106

CREATE FUNCTION audit_logs_refuse_change() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
    raise exception 'audit_logs is append-only: % refused', tg_op
        using errcode = 'insufficient_privilege';
end;
$$;

CREATE TABLE account_contacts (
    contact_id uuid NOT NULL,
    counterparty_id uuid NOT NULL
);

CREATE TABLE activities (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    target_kind text NOT NULL,
    target_id uuid NOT NULL,
    kind text NOT NULL,
    subject text NOT NULL,
    body text,
    occurred_at timestamp with time zone NOT NULL,
    duration_minutes integer,
    contact_ids uuid[] DEFAULT '{}'::uuid[] NOT NULL,
    author_id uuid,
    created_at timestamp with time zone NOT NULL,
    CONSTRAINT activities_body_length CHECK ((char_length(body) <= 20000)),
    CONSTRAINT activities_contact_ids_count CHECK ((cardinality(contact_ids) <= 20)),
    CONSTRAINT activities_duration_range CHECK (((duration_minutes >= 0) AND (duration_minutes <= 10080))),
    CONSTRAINT activities_kind_check CHECK ((kind = ANY (ARRAY['call'::text, 'meeting'::text, 'email'::text, 'note'::text]))),
    CONSTRAINT activities_subject_length CHECK (((char_length(subject) >= 1) AND (char_length(subject) <= 300))),
    CONSTRAINT activities_target_kind_format CHECK ((target_kind ~ '^[a-z_]{1,40}$'::text))
);

CREATE TABLE approvals (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    stage_id uuid NOT NULL,
    run_id uuid NOT NULL,
    contract_id uuid NOT NULL,
    approver_id uuid NOT NULL,
    assigned_via text NOT NULL,
    delegated_from uuid,
    state text NOT NULL,
    reason text,
    created_at timestamp with time zone NOT NULL,
    decided_at timestamp with time zone,
    overdue_at timestamp with time zone,
    CONSTRAINT approvals_state_check CHECK ((state = ANY (ARRAY['pending'::text, 'approved'::text, 'rejected'::text, 'delegated'::text, 'reassigned'::text, 'not_needed'::text, 'voided'::text, 'cancelled'::text])))
);

CREATE TABLE attachment_pages (
    attachment_id uuid NOT NULL,
    page integer NOT NULL,
    body text NOT NULL,
    confidence real,
    text_language text DEFAULT 'english'::text NOT NULL,
    search tsvector GENERATED ALWAYS AS (
CASE text_language
    WHEN 'german'::text THEN to_tsvector('german'::regconfig, body)
    WHEN 'french'::text THEN to_tsvector('french'::regconfig, body)
    WHEN 'spanish'::text THEN to_tsvector('spanish'::regconfig, body)
    ELSE to_tsvector('english'::regconfig, body)
END) STORED,
    CONSTRAINT attachment_pages_page_check CHECK ((page >= 1)),
    CONSTRAINT attachment_pages_text_language_check CHECK ((text_language = ANY (ARRAY['english'::text, 'german'::text, 'french'::text, 'spanish'::text])))
);

CREATE TABLE attachment_texts (
    attachment_id uuid NOT NULL,
    state text DEFAULT 'pending'::text NOT NULL,
    error text,
    pages integer DEFAULT 0 NOT NULL,
    characters bigint DEFAULT 0 NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    method text DEFAULT 'text'::text NOT NULL,
    ocr_pages_total integer DEFAULT 0 NOT NULL,
    ocr_pages_done integer DEFAULT 0 NOT NULL,
    ocr_languages text[] DEFAULT '{}'::text[] NOT NULL,
    searchable_pdf_sha256 text,
    CONSTRAINT attachment_texts_method_check CHECK ((method = ANY (ARRAY['text'::text, 'ocr'::text]))),
    CONSTRAINT attachment_texts_state_check CHECK ((state = ANY (ARRAY['pending'::text, 'recognizing'::text, 'extracted'::text, 'failed'::text, 'unsupported'::text])))
);

CREATE TABLE attachments (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    filename text NOT NULL,
    content_type text NOT NULL,
    size_bytes bigint NOT NULL,
    sha256 text NOT NULL,
    uploaded_by uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    target_kind text NOT NULL,
    target_id uuid NOT NULL,
    text_language_set text,
    CONSTRAINT attachments_filename_length CHECK (((char_length(filename) >= 1) AND (char_length(filename) <= 255))),
    CONSTRAINT attachments_size_check CHECK ((size_bytes >= 0)),
    CONSTRAINT attachments_target_kind_check CHECK ((target_kind ~ '^[a-z][a-z_]{0,39}$'::text)),
    CONSTRAINT attachments_text_language_set_check CHECK ((text_language_set = ANY (ARRAY['english'::text, 'german'::text, 'french'::text, 'spanish'::text])))
);

CREATE TABLE audit_logs (
    id bigint NOT NULL GENERATED ALWAYS AS IDENTITY ( SEQUENCE NAME audit_logs_id_seq START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1),
    at timestamp with time zone DEFAULT now() NOT NULL,
    actor_id uuid,
    action text NOT NULL,
    entity text NOT NULL,
    entity_id uuid,
    changes jsonb DEFAULT '{}'::jsonb NOT NULL,
    ip text,
    user_agent text,
    request_id text,
    actor_kind text DEFAULT 'user'::text NOT NULL,
    event_type text GENERATED ALWAYS AS (((entity || '.'::text) ||
CASE action
    WHEN 'create'::text THEN 'created'::text
    WHEN 'update'::text THEN 'updated'::text
    WHEN 'delete'::text THEN 'deleted'::text
    WHEN 'transition'::text THEN 'status_changed'::text
    WHEN 'attach_clause'::text THEN 'clause_attached'::text
    WHEN 'detach_clause'::text THEN 'clause_detached'::text
    WHEN 'generate'::text THEN 'generated'::text
    WHEN 'change_password'::text THEN 'password_changed'::text
    ELSE action
END)) STORED,
    xact xid8 DEFAULT pg_current_xact_id() NOT NULL,
    CONSTRAINT audit_logs_actor_kind_check CHECK ((actor_kind = ANY (ARRAY['user'::text, 'system'::text])))
);

CREATE TABLE business_calendar (
    id boolean DEFAULT true NOT NULL,
    timezone text NOT NULL,
    working_days smallint[] NOT NULL,
    day_start time without time zone NOT NULL,
    day_end time without time zone NOT NULL,
    holidays date[] DEFAULT '{}'::date[] NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT business_calendar_days CHECK (((cardinality(working_days) >= 1) AND (cardinality(working_days) <= 7))),
    CONSTRAINT business_calendar_holidays CHECK ((cardinality(holidays) <= 2000)),
    CONSTRAINT business_calendar_hours CHECK ((day_end > day_start)),
    CONSTRAINT business_calendar_single CHECK (id)
);

CREATE TABLE case_sla_policies (
    priority text NOT NULL,
    first_response_hours numeric NOT NULL,
    resolution_hours numeric NOT NULL,
    escalate_to_team text,
    warn_before_hours numeric,
    escalation_action text DEFAULT 'notify'::text NOT NULL,
    CONSTRAINT case_sla_policies_escalation_action_check CHECK ((escalation_action = ANY (ARRAY['notify'::text, 'reassign'::text]))),
    CONSTRAINT case_sla_policies_first_response_range CHECK (((first_response_hours > (0)::numeric) AND (first_response_hours <= (8760)::numeric))),
    CONSTRAINT case_sla_policies_priority_check CHECK ((priority = ANY (ARRAY['low'::text, 'normal'::text, 'high'::text, 'urgent'::text]))),
    CONSTRAINT case_sla_policies_resolution_range CHECK (((resolution_hours > (0)::numeric) AND (resolution_hours <= (8760)::numeric))),
    CONSTRAINT case_sla_policies_team_format CHECK ((escalate_to_team ~ '^[a-z][a-z0-9_-]{0,49}$'::text)),
    CONSTRAINT case_sla_policies_warn_range CHECK (((warn_before_hours > (0)::numeric) AND (warn_before_hours <= (8760)::numeric)))
);

CREATE TABLE cases (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    number bigint NOT NULL GENERATED ALWAYS AS IDENTITY ( SEQUENCE NAME cases_number_seq START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1),
    subject text NOT NULL,
    description text,
    account_id uuid,
    contract_id uuid,
    contact_id uuid,
    priority text NOT NULL,
    status text DEFAULT 'new'::text NOT NULL,
    assignee_id uuid,
    first_response_due_at timestamp with time zone NOT NULL,
    first_responded_at timestamp with time zone,
    first_response_breached_at timestamp with time zone,
    resolution_due_at timestamp with time zone NOT NULL,
    resolved_at timestamp with time zone,
    resolution_breached_at timestamp with time zone,
    escalated_at timestamp with time zone,
    created_by uuid,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    sla_paused_at timestamp with time zone,
    sla_paused_seconds bigint DEFAULT 0 NOT NULL,
    CONSTRAINT cases_description_length CHECK ((char_length(description) <= 20000)),
    CONSTRAINT cases_on_something CHECK (((account_id IS NOT NULL) OR (contract_id IS NOT NULL))),
    CONSTRAINT cases_priority_check CHECK ((priority = ANY (ARRAY['low'::text, 'normal'::text, 'high'::text, 'urgent'::text]))),
    CONSTRAINT cases_sla_paused_seconds_check CHECK ((sla_paused_seconds >= 0)),
    CONSTRAINT cases_status_check CHECK ((status = ANY (ARRAY['new'::text, 'open'::text, 'pending'::text, 'resolved'::text, 'closed'::text]))),
    CONSTRAINT cases_subject_length CHECK (((char_length(subject) >= 1) AND (char_length(subject) <= 300)))
);

CREATE TABLE clause_vectors (
    clause_id uuid NOT NULL,
    embedding bytea NOT NULL,
    model text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    CONSTRAINT clause_vectors_embedding_size CHECK ((octet_length(embedding) = 1536))
);

CREATE TABLE clauses (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    title text NOT NULL,
    category text NOT NULL,
    body text NOT NULL,
    created_by uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT clauses_body_length CHECK (((char_length(body) >= 1) AND (char_length(body) <= 100000))),
    CONSTRAINT clauses_category_check CHECK ((category = ANY (ARRAY['payment'::text, 'liability'::text, 'confidentiality'::text, 'termination'::text, 'indemnity'::text, 'governing_law'::text, 'intellectual_property'::text, 'warranty'::text, 'force_majeure'::text, 'data_protection'::text, 'dispute_resolution'::text, 'non_compete'::text, 'assignment'::text, 'auto_renewal'::text, 'other'::text]))),
    CONSTRAINT clauses_title_length CHECK (((char_length(title) >= 1) AND (char_length(title) <= 300)))
);

CREATE TABLE comments (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    author_id uuid,
    body text NOT NULL,
    mentions uuid[] DEFAULT '{}'::uuid[] NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    target_kind text NOT NULL,
    target_id uuid NOT NULL,
    CONSTRAINT comments_body_length CHECK (((char_length(body) >= 1) AND (char_length(body) <= 20000))),
    CONSTRAINT comments_target_kind_check CHECK ((target_kind ~ '^[a-z][a-z_]{0,39}$'::text))
);

CREATE TABLE contacts (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    name text NOT NULL,
    title text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    emails text[] DEFAULT '{}'::text[] NOT NULL,
    phones text[] DEFAULT '{}'::text[] NOT NULL,
    role text,
    created_by uuid,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    email_keys text[] DEFAULT '{}'::text[] NOT NULL,
    CONSTRAINT contacts_emails_count CHECK ((cardinality(emails) <= 10)),
    CONSTRAINT contacts_name_length CHECK (((char_length(name) >= 1) AND (char_length(name) <= 200))),
    CONSTRAINT contacts_phones_count CHECK ((cardinality(phones) <= 10)),
    CONSTRAINT contacts_role_length CHECK (((char_length(role) >= 1) AND (char_length(role) <= 100))),
    CONSTRAINT contacts_title_length CHECK ((char_length(title) <= 200))
);

CREATE TABLE contract_clauses (
    contract_id uuid NOT NULL,
    clause_id uuid NOT NULL,
    "position" integer DEFAULT 0 NOT NULL,
    added_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE contract_imports (
    contract_id uuid NOT NULL,
    attachment_id uuid NOT NULL,
    state text DEFAULT 'pending'::text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    CONSTRAINT contract_imports_state_check CHECK ((state = ANY (ARRAY['pending'::text, 'filled'::text, 'failed'::text, 'superseded'::text])))
);

CREATE TABLE contract_passages (
    id bigint NOT NULL GENERATED ALWAYS AS IDENTITY ( SEQUENCE NAME contract_passages_id_seq START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1),
    contract_id uuid NOT NULL,
    attachment_id uuid,
    ordinal integer NOT NULL,
    start_char integer NOT NULL,
    end_char integer NOT NULL,
    body text NOT NULL,
    embedding bytea NOT NULL,
    model text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    redaction_id uuid,
    page integer,
    last_page integer,
    words tsvector,
    words_language text,
    CONSTRAINT contract_passages_embedding_size CHECK ((octet_length(embedding) = 1536))
);

CREATE TABLE contract_redactions (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    contract_id uuid NOT NULL,
    contract_version integer NOT NULL,
    body text NOT NULL,
    redacted jsonb NOT NULL,
    kept integer NOT NULL,
    created_by uuid,
    created_at timestamp with time zone NOT NULL,
    text_language text DEFAULT 'english'::text NOT NULL,
    search tsvector GENERATED ALWAYS AS (
CASE text_language
    WHEN 'german'::text THEN to_tsvector('german'::regconfig, body)
    WHEN 'french'::text THEN to_tsvector('french'::regconfig, body)
    WHEN 'spanish'::text THEN to_tsvector('spanish'::regconfig, body)
    ELSE to_tsvector('english'::regconfig, body)
END) STORED,
    removed jsonb,
    CONSTRAINT contract_redactions_kept_check CHECK ((kept >= 0)),
    CONSTRAINT contract_redactions_redacted_array CHECK ((jsonb_typeof(redacted) = 'array'::text)),
    CONSTRAINT contract_redactions_text_language_check CHECK ((text_language = ANY (ARRAY['english'::text, 'german'::text, 'french'::text, 'spanish'::text])))
);

CREATE TABLE contract_risk (
    contract_id uuid NOT NULL,
    level text NOT NULL,
    findings jsonb NOT NULL,
    contract_version integer NOT NULL,
    assessed_at timestamp with time zone NOT NULL,
    CONSTRAINT contract_risk_level CHECK ((level = ANY (ARRAY['none'::text, 'low'::text, 'medium'::text, 'high'::text])))
);

CREATE TABLE contract_suggestions (
    id uuid NOT NULL,
    contract_id uuid NOT NULL,
    attachment_id uuid,
    field text NOT NULL,
    value jsonb NOT NULL,
    passage text NOT NULL,
    start_char integer NOT NULL,
    end_char integer NOT NULL,
    confidence real NOT NULL,
    status text NOT NULL,
    contract_version integer NOT NULL,
    decided_by uuid,
    decided_at timestamp with time zone,
    created_at timestamp with time zone NOT NULL,
    CONSTRAINT contract_suggestions_confidence CHECK (((confidence >= (0)::double precision) AND (confidence <= (1)::double precision))),
    CONSTRAINT contract_suggestions_field CHECK ((field = ANY (ARRAY['parties'::text, 'counterparty'::text, 'effective_date'::text, 'end_date'::text, 'term_months'::text, 'auto_renew'::text, 'renewal_notice_days'::text, 'value'::text, 'governing_law'::text, 'payment_terms_days'::text]))),
    CONSTRAINT contract_suggestions_status CHECK ((status = ANY (ARRAY['open'::text, 'accepted'::text, 'rejected'::text, 'superseded'::text])))
);

CREATE TABLE contract_types (
    key text NOT NULL,
    label text NOT NULL,
    required_clause_categories text[] DEFAULT '{}'::text[] NOT NULL,
    builtin boolean DEFAULT false NOT NULL,
    CONSTRAINT contract_types_key_check CHECK ((key ~ '^[a-z][a-z0-9_]{0,39}$'::text)),
    CONSTRAINT contract_types_label_length CHECK (((char_length(label) >= 1) AND (char_length(label) <= 100)))
);

CREATE TABLE contract_versions (
    contract_id uuid NOT NULL,
    version integer NOT NULL,
    title text NOT NULL,
    body text NOT NULL,
    created_by uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE contracts (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    title text NOT NULL,
    contract_type text NOT NULL,
    status text DEFAULT 'draft'::text NOT NULL,
    value numeric,
    currency text,
    counterparty_id uuid,
    owner_id uuid NOT NULL,
    start_date date,
    end_date date,
    auto_renew boolean DEFAULT false NOT NULL,
    renewal_notice_days integer,
    tags text[] DEFAULT '{}'::text[] NOT NULL,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    body text DEFAULT ''::text NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    created_by uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_by uuid,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    shown_redaction uuid,
    text_language text DEFAULT 'english'::text NOT NULL,
    search tsvector GENERATED ALWAYS AS ((setweight(
CASE text_language
    WHEN 'german'::text THEN to_tsvector('german'::regconfig, title)
    WHEN 'french'::text THEN to_tsvector('french'::regconfig, title)
    WHEN 'spanish'::text THEN to_tsvector('spanish'::regconfig, title)
    ELSE to_tsvector('english'::regconfig, title)
END, 'A'::"char") || setweight(
CASE text_language
    WHEN 'german'::text THEN to_tsvector('german'::regconfig, body)
    WHEN 'french'::text THEN to_tsvector('french'::regconfig, body)
    WHEN 'spanish'::text THEN to_tsvector('spanish'::regconfig, body)
    ELSE to_tsvector('english'::regconfig, body)
END, 'B'::"char"))) STORED,
    text_language_set text,
    CONSTRAINT contracts_body_length CHECK ((char_length(body) <= 1000000)),
    CONSTRAINT contracts_currency_check CHECK ((currency ~ '^[A-Z]{3}$'::text)),
    CONSTRAINT contracts_dates_order CHECK (((end_date IS NULL) OR (start_date IS NULL) OR (end_date >= start_date))),
    CONSTRAINT contracts_metadata_object CHECK ((jsonb_typeof(metadata) = 'object'::text)),
    CONSTRAINT contracts_notice_check CHECK (((renewal_notice_days >= 0) AND (renewal_notice_days <= 3650))),
    CONSTRAINT contracts_status_check CHECK ((status = ANY (ARRAY['draft'::text, 'in_review'::text, 'approved'::text, 'rejected'::text, 'executed'::text, 'expired'::text, 'terminated'::text]))),
    CONSTRAINT contracts_tags_count CHECK ((cardinality(tags) <= 50)),
    CONSTRAINT contracts_text_language_check CHECK ((text_language = ANY (ARRAY['english'::text, 'german'::text, 'french'::text, 'spanish'::text]))),
    CONSTRAINT contracts_text_language_set_check CHECK ((text_language_set = ANY (ARRAY['english'::text, 'german'::text, 'french'::text, 'spanish'::text]))),
    CONSTRAINT contracts_title_length CHECK (((char_length(title) >= 1) AND (char_length(title) <= 500))),
    CONSTRAINT contracts_value_check CHECK (((value >= (0)::numeric) AND (value < '100000000000000'::numeric) AND (scale(value) <= 4))),
    CONSTRAINT contracts_value_currency CHECK (((value IS NULL) = (currency IS NULL)))
);

CREATE TABLE counterparties (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    name text NOT NULL,
    kind text DEFAULT 'organisation'::text NOT NULL,
    email text,
    website text,
    billing_address text,
    notes text,
    created_by uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    shipping_address text,
    industry text,
    owner_id uuid,
    tags text[] DEFAULT '{}'::text[] NOT NULL,
    parent_id uuid,
    CONSTRAINT counterparties_address_length CHECK ((char_length(billing_address) <= 2000)),
    CONSTRAINT counterparties_email_length CHECK ((char_length(email) <= 254)),
    CONSTRAINT counterparties_industry_length CHECK (((char_length(industry) >= 1) AND (char_length(industry) <= 100))),
    CONSTRAINT counterparties_kind_check CHECK ((kind = ANY (ARRAY['organisation'::text, 'individual'::text]))),
    CONSTRAINT counterparties_name_length CHECK (((char_length(name) >= 1) AND (char_length(name) <= 300))),
    CONSTRAINT counterparties_not_own_parent CHECK ((parent_id <> id)),
    CONSTRAINT counterparties_notes_length CHECK ((char_length(notes) <= 10000)),
    CONSTRAINT counterparties_shipping_address_length CHECK ((char_length(shipping_address) <= 2000)),
    CONSTRAINT counterparties_tags_count CHECK ((cardinality(tags) <= 20)),
    CONSTRAINT counterparties_website_length CHECK ((char_length(website) <= 500))
);

CREATE TABLE document_settings (
    id boolean DEFAULT true NOT NULL,
    ocr_languages text[] DEFAULT '{eng}'::text[] NOT NULL,
    max_file_bytes bigint,
    max_files integer,
    updated_at timestamp with time zone NOT NULL,
    original_role text DEFAULT 'manager'::text NOT NULL,
    CONSTRAINT document_settings_languages_count CHECK (((cardinality(ocr_languages) >= 1) AND (cardinality(ocr_languages) <= 8))),
    CONSTRAINT document_settings_max_file_bytes_check CHECK ((max_file_bytes > 0)),
    CONSTRAINT document_settings_max_files_check CHECK ((max_files >= 0)),
    CONSTRAINT document_settings_original_role_check CHECK ((original_role = ANY (ARRAY['viewer'::text, 'member'::text, 'manager'::text, 'admin'::text]))),
    CONSTRAINT document_settings_single CHECK (id)
);

CREATE TABLE generative_requests (
    contract_id uuid NOT NULL,
    state text NOT NULL,
    refresh boolean DEFAULT false NOT NULL,
    requested_by uuid,
    requested_at timestamp with time zone NOT NULL,
    finished_at timestamp with time zone,
    error text,
    CONSTRAINT generative_requests_error_length CHECK ((char_length(error) <= 400)),
    CONSTRAINT generative_requests_state CHECK ((state = ANY (ARRAY['pending'::text, 'answered'::text, 'failed'::text])))
);

CREATE TABLE generative_settings (
    id boolean DEFAULT true NOT NULL,
    enabled boolean NOT NULL,
    base_url text NOT NULL,
    model text NOT NULL,
    api_key text,
    max_input_chars integer NOT NULL,
    updated_by uuid,
    updated_at timestamp with time zone NOT NULL,
    CONSTRAINT generative_settings_api_key_length CHECK (((char_length(api_key) >= 1) AND (char_length(api_key) <= 500))),
    CONSTRAINT generative_settings_base_url_length CHECK (((char_length(base_url) >= 1) AND (char_length(base_url) <= 2000))),
    CONSTRAINT generative_settings_max_input_chars CHECK (((max_input_chars >= 1000) AND (max_input_chars <= 200000))),
    CONSTRAINT generative_settings_model_length CHECK (((char_length(model) >= 1) AND (char_length(model) <= 200))),
    CONSTRAINT generative_settings_single CHECK (id)
);

CREATE TABLE generative_summaries (
    contract_id uuid NOT NULL,
    digest text NOT NULL,
    model text NOT NULL,
    summary text NOT NULL,
    input_chars integer NOT NULL,
    text_chars integer NOT NULL,
    usage jsonb DEFAULT 'null'::jsonb NOT NULL,
    generated_by uuid,
    generated_at timestamp with time zone NOT NULL,
    CONSTRAINT generative_summaries_digest_length CHECK ((char_length(digest) = 64)),
    CONSTRAINT generative_summaries_input_chars CHECK ((input_chars >= 0)),
    CONSTRAINT generative_summaries_model_length CHECK (((char_length(model) >= 1) AND (char_length(model) <= 200))),
    CONSTRAINT generative_summaries_summary_length CHECK (((char_length(summary) >= 1) AND (char_length(summary) <= 20000))),
    CONSTRAINT generative_summaries_text_chars CHECK ((text_chars >= input_chars))
);

CREATE TABLE idempotency_keys (
    owner_id uuid NOT NULL,
    key text NOT NULL,
    request_hash text NOT NULL,
    request_id uuid NOT NULL,
    status integer,
    headers jsonb,
    body bytea,
    created_at timestamp with time zone NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    CONSTRAINT idempotency_keys_key_length CHECK (((octet_length(key) >= 1) AND (octet_length(key) <= 255)))
);

CREATE TABLE invoice_counters (
    period text NOT NULL,
    last_number integer NOT NULL
);

CREATE TABLE invoice_emails (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    invoice_id uuid NOT NULL,
    recipients text[] NOT NULL,
    cc text[] DEFAULT '{}'::text[] NOT NULL,
    subject text NOT NULL,
    message text,
    status text DEFAULT 'queued'::text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    last_error text,
    requested_by uuid,
    created_at timestamp with time zone NOT NULL,
    sent_at timestamp with time zone,
    failed_at timestamp with time zone,
    delivered text[] DEFAULT '{}'::text[] NOT NULL,
    refused text[] DEFAULT '{}'::text[] NOT NULL,
    CONSTRAINT invoice_emails_cc_count CHECK ((cardinality(cc) <= 20)),
    CONSTRAINT invoice_emails_message_length CHECK ((char_length(message) <= 5000)),
    CONSTRAINT invoice_emails_recipients_count CHECK (((cardinality(recipients) >= 1) AND (cardinality(recipients) <= 20))),
    CONSTRAINT invoice_emails_status_check CHECK ((status = ANY (ARRAY['queued'::text, 'sent'::text, 'failed'::text]))),
    CONSTRAINT invoice_emails_subject_length CHECK (((char_length(subject) >= 1) AND (char_length(subject) <= 300)))
);

CREATE TABLE invoice_lines (
    invoice_id uuid NOT NULL,
    "position" integer NOT NULL,
    description text NOT NULL,
    quantity numeric NOT NULL,
    unit_price numeric NOT NULL,
    discount_percent numeric DEFAULT 0 NOT NULL,
    tax_rate numeric DEFAULT 0 NOT NULL,
    minor_units smallint DEFAULT 2 NOT NULL,
    gross numeric GENERATED ALWAYS AS (round((quantity * unit_price), (minor_units)::integer)) STORED,
    discount numeric GENERATED ALWAYS AS (round((((quantity * unit_price) * discount_percent) / (100)::numeric), (minor_units)::integer)) STORED,
    net numeric GENERATED ALWAYS AS ((round((quantity * unit_price), (minor_units)::integer) - round((((quantity * unit_price) * discount_percent) / (100)::numeric), (minor_units)::integer))) STORED,
    tax numeric GENERATED ALWAYS AS (round((((round((quantity * unit_price), (minor_units)::integer) - round((((quantity * unit_price) * discount_percent) / (100)::numeric), (minor_units)::integer)) * tax_rate) / (100)::numeric), (minor_units)::integer)) STORED,
    CONSTRAINT invoice_lines_description_length CHECK (((char_length(description) >= 1) AND (char_length(description) <= 1000))),
    CONSTRAINT invoice_lines_discount_check CHECK (((discount_percent >= (0)::numeric) AND (discount_percent <= (100)::numeric) AND (scale(discount_percent) <= 2))),
    CONSTRAINT invoice_lines_minor_units_check CHECK (((minor_units >= 0) AND (minor_units <= 4))),
    CONSTRAINT invoice_lines_price_check CHECK (((unit_price >= (0)::numeric) AND (unit_price < '1000000000000'::numeric) AND (scale(unit_price) <= 4))),
    CONSTRAINT invoice_lines_quantity_check CHECK (((quantity > (0)::numeric) AND (quantity < '1000000000'::numeric) AND (scale(quantity) <= 4))),
    CONSTRAINT invoice_lines_tax_check CHECK (((tax_rate >= (0)::numeric) AND (tax_rate <= (100)::numeric) AND (scale(tax_rate) <= 2)))
);

CREATE TABLE invoice_payments (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    invoice_id uuid NOT NULL,
    amount numeric NOT NULL,
    paid_on date NOT NULL,
    method text,
    reference text,
    created_by uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT invoice_payments_amount_check CHECK (((amount > (0)::numeric) AND (amount < '100000000000000'::numeric) AND (scale(amount) <= 4))),
    CONSTRAINT invoice_payments_method_length CHECK ((char_length(method) <= 50)),
    CONSTRAINT invoice_payments_reference_length CHECK ((char_length(reference) <= 200))
);

CREATE TABLE invoice_settings (
    id boolean DEFAULT true NOT NULL,
    number_format text DEFAULT 'INV-{YYYY}-{NNNN}'::text NOT NULL,
    payment_terms_days integer DEFAULT 30 NOT NULL,
    reminder_days integer DEFAULT 3 NOT NULL,
    email_reminders boolean DEFAULT false NOT NULL,
    dunning_days integer[] DEFAULT '{}'::integer[] NOT NULL,
    CONSTRAINT invoice_settings_dunning_days CHECK (((cardinality(dunning_days) <= 10) AND (1 <= ALL (dunning_days)) AND (365 >= ALL (dunning_days)))),
    CONSTRAINT invoice_settings_format_length CHECK (((char_length(number_format) >= 1) AND (char_length(number_format) <= 50))),
    CONSTRAINT invoice_settings_reminder_range CHECK (((reminder_days >= 0) AND (reminder_days <= 60))),
    CONSTRAINT invoice_settings_single_row CHECK (id),
    CONSTRAINT invoice_settings_terms_range CHECK (((payment_terms_days >= 0) AND (payment_terms_days <= 365)))
);

CREATE TABLE invoices (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    number text NOT NULL,
    account_id uuid NOT NULL,
    contract_id uuid,
    currency text NOT NULL,
    status text DEFAULT 'draft'::text NOT NULL,
    issue_date date NOT NULL,
    due_date date NOT NULL,
    subtotal numeric DEFAULT 0 NOT NULL,
    discount_total numeric DEFAULT 0 NOT NULL,
    tax_total numeric DEFAULT 0 NOT NULL,
    total numeric DEFAULT 0 NOT NULL,
    paid numeric DEFAULT 0 NOT NULL,
    notes text,
    void_reason text,
    sent_at timestamp with time zone,
    paid_at timestamp with time zone,
    voided_at timestamp with time zone,
    created_by uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT invoices_currency_format CHECK ((currency ~ '^[A-Z]{3}$'::text)),
    CONSTRAINT invoices_due_after_issue CHECK ((due_date >= issue_date)),
    CONSTRAINT invoices_notes_length CHECK ((char_length(notes) <= 5000)),
    CONSTRAINT invoices_status_check CHECK ((status = ANY (ARRAY['draft'::text, 'sent'::text, 'partly_paid'::text, 'paid'::text, 'overdue'::text, 'void'::text]))),
    CONSTRAINT invoices_void_reason_length CHECK ((char_length(void_reason) <= 1000))
);

CREATE TABLE leads (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    name text NOT NULL,
    company text,
    email text,
    phone text,
    website text,
    source text,
    status text DEFAULT 'new'::text NOT NULL,
    lost_reason text,
    owner_id uuid,
    score integer DEFAULT 0 NOT NULL,
    notes text,
    converted_at timestamp with time zone,
    account_id uuid,
    contact_id uuid,
    opportunity_id uuid,
    created_by uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT leads_company_length CHECK ((char_length(company) <= 300)),
    CONSTRAINT leads_converted_when CHECK (((status = 'converted'::text) = (converted_at IS NOT NULL))),
    CONSTRAINT leads_email_length CHECK ((char_length(email) <= 254)),
    CONSTRAINT leads_lost_has_reason CHECK (((status <> 'lost'::text) OR (lost_reason IS NOT NULL))),
    CONSTRAINT leads_lost_reason_length CHECK ((char_length(lost_reason) <= 1000)),
    CONSTRAINT leads_name_length CHECK (((char_length(name) >= 1) AND (char_length(name) <= 200))),
    CONSTRAINT leads_notes_length CHECK ((char_length(notes) <= 10000)),
    CONSTRAINT leads_phone_length CHECK ((char_length(phone) <= 50)),
    CONSTRAINT leads_score_range CHECK (((score >= 0) AND (score <= 100))),
    CONSTRAINT leads_source_length CHECK ((char_length(source) <= 50)),
    CONSTRAINT leads_status_check CHECK ((status = ANY (ARRAY['new'::text, 'contacted'::text, 'qualified'::text, 'lost'::text, 'converted'::text]))),
    CONSTRAINT leads_website_length CHECK ((char_length(website) <= 500))
);

CREATE TABLE notification_defaults (
    id boolean DEFAULT true NOT NULL,
    time_zone text,
    digest text DEFAULT 'off'::text NOT NULL,
    channels jsonb DEFAULT '{}'::jsonb NOT NULL,
    reminder_days integer[] DEFAULT '{90,60,30}'::integer[] NOT NULL,
    renewal_notice_lead_days integer DEFAULT 14 NOT NULL,
    brand_name text,
    brand_color text,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    obligation_reminder_days integer[] DEFAULT '{7,0}'::integer[] NOT NULL,
    CONSTRAINT notification_defaults_brand_color CHECK ((brand_color ~ '^#[0-9a-fA-F]{6}$'::text)),
    CONSTRAINT notification_defaults_brand_name_length CHECK ((char_length(brand_name) <= 200)),
    CONSTRAINT notification_defaults_channels_object CHECK ((jsonb_typeof(channels) = 'object'::text)),
    CONSTRAINT notification_defaults_digest_check CHECK ((digest = ANY (ARRAY['off'::text, 'hourly'::text, 'daily'::text]))),
    CONSTRAINT notification_defaults_lead_days CHECK (((renewal_notice_lead_days >= 0) AND (renewal_notice_lead_days <= 365))),
    CONSTRAINT notification_defaults_obligation_reminder_days CHECK ((cardinality(obligation_reminder_days) <= 10)),
    CONSTRAINT notification_defaults_reminder_days CHECK ((cardinality(reminder_days) <= 10)),
    CONSTRAINT notification_defaults_single CHECK (id)
);

CREATE TABLE notification_deliveries (
    id bigint NOT NULL GENERATED ALWAYS AS IDENTITY ( SEQUENCE NAME notification_deliveries_id_seq START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1),
    notification_id bigint NOT NULL,
    recipient_id uuid NOT NULL,
    channel text NOT NULL,
    state text NOT NULL,
    send_after timestamp with time zone NOT NULL,
    digest_at timestamp with time zone,
    message_id text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    last_error text,
    sent_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    held_by uuid,
    held_until timestamp with time zone,
    CONSTRAINT notification_deliveries_channel_check CHECK ((channel = ANY (ARRAY['email'::text, 'chat'::text]))),
    CONSTRAINT notification_deliveries_state_check CHECK ((state = ANY (ARRAY['pending'::text, 'digest'::text, 'sent'::text, 'failed'::text, 'skipped'::text])))
);

CREATE TABLE notification_settings (
    user_id uuid NOT NULL,
    time_zone text,
    quiet_start time without time zone,
    quiet_end time without time zone,
    digest text,
    chat_webhook_url text,
    channels jsonb DEFAULT '{}'::jsonb NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT notification_settings_channels_object CHECK ((jsonb_typeof(channels) = 'object'::text)),
    CONSTRAINT notification_settings_chat_url_length CHECK ((char_length(chat_webhook_url) <= 2000)),
    CONSTRAINT notification_settings_digest_check CHECK ((digest = ANY (ARRAY['off'::text, 'hourly'::text, 'daily'::text]))),
    CONSTRAINT notification_settings_quiet_both CHECK (((quiet_start IS NULL) = (quiet_end IS NULL)))
);

CREATE TABLE notification_stream_tickets (
    ticket_hash text NOT NULL,
    user_id uuid NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    used_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE notifications (
    id bigint NOT NULL GENERATED ALWAYS AS IDENTITY ( SEQUENCE NAME notifications_id_seq START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1),
    recipient_id uuid NOT NULL,
    type text NOT NULL,
    title text NOT NULL,
    body text DEFAULT ''::text NOT NULL,
    entity text,
    entity_id uuid,
    link text,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    event_id bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    seen_at timestamp with time zone,
    read_at timestamp with time zone,
    archived_at timestamp with time zone
);

CREATE TABLE obligation_tasks (
    id uuid NOT NULL,
    contract_id uuid NOT NULL,
    attachment_id uuid,
    obligation_key text NOT NULL,
    party text NOT NULL,
    action text NOT NULL,
    prohibition boolean NOT NULL,
    passage text NOT NULL,
    start_char integer NOT NULL,
    end_char integer NOT NULL,
    due_date date NOT NULL,
    due_source text NOT NULL,
    status text NOT NULL,
    assignee_id uuid,
    decided_by uuid,
    decided_at timestamp with time zone,
    created_at timestamp with time zone NOT NULL,
    series_key text,
    occurrence integer,
    recurs text,
    CONSTRAINT obligation_tasks_due_source CHECK ((due_source = ANY (ARRAY['text'::text, 'effective_date'::text, 'person'::text]))),
    CONSTRAINT obligation_tasks_recurs CHECK ((recurs = ANY (ARRAY['daily'::text, 'weekly'::text, 'monthly'::text, 'quarterly'::text, 'annually'::text]))),
    CONSTRAINT obligation_tasks_status CHECK ((status = ANY (ARRAY['open'::text, 'done'::text, 'dismissed'::text, 'superseded'::text])))
);

CREATE TABLE opportunities (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    name text NOT NULL,
    account_id uuid NOT NULL,
    stage text NOT NULL,
    amount numeric DEFAULT 0 NOT NULL,
    currency text NOT NULL,
    expected_close_date date,
    owner_id uuid,
    next_step text,
    lost_reason text,
    contract_id uuid,
    closed_at timestamp with time zone,
    created_by uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT opportunities_amount_check CHECK (((amount >= (0)::numeric) AND (amount < '100000000000000'::numeric) AND (scale(amount) <= 4))),
    CONSTRAINT opportunities_currency_format CHECK ((currency ~ '^[A-Z]{3}$'::text)),
    CONSTRAINT opportunities_lost_reason_length CHECK ((char_length(lost_reason) <= 1000)),
    CONSTRAINT opportunities_name_length CHECK (((char_length(name) >= 1) AND (char_length(name) <= 300))),
    CONSTRAINT opportunities_next_step_length CHECK ((char_length(next_step) <= 500))
);

CREATE TABLE opportunity_contacts (
    opportunity_id uuid NOT NULL,
    contact_id uuid NOT NULL
);

CREATE TABLE out_of_office (
    user_id uuid NOT NULL,
    delegate_id uuid NOT NULL,
    starts_at timestamp with time zone NOT NULL,
    ends_at timestamp with time zone NOT NULL,
    note text DEFAULT ''::text NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT out_of_office_not_self CHECK ((delegate_id <> user_id)),
    CONSTRAINT out_of_office_span CHECK ((ends_at > starts_at))
);

CREATE TABLE pipeline_stages (
    key text NOT NULL,
    label text NOT NULL,
    "position" integer NOT NULL,
    probability integer NOT NULL,
    outcome text DEFAULT 'open'::text NOT NULL,
    CONSTRAINT pipeline_stages_key_format CHECK ((key ~ '^[a-z][a-z0-9_]{0,49}$'::text)),
    CONSTRAINT pipeline_stages_label_length CHECK (((char_length(label) >= 1) AND (char_length(label) <= 100))),
    CONSTRAINT pipeline_stages_outcome_check CHECK ((outcome = ANY (ARRAY['open'::text, 'won'::text, 'lost'::text]))),
    CONSTRAINT pipeline_stages_probability_range CHECK (((probability >= 0) AND (probability <= 100)))
);

CREATE TABLE redaction_patterns (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    name text NOT NULL,
    pattern text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    CONSTRAINT redaction_patterns_name_length CHECK (((char_length(name) >= 1) AND (char_length(name) <= 100))),
    CONSTRAINT redaction_patterns_pattern_length CHECK (((char_length(pattern) >= 1) AND (char_length(pattern) <= 500)))
);

CREATE TABLE refresh_tokens (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    user_id uuid NOT NULL,
    family_id uuid NOT NULL,
    token_hash text NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    revoked_at timestamp with time zone,
    replaced_by uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE risk_policy (
    id boolean DEFAULT true NOT NULL,
    forbidden_terms text[] DEFAULT '{}'::text[] NOT NULL,
    max_payment_days integer,
    require_liability_cap boolean DEFAULT true NOT NULL,
    renewal_needs_notice boolean DEFAULT true NOT NULL,
    required_categories boolean DEFAULT true NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    deviation_min_similarity real,
    severities jsonb DEFAULT '{}'::jsonb NOT NULL,
    max_renewal_notice_days integer,
    allowed_governing_laws text[] DEFAULT '{}'::text[] NOT NULL,
    max_term_months integer,
    CONSTRAINT risk_policy_allowed_governing_laws_count CHECK ((cardinality(allowed_governing_laws) <= 50)),
    CONSTRAINT risk_policy_deviation_min_similarity CHECK (((deviation_min_similarity >= (0)::double precision) AND (deviation_min_similarity <= (1)::double precision))),
    CONSTRAINT risk_policy_forbidden_terms_count CHECK ((cardinality(forbidden_terms) <= 100)),
    CONSTRAINT risk_policy_max_payment_days CHECK (((max_payment_days >= 1) AND (max_payment_days <= 365))),
    CONSTRAINT risk_policy_max_renewal_notice_days CHECK (((max_renewal_notice_days >= 1) AND (max_renewal_notice_days <= 3650))),
    CONSTRAINT risk_policy_max_term_months CHECK (((max_term_months >= 1) AND (max_term_months <= 1200))),
    CONSTRAINT risk_policy_severities CHECK ((jsonb_typeof(severities) = 'object'::text)),
    CONSTRAINT risk_policy_single CHECK (id)
);

CREATE TABLE role_grants (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    user_id uuid NOT NULL,
    role text NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    reason text DEFAULT ''::text NOT NULL,
    granted_by uuid,
    granted_at timestamp with time zone NOT NULL,
    ended_at timestamp with time zone,
    CONSTRAINT role_grants_role_check CHECK ((role = ANY (ARRAY['viewer'::text, 'member'::text, 'manager'::text, 'admin'::text])))
);

CREATE TABLE tasks (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    target_kind text NOT NULL,
    target_id uuid NOT NULL,
    title text NOT NULL,
    notes text,
    assignee_id uuid,
    due_at timestamp with time zone,
    remind_at timestamp with time zone,
    priority text DEFAULT 'normal'::text NOT NULL,
    status text DEFAULT 'open'::text NOT NULL,
    completed_at timestamp with time zone,
    created_by uuid,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    repeat_every integer,
    repeat_unit text,
    repeat_until timestamp with time zone,
    repeat_anchor timestamp with time zone,
    next_id uuid,
    CONSTRAINT tasks_notes_length CHECK ((char_length(notes) <= 10000)),
    CONSTRAINT tasks_priority_check CHECK ((priority = ANY (ARRAY['low'::text, 'normal'::text, 'high'::text, 'urgent'::text]))),
    CONSTRAINT tasks_repeat_check CHECK ((((repeat_every IS NULL) = (repeat_unit IS NULL)) AND ((repeat_until IS NULL) OR (repeat_every IS NOT NULL)) AND ((repeat_unit IS NULL) = (repeat_anchor IS NULL)) AND ((repeat_every IS NULL) OR ((repeat_every >= 1) AND (repeat_every <= 1000))) AND ((repeat_unit IS NULL) OR (repeat_unit = ANY (ARRAY['day'::text, 'week'::text, 'month'::text, 'year'::text]))))),
    CONSTRAINT tasks_status_check CHECK ((status = ANY (ARRAY['open'::text, 'in_progress'::text, 'done'::text, 'cancelled'::text]))),
    CONSTRAINT tasks_target_kind_format CHECK ((target_kind ~ '^[a-z_]{1,40}$'::text)),
    CONSTRAINT tasks_title_length CHECK (((char_length(title) >= 1) AND (char_length(title) <= 300)))
);

CREATE TABLE team_members (
    team_id uuid NOT NULL,
    user_id uuid NOT NULL,
    added_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE teams (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    name text NOT NULL,
    description text DEFAULT ''::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT teams_description_length CHECK ((char_length(description) <= 500)),
    CONSTRAINT teams_name_format CHECK ((name ~ '^[a-z][a-z0-9_-]{0,49}$'::text))
);

CREATE TABLE templates (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    name text NOT NULL,
    contract_type text NOT NULL,
    body text NOT NULL,
    variables text[] DEFAULT '{}'::text[] NOT NULL,
    created_by uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT templates_body_length CHECK ((char_length(body) <= 1000000)),
    CONSTRAINT templates_name_length CHECK (((char_length(name) >= 1) AND (char_length(name) <= 200)))
);

CREATE TABLE users (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    email text NOT NULL,
    password_hash text,
    display_name text NOT NULL,
    role text DEFAULT 'member'::text NOT NULL,
    active boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT users_display_name_length CHECK (((char_length(display_name) >= 1) AND (char_length(display_name) <= 200))),
    CONSTRAINT users_email_length CHECK (((char_length(email) >= 3) AND (char_length(email) <= 254))),
    CONSTRAINT users_role_check CHECK ((role = ANY (ARRAY['admin'::text, 'manager'::text, 'member'::text, 'viewer'::text])))
);

CREATE TABLE vector_state (
    id boolean DEFAULT true NOT NULL,
    generation bigint NOT NULL,
    model text NOT NULL,
    CONSTRAINT vector_state_single CHECK (id)
);

CREATE TABLE webhook_deliveries (
    id bigint NOT NULL GENERATED ALWAYS AS IDENTITY ( SEQUENCE NAME webhook_deliveries_id_seq START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1),
    endpoint_id uuid NOT NULL,
    event_id bigint,
    event_type text NOT NULL,
    message_id text NOT NULL,
    attempt integer NOT NULL,
    outcome text NOT NULL,
    response_status integer,
    response_body text,
    error text,
    duration_ms integer NOT NULL,
    at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT webhook_deliveries_outcome_check CHECK ((outcome = ANY (ARRAY['delivered'::text, 'failed'::text, 'refused'::text])))
);

CREATE TABLE webhook_endpoints (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    url text NOT NULL,
    description text DEFAULT ''::text NOT NULL,
    event_types text[] NOT NULL,
    secret text NOT NULL,
    enabled boolean DEFAULT true NOT NULL,
    disabled_reason text,
    consecutive_failures integer DEFAULT 0 NOT NULL,
    created_by uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    failing_since timestamp with time zone,
    last_delivered_at timestamp with time zone,
    last_failed_at timestamp with time zone,
    CONSTRAINT webhook_endpoints_description_length CHECK ((char_length(description) <= 500)),
    CONSTRAINT webhook_endpoints_event_types_count CHECK (((cardinality(event_types) >= 1) AND (cardinality(event_types) <= 50))),
    CONSTRAINT webhook_endpoints_url_length CHECK (((char_length(url) >= 1) AND (char_length(url) <= 2000)))
);

CREATE TABLE webhook_messages (
    endpoint_id uuid NOT NULL,
    event_id bigint NOT NULL,
    state text DEFAULT 'pending'::text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone NOT NULL,
    last_attempt_at timestamp with time zone,
    next_attempt_at timestamp with time zone,
    delivered_at timestamp with time zone,
    CONSTRAINT webhook_messages_state_check CHECK ((state = ANY (ARRAY['pending'::text, 'delivered'::text, 'failed'::text])))
);

CREATE TABLE workflow_definition_versions (
    definition_id uuid NOT NULL,
    version integer NOT NULL,
    snapshot jsonb NOT NULL,
    saved_by uuid,
    saved_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE workflow_definitions (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    name text NOT NULL,
    description text DEFAULT ''::text NOT NULL,
    trigger_conditions jsonb NOT NULL,
    stages jsonb NOT NULL,
    priority integer NOT NULL,
    is_active boolean DEFAULT true NOT NULL,
    allow_self_approval boolean DEFAULT false NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    created_by uuid,
    updated_by uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    match_types text[],
    match_min_value numeric,
    CONSTRAINT workflow_definitions_description_length CHECK ((char_length(description) <= 2000)),
    CONSTRAINT workflow_definitions_name_length CHECK (((char_length(name) >= 1) AND (char_length(name) <= 200)))
);

CREATE TABLE workflow_runs (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    contract_id uuid NOT NULL,
    definition_id uuid,
    definition_version integer NOT NULL,
    definition_name text NOT NULL,
    allow_self_approval boolean NOT NULL,
    contract_version integer NOT NULL,
    round integer NOT NULL,
    state text NOT NULL,
    started_by uuid,
    started_at timestamp with time zone NOT NULL,
    finished_at timestamp with time zone,
    reason text,
    CONSTRAINT workflow_runs_state_check CHECK ((state = ANY (ARRAY['running'::text, 'approved'::text, 'rejected'::text, 'voided'::text, 'cancelled'::text])))
);

CREATE TABLE workflow_settings (
    id boolean DEFAULT true NOT NULL,
    unmatched text NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT workflow_settings_single CHECK (id),
    CONSTRAINT workflow_settings_unmatched_check CHECK ((unmatched = ANY (ARRAY['manager_approval'::text, 'refuse'::text])))
);

CREATE TABLE workflow_stages (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    run_id uuid NOT NULL,
    sequence integer NOT NULL,
    name text NOT NULL,
    approval_type text NOT NULL,
    is_required boolean NOT NULL,
    spec jsonb NOT NULL,
    state text NOT NULL,
    required_approvals integer,
    activated_at timestamp with time zone,
    due_at timestamp with time zone,
    overdue_at timestamp with time zone,
    escalated_at timestamp with time zone,
    completed_at timestamp with time zone,
    CONSTRAINT workflow_stages_approval_type_check CHECK ((approval_type = ANY (ARRAY['all'::text, 'any'::text, 'quorum'::text]))),
    CONSTRAINT workflow_stages_state_check CHECK ((state = ANY (ARRAY['waiting'::text, 'active'::text, 'approved'::text, 'rejected'::text, 'skipped'::text, 'voided'::text, 'cancelled'::text])))
);

INSERT INTO case_sla_policies VALUES ('urgent', 1, 8, NULL, NULL, 'notify');
INSERT INTO case_sla_policies VALUES ('high', 4, 24, NULL, NULL, 'notify');
INSERT INTO case_sla_policies VALUES ('normal', 8, 40, NULL, NULL, 'notify');
INSERT INTO case_sla_policies VALUES ('low', 24, 80, NULL, NULL, 'notify');

INSERT INTO contract_types VALUES ('msa', 'Master services agreement', '{payment,liability,termination,governing_law}', true);
INSERT INTO contract_types VALUES ('nda', 'Non-disclosure agreement', '{confidentiality,governing_law}', true);
INSERT INTO contract_types VALUES ('sow', 'Statement of work', '{payment}', true);
INSERT INTO contract_types VALUES ('dpa', 'Data processing agreement', '{confidentiality,liability}', true);
INSERT INTO contract_types VALUES ('lease', 'Lease', '{payment,termination}', true);
INSERT INTO contract_types VALUES ('employment', 'Employment contract', '{confidentiality,termination}', true);
INSERT INTO contract_types VALUES ('purchase_order', 'Purchase order', '{payment}', true);
INSERT INTO contract_types VALUES ('other', 'Other', '{}', true);

INSERT INTO invoice_settings VALUES (true, 'INV-{YYYY}-{NNNN}', 30, 3, false, '{}');

INSERT INTO pipeline_stages VALUES ('prospecting', 'Prospecting', 1, 10, 'open');
INSERT INTO pipeline_stages VALUES ('qualification', 'Qualification', 2, 25, 'open');
INSERT INTO pipeline_stages VALUES ('proposal', 'Proposal', 3, 50, 'open');
INSERT INTO pipeline_stages VALUES ('negotiation', 'Negotiation', 4, 75, 'open');
INSERT INTO pipeline_stages VALUES ('won', 'Won', 5, 100, 'won');
INSERT INTO pipeline_stages VALUES ('lost', 'Lost', 6, 0, 'lost');

ALTER TABLE account_contacts
    ADD CONSTRAINT account_contacts_pkey PRIMARY KEY (contact_id, counterparty_id);

ALTER TABLE activities
    ADD CONSTRAINT activities_pkey PRIMARY KEY (id);

ALTER TABLE approvals
    ADD CONSTRAINT approvals_pkey PRIMARY KEY (id);

ALTER TABLE attachment_pages
    ADD CONSTRAINT attachment_pages_pkey PRIMARY KEY (attachment_id, page);

ALTER TABLE attachment_texts
    ADD CONSTRAINT attachment_texts_pkey PRIMARY KEY (attachment_id);

ALTER TABLE attachments
    ADD CONSTRAINT attachments_pkey PRIMARY KEY (id);

ALTER TABLE audit_logs
    ADD CONSTRAINT audit_logs_pkey PRIMARY KEY (id);

ALTER TABLE business_calendar
    ADD CONSTRAINT business_calendar_pkey PRIMARY KEY (id);

ALTER TABLE case_sla_policies
    ADD CONSTRAINT case_sla_policies_pkey PRIMARY KEY (priority);

ALTER TABLE cases
    ADD CONSTRAINT cases_number_key UNIQUE (number);

ALTER TABLE cases
    ADD CONSTRAINT cases_pkey PRIMARY KEY (id);

ALTER TABLE clause_vectors
    ADD CONSTRAINT clause_vectors_pkey PRIMARY KEY (clause_id);

ALTER TABLE clauses
    ADD CONSTRAINT clauses_pkey PRIMARY KEY (id);

ALTER TABLE comments
    ADD CONSTRAINT comments_pkey PRIMARY KEY (id);

ALTER TABLE contacts
    ADD CONSTRAINT contacts_pkey PRIMARY KEY (id);

ALTER TABLE contract_clauses
    ADD CONSTRAINT contract_clauses_pkey PRIMARY KEY (contract_id, clause_id);

ALTER TABLE contract_imports
    ADD CONSTRAINT contract_imports_attachment_id_key UNIQUE (attachment_id);

ALTER TABLE contract_imports
    ADD CONSTRAINT contract_imports_pkey PRIMARY KEY (contract_id);

ALTER TABLE contract_passages
    ADD CONSTRAINT contract_passages_pkey PRIMARY KEY (id);

ALTER TABLE contract_redactions
    ADD CONSTRAINT contract_redactions_pkey PRIMARY KEY (id);

ALTER TABLE contract_risk
    ADD CONSTRAINT contract_risk_pkey PRIMARY KEY (contract_id);

ALTER TABLE contract_suggestions
    ADD CONSTRAINT contract_suggestions_pkey PRIMARY KEY (id);

ALTER TABLE contract_types
    ADD CONSTRAINT contract_types_pkey PRIMARY KEY (key);

ALTER TABLE contract_versions
    ADD CONSTRAINT contract_versions_pkey PRIMARY KEY (contract_id, version);

ALTER TABLE contracts
    ADD CONSTRAINT contracts_pkey PRIMARY KEY (id);

ALTER TABLE counterparties
    ADD CONSTRAINT counterparties_pkey PRIMARY KEY (id);

ALTER TABLE document_settings
    ADD CONSTRAINT document_settings_pkey PRIMARY KEY (id);

ALTER TABLE generative_requests
    ADD CONSTRAINT generative_requests_pkey PRIMARY KEY (contract_id);

ALTER TABLE generative_settings
    ADD CONSTRAINT generative_settings_pkey PRIMARY KEY (id);

ALTER TABLE generative_summaries
    ADD CONSTRAINT generative_summaries_pkey PRIMARY KEY (contract_id);

ALTER TABLE idempotency_keys
    ADD CONSTRAINT idempotency_keys_pkey PRIMARY KEY (owner_id, key);

ALTER TABLE invoice_counters
    ADD CONSTRAINT invoice_counters_pkey PRIMARY KEY (period);

ALTER TABLE invoice_emails
    ADD CONSTRAINT invoice_emails_pkey PRIMARY KEY (id);

ALTER TABLE invoice_lines
    ADD CONSTRAINT invoice_lines_pkey PRIMARY KEY (invoice_id, "position");

ALTER TABLE invoice_payments
    ADD CONSTRAINT invoice_payments_pkey PRIMARY KEY (id);

ALTER TABLE invoice_settings
    ADD CONSTRAINT invoice_settings_pkey PRIMARY KEY (id);

ALTER TABLE invoices
    ADD CONSTRAINT invoices_pkey PRIMARY KEY (id);

ALTER TABLE leads
    ADD CONSTRAINT leads_pkey PRIMARY KEY (id);

ALTER TABLE notification_defaults
    ADD CONSTRAINT notification_defaults_pkey PRIMARY KEY (id);

ALTER TABLE notification_deliveries
    ADD CONSTRAINT notification_deliveries_notification_channel_key UNIQUE (notification_id, channel);

ALTER TABLE notification_deliveries
    ADD CONSTRAINT notification_deliveries_pkey PRIMARY KEY (id);

ALTER TABLE notification_settings
    ADD CONSTRAINT notification_settings_pkey PRIMARY KEY (user_id);

ALTER TABLE notification_stream_tickets
    ADD CONSTRAINT notification_stream_tickets_pkey PRIMARY KEY (ticket_hash);

ALTER TABLE notifications
    ADD CONSTRAINT notifications_event_recipient_type_key UNIQUE (event_id, recipient_id, type);

ALTER TABLE notifications
    ADD CONSTRAINT notifications_pkey PRIMARY KEY (id);

ALTER TABLE obligation_tasks
    ADD CONSTRAINT obligation_tasks_contract_key UNIQUE (contract_id, obligation_key);

ALTER TABLE obligation_tasks
    ADD CONSTRAINT obligation_tasks_pkey PRIMARY KEY (id);

ALTER TABLE opportunities
    ADD CONSTRAINT opportunities_pkey PRIMARY KEY (id);

ALTER TABLE opportunity_contacts
    ADD CONSTRAINT opportunity_contacts_pkey PRIMARY KEY (opportunity_id, contact_id);

ALTER TABLE out_of_office
    ADD CONSTRAINT out_of_office_pkey PRIMARY KEY (user_id);

ALTER TABLE pipeline_stages
    ADD CONSTRAINT pipeline_stages_pkey PRIMARY KEY (key);

ALTER TABLE redaction_patterns
    ADD CONSTRAINT redaction_patterns_pkey PRIMARY KEY (id);

ALTER TABLE refresh_tokens
    ADD CONSTRAINT refresh_tokens_pkey PRIMARY KEY (id);

ALTER TABLE refresh_tokens
    ADD CONSTRAINT refresh_tokens_token_hash_key UNIQUE (token_hash);

ALTER TABLE risk_policy
    ADD CONSTRAINT risk_policy_pkey PRIMARY KEY (id);

ALTER TABLE role_grants
    ADD CONSTRAINT role_grants_pkey PRIMARY KEY (id);

ALTER TABLE tasks
    ADD CONSTRAINT tasks_pkey PRIMARY KEY (id);

ALTER TABLE team_members
    ADD CONSTRAINT team_members_pkey PRIMARY KEY (team_id, user_id);

ALTER TABLE teams
    ADD CONSTRAINT teams_name_key UNIQUE (name);

ALTER TABLE teams
    ADD CONSTRAINT teams_pkey PRIMARY KEY (id);

ALTER TABLE templates
    ADD CONSTRAINT templates_pkey PRIMARY KEY (id);

ALTER TABLE users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);

ALTER TABLE vector_state
    ADD CONSTRAINT vector_state_pkey PRIMARY KEY (id);

ALTER TABLE webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (id);

ALTER TABLE webhook_endpoints
    ADD CONSTRAINT webhook_endpoints_pkey PRIMARY KEY (id);

ALTER TABLE webhook_messages
    ADD CONSTRAINT webhook_messages_pkey PRIMARY KEY (endpoint_id, event_id);

ALTER TABLE workflow_definition_versions
    ADD CONSTRAINT workflow_definition_versions_pkey PRIMARY KEY (definition_id, version);

ALTER TABLE workflow_definitions
    ADD CONSTRAINT workflow_definitions_pkey PRIMARY KEY (id);

ALTER TABLE workflow_runs
    ADD CONSTRAINT workflow_runs_pkey PRIMARY KEY (id);

ALTER TABLE workflow_settings
    ADD CONSTRAINT workflow_settings_pkey PRIMARY KEY (id);

ALTER TABLE workflow_stages
    ADD CONSTRAINT workflow_stages_pkey PRIMARY KEY (id);

ALTER TABLE workflow_stages
    ADD CONSTRAINT workflow_stages_sequence_key UNIQUE (run_id, sequence);

CREATE INDEX account_contacts_counterparty_idx ON account_contacts USING btree (counterparty_id, contact_id);

CREATE INDEX activities_target_idx ON activities USING btree (target_kind, target_id, occurred_at DESC, id DESC);

CREATE INDEX approvals_approver_idx ON approvals USING btree (approver_id, state);

CREATE INDEX approvals_approver_list_idx ON approvals USING btree (approver_id, created_at DESC, id DESC);

CREATE INDEX approvals_contract_idx ON approvals USING btree (contract_id, created_at DESC, id DESC);

CREATE INDEX approvals_list_idx ON approvals USING btree (created_at DESC, id DESC);

CREATE UNIQUE INDEX approvals_one_pending_per_user_key ON approvals USING btree (stage_id, approver_id) WHERE (state = 'pending'::text);

CREATE INDEX approvals_run_idx ON approvals USING btree (run_id);

CREATE INDEX approvals_stage_idx ON approvals USING btree (stage_id);

CREATE INDEX attachment_pages_search_idx ON attachment_pages USING gin (search);

CREATE INDEX attachments_target_idx ON attachments USING btree (target_kind, target_id, created_at, id);

CREATE INDEX audit_logs_actor_idx ON audit_logs USING btree (actor_id, id);

CREATE INDEX audit_logs_at_idx ON audit_logs USING btree (at DESC, id DESC);

CREATE INDEX audit_logs_commit_order_idx ON audit_logs USING btree (xact, id);

CREATE INDEX audit_logs_entity_idx ON audit_logs USING btree (entity, entity_id, id);

CREATE INDEX audit_logs_event_type_idx ON audit_logs USING btree (event_type, id);

CREATE INDEX cases_account_idx ON cases USING btree (account_id, created_at DESC, id DESC);

CREATE INDEX cases_assignee_idx ON cases USING btree (assignee_id, status);

CREATE INDEX cases_assignee_list_idx ON cases USING btree (assignee_id, created_at DESC, id DESC);

CREATE INDEX cases_contract_idx ON cases USING btree (contract_id, created_at DESC, id DESC);

CREATE INDEX cases_list_idx ON cases USING btree (created_at DESC, id DESC);

CREATE INDEX cases_open_idx ON cases USING btree (status, priority);

CREATE INDEX clauses_body_trgm_idx ON clauses USING gin (body public.gin_trgm_ops);

CREATE INDEX clauses_list_idx ON clauses USING btree (category, lower(title) COLLATE "und-x-icu", id);

CREATE INDEX comments_target_idx ON comments USING btree (target_kind, target_id, created_at, id);

CREATE INDEX contacts_email_keys_idx ON contacts USING gin (email_keys) WITH (fastupdate=off);

CREATE INDEX contacts_name_idx ON contacts USING btree (lower(name) COLLATE "und-x-icu", id);

CREATE INDEX contacts_name_trgm_idx ON contacts USING gin (lower(name) public.gin_trgm_ops);

CREATE INDEX contract_clauses_clause_idx ON contract_clauses USING btree (clause_id);

CREATE INDEX contract_passages_contract_order_idx ON contract_passages USING btree (contract_id, id);

CREATE INDEX contract_redactions_contract_idx ON contract_redactions USING btree (contract_id, created_at, id);

CREATE INDEX contract_suggestions_contract_idx ON contract_suggestions USING btree (contract_id, status);

CREATE INDEX contracts_account_value_idx ON contracts USING btree (counterparty_id, currency) INCLUDE (value) WHERE ((status = ANY (ARRAY['approved'::text, 'executed'::text])) AND (value IS NOT NULL));

CREATE INDEX contracts_counterparty_idx ON contracts USING btree (counterparty_id, created_at DESC, id DESC);

CREATE INDEX contracts_created_idx ON contracts USING btree (created_at DESC, id DESC);

CREATE INDEX contracts_end_date_idx ON contracts USING btree (end_date);

CREATE INDEX contracts_owner_idx ON contracts USING btree (owner_id, created_at DESC, id DESC);

CREATE INDEX contracts_search_idx ON contracts USING gin (search);

CREATE INDEX contracts_shown_redaction_idx ON contracts USING btree (shown_redaction) WHERE (shown_redaction IS NOT NULL);

CREATE INDEX contracts_status_created_idx ON contracts USING btree (status, created_at DESC, id DESC);

CREATE INDEX contracts_status_type_created_idx ON contracts USING btree (status, contract_type, created_at DESC, id DESC);

CREATE INDEX contracts_tags_idx ON contracts USING gin (tags);

CREATE INDEX contracts_title_trgm_idx ON contracts USING gin (lower(title) public.gin_trgm_ops);

CREATE INDEX contracts_type_created_idx ON contracts USING btree (contract_type, created_at DESC, id DESC);

CREATE INDEX contracts_updated_idx ON contracts USING btree (updated_at DESC, id DESC);

CREATE INDEX counterparties_email_domain_idx ON counterparties USING btree (lower(split_part(COALESCE(email, ''::text), '@'::text, 2))) WHERE (email IS NOT NULL);

CREATE INDEX counterparties_list_idx ON counterparties USING btree (lower(name) COLLATE "und-x-icu", id);

CREATE UNIQUE INDEX counterparties_name_key ON counterparties USING btree (lower(name));

CREATE INDEX counterparties_name_trgm_idx ON counterparties USING gin (lower(name) public.gin_trgm_ops);

CREATE INDEX counterparties_owner_idx ON counterparties USING btree (owner_id, lower(name) COLLATE "und-x-icu", id);

CREATE INDEX counterparties_parent_idx ON counterparties USING btree (parent_id, lower(name) COLLATE "und-x-icu", id);

CREATE INDEX counterparties_tags_idx ON counterparties USING gin (tags);

CREATE INDEX counterparties_website_domain_idx ON counterparties USING btree (lower(regexp_replace(regexp_replace(COALESCE(website, ''::text), '^[a-zA-Z][a-zA-Z0-9+.-]*://'::text, ''::text), '^www\.|[/:?#].*$'::text, ''::text, 'g'::text))) WHERE (website IS NOT NULL);

CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys USING btree (expires_at);

CREATE INDEX invoice_emails_invoice_idx ON invoice_emails USING btree (invoice_id, created_at DESC, id DESC);

CREATE INDEX invoice_payments_invoice_idx ON invoice_payments USING btree (invoice_id, paid_on, id);

CREATE INDEX invoices_account_idx ON invoices USING btree (account_id, created_at DESC, id DESC);

CREATE INDEX invoices_contract_idx ON invoices USING btree (contract_id, created_at DESC, id DESC);

CREATE INDEX invoices_created_idx ON invoices USING btree (created_at DESC, id DESC);

CREATE UNIQUE INDEX invoices_number_key ON invoices USING btree (number);

CREATE INDEX invoices_number_trgm_idx ON invoices USING gin (lower(number) public.gin_trgm_ops);

CREATE INDEX invoices_status_due_idx ON invoices USING btree (status, due_date);

CREATE INDEX invoices_status_list_idx ON invoices USING btree (status, created_at DESC, id DESC);

CREATE INDEX leads_created_idx ON leads USING btree (created_at DESC, id DESC);

CREATE INDEX leads_email_key_idx ON leads USING btree (lower(email));

CREATE INDEX leads_name_idx ON leads USING btree (lower(name), id);

CREATE INDEX leads_name_trgm_idx ON leads USING gin (lower(((((name || ' '::text) || COALESCE(company, ''::text)) || ' '::text) || COALESCE(email, ''::text))) public.gin_trgm_ops);

CREATE INDEX leads_owner_idx ON leads USING btree (owner_id, created_at DESC, id DESC);

CREATE INDEX leads_status_idx ON leads USING btree (status, created_at DESC, id DESC);

CREATE INDEX notification_deliveries_digest_idx ON notification_deliveries USING btree (recipient_id, digest_at) WHERE (state = 'digest'::text);

CREATE INDEX notification_deliveries_due_email_idx ON notification_deliveries USING btree (send_after, id) WHERE ((state = 'pending'::text) AND (channel = 'email'::text));

CREATE INDEX notification_stream_tickets_expiry_idx ON notification_stream_tickets USING btree (expires_at);

CREATE INDEX notifications_inbox_idx ON notifications USING btree (recipient_id, id DESC) WHERE (archived_at IS NULL);

CREATE INDEX notifications_unread_idx ON notifications USING btree (recipient_id) WHERE ((read_at IS NULL) AND (archived_at IS NULL));

CREATE INDEX obligation_tasks_due_idx ON obligation_tasks USING btree (status, due_date, id);

CREATE INDEX obligation_tasks_order_idx ON obligation_tasks USING btree (due_date, id);

CREATE INDEX opportunities_account_idx ON opportunities USING btree (account_id, lower(name) COLLATE "und-x-icu", id);

CREATE INDEX opportunities_close_idx ON opportunities USING btree (expected_close_date);

CREATE INDEX opportunities_closed_idx ON opportunities USING btree (closed_at) INCLUDE (stage, owner_id, currency, amount) WHERE (closed_at IS NOT NULL);

CREATE INDEX opportunities_name_idx ON opportunities USING btree (lower(name) COLLATE "und-x-icu", id);

CREATE INDEX opportunities_name_trgm_idx ON opportunities USING gin (lower(name) public.gin_trgm_ops);

CREATE INDEX opportunities_owner_idx ON opportunities USING btree (owner_id, lower(name) COLLATE "und-x-icu", id);

CREATE INDEX opportunities_stage_idx ON opportunities USING btree (stage, amount DESC, id);

CREATE INDEX opportunities_stage_list_idx ON opportunities USING btree (stage, lower(name) COLLATE "und-x-icu", id);

CREATE INDEX opportunity_contacts_contact_idx ON opportunity_contacts USING btree (contact_id);

CREATE UNIQUE INDEX redaction_patterns_name_key ON redaction_patterns USING btree (lower(name));

CREATE INDEX refresh_tokens_family_idx ON refresh_tokens USING btree (family_id);

CREATE INDEX refresh_tokens_user_idx ON refresh_tokens USING btree (user_id);

CREATE INDEX role_grants_live_idx ON role_grants USING btree (user_id) WHERE (ended_at IS NULL);

CREATE INDEX tasks_assignee_due_idx ON tasks USING btree (assignee_id, COALESCE(due_at, 'infinity'::timestamp with time zone), id);

CREATE INDEX tasks_due_idx ON tasks USING btree (COALESCE(due_at, 'infinity'::timestamp with time zone), id);

CREATE INDEX tasks_target_idx ON tasks USING btree (target_kind, target_id, COALESCE(due_at, 'infinity'::timestamp with time zone), id);

CREATE INDEX team_members_user_idx ON team_members USING btree (user_id);

CREATE INDEX templates_list_idx ON templates USING btree (lower(name) COLLATE "und-x-icu", id);

CREATE UNIQUE INDEX templates_name_key ON templates USING btree (lower(name));

CREATE UNIQUE INDEX users_email_key ON users USING btree (lower(email));

CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries USING btree (endpoint_id, id DESC);

CREATE INDEX webhook_endpoints_enabled_idx ON webhook_endpoints USING btree (enabled) WHERE enabled;

CREATE INDEX webhook_messages_undelivered_idx ON webhook_messages USING btree (endpoint_id, created_at) WHERE (state <> 'delivered'::text);

CREATE UNIQUE INDEX workflow_definitions_name_key ON workflow_definitions USING btree (lower(name));

CREATE UNIQUE INDEX workflow_definitions_priority_key ON workflow_definitions USING btree (priority) WHERE is_active;

CREATE INDEX workflow_runs_contract_idx ON workflow_runs USING btree (contract_id, round);

CREATE UNIQUE INDEX workflow_runs_one_running_key ON workflow_runs USING btree (contract_id) WHERE (state = 'running'::text);

CREATE INDEX workflow_runs_started_idx ON workflow_runs USING btree (started_at);

CREATE INDEX workflow_stages_due_idx ON workflow_stages USING btree (due_at) WHERE (state = 'active'::text);

CREATE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON audit_logs FOR EACH STATEMENT EXECUTE FUNCTION audit_logs_refuse_change();

CREATE TRIGGER audit_logs_no_update BEFORE DELETE OR UPDATE ON audit_logs FOR EACH ROW EXECUTE FUNCTION audit_logs_refuse_change();

ALTER TABLE account_contacts
    ADD CONSTRAINT account_contacts_contact_id_fkey FOREIGN KEY (contact_id) REFERENCES contacts(id) ON DELETE CASCADE;

ALTER TABLE account_contacts
    ADD CONSTRAINT account_contacts_counterparty_id_fkey FOREIGN KEY (counterparty_id) REFERENCES counterparties(id) ON DELETE CASCADE;

ALTER TABLE activities
    ADD CONSTRAINT activities_author_id_fkey FOREIGN KEY (author_id) REFERENCES users(id) ON DELETE SET NULL;

ALTER TABLE approvals
    ADD CONSTRAINT approvals_approver_id_fkey FOREIGN KEY (approver_id) REFERENCES users(id);

ALTER TABLE approvals
    ADD CONSTRAINT approvals_delegated_from_fkey FOREIGN KEY (delegated_from) REFERENCES approvals(id);

ALTER TABLE approvals
    ADD CONSTRAINT approvals_stage_id_fkey FOREIGN KEY (stage_id) REFERENCES workflow_stages(id) ON DELETE CASCADE;

ALTER TABLE attachment_pages
    ADD CONSTRAINT attachment_pages_attachment_id_fkey FOREIGN KEY (attachment_id) REFERENCES attachments(id) ON DELETE CASCADE;

ALTER TABLE attachment_texts
    ADD CONSTRAINT attachment_texts_attachment_id_fkey FOREIGN KEY (attachment_id) REFERENCES attachments(id) ON DELETE CASCADE;

ALTER TABLE attachments
    ADD CONSTRAINT attachments_uploaded_by_fkey FOREIGN KEY (uploaded_by) REFERENCES users(id) ON DELETE SET NULL;

ALTER TABLE cases
    ADD CONSTRAINT cases_account_id_fkey FOREIGN KEY (account_id) REFERENCES counterparties(id) ON DELETE RESTRICT;

ALTER TABLE cases
    ADD CONSTRAINT cases_assignee_id_fkey FOREIGN KEY (assignee_id) REFERENCES users(id) ON DELETE SET NULL;

ALTER TABLE cases
    ADD CONSTRAINT cases_contact_id_fkey FOREIGN KEY (contact_id) REFERENCES contacts(id) ON DELETE SET NULL;

ALTER TABLE cases
    ADD CONSTRAINT cases_contract_id_fkey FOREIGN KEY (contract_id) REFERENCES contracts(id) ON DELETE SET NULL;

ALTER TABLE cases
    ADD CONSTRAINT cases_created_by_fkey FOREIGN KEY (created_by) REFERENCES users(id) ON DELETE SET NULL;

ALTER TABLE clause_vectors
    ADD CONSTRAINT clause_vectors_clause_id_fkey FOREIGN KEY (clause_id) REFERENCES clauses(id) ON DELETE CASCADE;

ALTER TABLE clauses
    ADD CONSTRAINT clauses_created_by_fkey FOREIGN KEY (created_by) REFERENCES users(id) ON DELETE SET NULL;

ALTER TABLE comments
    ADD CONSTRAINT comments_author_id_fkey FOREIGN KEY (author_id) REFERENCES users(id) ON DELETE SET NULL;

ALTER TABLE contacts
    ADD CONSTRAINT contacts_created_by_fkey FOREIGN KEY (created_by) REFERENCES users(id) ON DELETE SET NULL;

ALTER TABLE contract_clauses
    ADD CONSTRAINT contract_clauses_clause_id_fkey FOREIGN KEY (clause_id) REFERENCES clauses(id) ON DELETE RESTRICT;

ALTER TABLE contract_clauses
    ADD CONSTRAINT contract_clauses_contract_id_fkey FOREIGN KEY (contract_id) REFERENCES contracts(id) ON DELETE CASCADE;

ALTER TABLE contract_imports
    ADD CONSTRAINT contract_imports_attachment_id_fkey FOREIGN KEY (attachment_id) REFERENCES attachments(id) ON DELETE CASCADE;

ALTER TABLE contract_imports
    ADD CONSTRAINT contract_imports_contract_id_fkey FOREIGN KEY (contract_id) REFERENCES contracts(id) ON DELETE CASCADE;

ALTER TABLE contract_passages
    ADD CONSTRAINT contract_passages_attachment_id_fkey FOREIGN KEY (attachment_id) REFERENCES attachments(id) ON DELETE CASCADE;

ALTER TABLE contract_passages
    ADD CONSTRAINT contract_passages_contract_id_fkey FOREIGN KEY (contract_id) REFERENCES contracts(id) ON DELETE CASCADE;

ALTER TABLE contract_passages
    ADD CONSTRAINT contract_passages_redaction_id_fkey FOREIGN KEY (redaction_id) REFERENCES contract_redactions(id) ON DELETE CASCADE;

ALTER TABLE contract_redactions
    ADD CONSTRAINT contract_redactions_contract_id_fkey FOREIGN KEY (contract_id) REFERENCES contracts(id) ON DELETE CASCADE;

ALTER TABLE contract_redactions
    ADD CONSTRAINT contract_redactions_created_by_fkey FOREIGN KEY (created_by) REFERENCES users(id) ON DELETE SET NULL;

ALTER TABLE contract_risk
    ADD CONSTRAINT contract_risk_contract_id_fkey FOREIGN KEY (contract_id) REFERENCES contracts(id) ON DELETE CASCADE;

ALTER TABLE contract_suggestions
    ADD CONSTRAINT contract_suggestions_attachment_id_fkey FOREIGN KEY (attachment_id) REFERENCES attachments(id) ON DELETE CASCADE;

ALTER TABLE contract_suggestions
    ADD CONSTRAINT contract_suggestions_contract_id_fkey FOREIGN KEY (contract_id) REFERENCES contracts(id) ON DELETE CASCADE;

ALTER TABLE contract_versions
    ADD CONSTRAINT contract_versions_contract_id_fkey FOREIGN KEY (contract_id) REFERENCES contracts(id) ON DELETE CASCADE;

ALTER TABLE contract_versions
    ADD CONSTRAINT contract_versions_created_by_fkey FOREIGN KEY (created_by) REFERENCES users(id) ON DELETE SET NULL;

ALTER TABLE contracts
    ADD CONSTRAINT contracts_contract_type_fkey FOREIGN KEY (contract_type) REFERENCES contract_types(key);

ALTER TABLE contracts
    ADD CONSTRAINT contracts_counterparty_id_fkey FOREIGN KEY (counterparty_id) REFERENCES counterparties(id) ON DELETE RESTRICT;

ALTER TABLE contracts
    ADD CONSTRAINT contracts_created_by_fkey FOREIGN KEY (created_by) REFERENCES users(id) ON DELETE SET NULL;

ALTER TABLE contracts
    ADD CONSTRAINT contracts_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES users(id);

ALTER TABLE contracts
    ADD CONSTRAINT contracts_shown_redaction_fkey FOREIGN KEY (shown_redaction) REFERENCES contract_redactions(id);

ALTER TABLE contracts
    ADD CONSTRAINT contracts_updated_by_fkey FOREIGN KEY (updated_by) REFERENCES users(id) ON DELETE SET NULL;

ALTER TABLE counterparties
    ADD CONSTRAINT counterparties_created_by_fkey FOREIGN KEY (created_by) REFERENCES users(id) ON DELETE SET NULL;

ALTER TABLE counterparties
    ADD CONSTRAINT counterparties_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES users(id) ON DELETE SET NULL;

ALTER TABLE counterparties
    ADD CONSTRAINT counterparties_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES counterparties(id) ON DELETE SET NULL;

ALTER TABLE generative_requests
    ADD CONSTRAINT generative_requests_contract_id_fkey FOREIGN KEY (contract_id) REFERENCES contracts(id) ON DELETE CASCADE;

ALTER TABLE generative_requests
    ADD CONSTRAINT generative_requests_requested_by_fkey FOREIGN KEY (requested_by) REFERENCES users(id) ON DELETE SET NULL;

ALTER TABLE generative_summaries
    ADD CONSTRAINT generative_summaries_contract_id_fkey FOREIGN KEY (contract_id) REFERENCES contracts(id) ON DELETE CASCADE;

ALTER TABLE generative_summaries
    ADD CONSTRAINT generative_summaries_generated_by_fkey FOREIGN KEY (generated_by) REFERENCES users(id) ON DELETE SET NULL;

ALTER TABLE invoice_emails
    ADD CONSTRAINT invoice_emails_invoice_id_fkey FOREIGN KEY (invoice_id) REFERENCES invoices(id) ON DELETE CASCADE;

ALTER TABLE invoice_emails
    ADD CONSTRAINT invoice_emails_requested_by_fkey FOREIGN KEY (requested_by) REFERENCES users(id) ON DELETE SET NULL;

ALTER TABLE invoice_lines
    ADD CONSTRAINT invoice_lines_invoice_id_fkey FOREIGN KEY (invoice_id) REFERENCES invoices(id) ON DELETE CASCADE;

ALTER TABLE invoice_payments
    ADD CONSTRAINT invoice_payments_created_by_fkey FOREIGN KEY (created_by) REFERENCES users(id) ON DELETE SET NULL;

ALTER TABLE invoice_payments
    ADD CONSTRAINT invoice_payments_invoice_id_fkey FOREIGN KEY (invoice_id) REFERENCES invoices(id) ON DELETE CASCADE;

ALTER TABLE invoices
    ADD CONSTRAINT invoices_account_id_fkey FOREIGN KEY (account_id) REFERENCES counterparties(id) ON DELETE RESTRICT;

ALTER TABLE invoices
    ADD CONSTRAINT invoices_contract_id_fkey FOREIGN KEY (contract_id) REFERENCES contracts(id) ON DELETE SET NULL;

ALTER TABLE invoices
    ADD CONSTRAINT invoices_created_by_fkey FOREIGN KEY (created_by) REFERENCES users(id) ON DELETE SET NULL;

ALTER TABLE leads
    ADD CONSTRAINT leads_account_id_fkey FOREIGN KEY (account_id) REFERENCES counterparties(id) ON DELETE SET NULL;

ALTER TABLE leads
    ADD CONSTRAINT leads_contact_id_fkey FOREIGN KEY (contact_id) REFERENCES contacts(id) ON DELETE SET NULL;

ALTER TABLE leads
    ADD CONSTRAINT leads_created_by_fkey FOREIGN KEY (created_by) REFERENCES users(id) ON DELETE SET NULL;

ALTER TABLE leads
    ADD CONSTRAINT leads_opportunity_id_fkey FOREIGN KEY (opportunity_id) REFERENCES opportunities(id) ON DELETE SET NULL;

ALTER TABLE leads
    ADD CONSTRAINT leads_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES users(id) ON DELETE SET NULL;

ALTER TABLE notification_deliveries
    ADD CONSTRAINT notification_deliveries_notification_id_fkey FOREIGN KEY (notification_id) REFERENCES notifications(id) ON DELETE CASCADE;

ALTER TABLE notification_settings
    ADD CONSTRAINT notification_settings_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;

ALTER TABLE notification_stream_tickets
    ADD CONSTRAINT notification_stream_tickets_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;

ALTER TABLE notifications
    ADD CONSTRAINT notifications_recipient_id_fkey FOREIGN KEY (recipient_id) REFERENCES users(id) ON DELETE CASCADE;

ALTER TABLE obligation_tasks
    ADD CONSTRAINT obligation_tasks_attachment_id_fkey FOREIGN KEY (attachment_id) REFERENCES attachments(id) ON DELETE CASCADE;

ALTER TABLE obligation_tasks
    ADD CONSTRAINT obligation_tasks_contract_id_fkey FOREIGN KEY (contract_id) REFERENCES contracts(id) ON DELETE CASCADE;

ALTER TABLE opportunities
    ADD CONSTRAINT opportunities_account_id_fkey FOREIGN KEY (account_id) REFERENCES counterparties(id) ON DELETE RESTRICT;

ALTER TABLE opportunities
    ADD CONSTRAINT opportunities_contract_id_fkey FOREIGN KEY (contract_id) REFERENCES contracts(id) ON DELETE SET NULL;

ALTER TABLE opportunities
    ADD CONSTRAINT opportunities_created_by_fkey FOREIGN KEY (created_by) REFERENCES users(id) ON DELETE SET NULL;

ALTER TABLE opportunities
    ADD CONSTRAINT opportunities_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES users(id) ON DELETE SET NULL;

ALTER TABLE opportunities
    ADD CONSTRAINT opportunities_stage_fkey FOREIGN KEY (stage) REFERENCES pipeline_stages(key) ON DELETE RESTRICT;

ALTER TABLE opportunity_contacts
    ADD CONSTRAINT opportunity_contacts_contact_id_fkey FOREIGN KEY (contact_id) REFERENCES contacts(id) ON DELETE CASCADE;

ALTER TABLE opportunity_contacts
    ADD CONSTRAINT opportunity_contacts_opportunity_id_fkey FOREIGN KEY (opportunity_id) REFERENCES opportunities(id) ON DELETE CASCADE;

ALTER TABLE out_of_office
    ADD CONSTRAINT out_of_office_delegate_id_fkey FOREIGN KEY (delegate_id) REFERENCES users(id) ON DELETE CASCADE;

ALTER TABLE out_of_office
    ADD CONSTRAINT out_of_office_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;

ALTER TABLE refresh_tokens
    ADD CONSTRAINT refresh_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;

ALTER TABLE role_grants
    ADD CONSTRAINT role_grants_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;

ALTER TABLE tasks
    ADD CONSTRAINT tasks_assignee_id_fkey FOREIGN KEY (assignee_id) REFERENCES users(id) ON DELETE SET NULL;

ALTER TABLE tasks
    ADD CONSTRAINT tasks_created_by_fkey FOREIGN KEY (created_by) REFERENCES users(id) ON DELETE SET NULL;

ALTER TABLE tasks
    ADD CONSTRAINT tasks_next_id_fkey FOREIGN KEY (next_id) REFERENCES tasks(id) ON DELETE SET NULL;

ALTER TABLE team_members
    ADD CONSTRAINT team_members_team_id_fkey FOREIGN KEY (team_id) REFERENCES teams(id) ON DELETE CASCADE;

ALTER TABLE team_members
    ADD CONSTRAINT team_members_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;

ALTER TABLE templates
    ADD CONSTRAINT templates_contract_type_fkey FOREIGN KEY (contract_type) REFERENCES contract_types(key);

ALTER TABLE templates
    ADD CONSTRAINT templates_created_by_fkey FOREIGN KEY (created_by) REFERENCES users(id) ON DELETE SET NULL;

ALTER TABLE webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_endpoint_id_fkey FOREIGN KEY (endpoint_id) REFERENCES webhook_endpoints(id) ON DELETE CASCADE;

ALTER TABLE webhook_messages
    ADD CONSTRAINT webhook_messages_endpoint_id_fkey FOREIGN KEY (endpoint_id) REFERENCES webhook_endpoints(id) ON DELETE CASCADE;

ALTER TABLE workflow_definition_versions
    ADD CONSTRAINT workflow_definition_versions_definition_id_fkey FOREIGN KEY (definition_id) REFERENCES workflow_definitions(id) ON DELETE CASCADE;

ALTER TABLE workflow_runs
    ADD CONSTRAINT workflow_runs_contract_id_fkey FOREIGN KEY (contract_id) REFERENCES contracts(id) ON DELETE CASCADE;

ALTER TABLE workflow_runs
    ADD CONSTRAINT workflow_runs_definition_id_fkey FOREIGN KEY (definition_id) REFERENCES workflow_definitions(id) ON DELETE SET NULL;

ALTER TABLE workflow_stages
    ADD CONSTRAINT workflow_stages_run_id_fkey FOREIGN KEY (run_id) REFERENCES workflow_runs(id) ON DELETE CASCADE;

