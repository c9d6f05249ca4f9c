-- Scanned PDFs and images are read by OCR page by page, each page a job: while pages
-- are being recognised the text is `recognizing`, with how many pages OCR has to read
-- and has read, the languages it reads them in, and the SHA-256 of the searchable PDF
-- (the scan with its recognised text as a layer) kept beside the original, if made.
alter table attachment_texts drop constraint attachment_texts_state_check;

alter table attachment_texts add constraint attachment_texts_state_check
    check (state in ('pending', 'recognizing', 'extracted', 'failed', 'unsupported'));

alter table attachment_texts add column ocr_pages_total integer not null default 0;

alter table attachment_texts add column ocr_pages_done integer not null default 0;

alter table attachment_texts add column ocr_languages text[] not null default '{}';

alter table attachment_texts add column searchable_pdf_sha256 text;

-- The tenant's document settings, one row: the languages OCR reads in (Tesseract's
-- names, `eng` by default), and the tenant's own bounds on uploads, below the
-- server's: the largest file and the most files kept (null: the server's bound only).
create table document_settings (
    id               boolean primary key default true constraint document_settings_single check (id),
    ocr_languages    text[] not null default '{eng}'
                     constraint document_settings_languages_count check (cardinality(ocr_languages) between 1 and 8),
    max_file_bytes   bigint constraint document_settings_max_file_bytes_check check (max_file_bytes > 0),
    max_files        integer constraint document_settings_max_files_check check (max_files >= 0),
    updated_at       timestamptz not null
);
