-- Text read from an image by OCR: how it was read (`text` for a file's own text, `ocr`
-- for recognised text) and, per page, the recogniser's mean confidence (0-100).
alter table attachment_texts
    add column method text not null default 'text'
    constraint attachment_texts_method_check check (method in ('text', 'ocr'));

alter table attachment_pages add column confidence real;
