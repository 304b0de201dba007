-- Search the same way on both backends: words are runs of letters and digits. The 'simple'
-- parser alone would keep "bob@example.com" as one token, which a search for "example"
-- would miss (SQLite's tokenizer splits it).
DROP INDEX tasks_search;
ALTER TABLE tasks DROP COLUMN search;
ALTER TABLE tasks ADD COLUMN search tsvector GENERATED ALWAYS AS (
    to_tsvector('simple', regexp_replace(title || ' ' || description, '[^[:alnum:]]+', ' ', 'g'))
) STORED;
CREATE INDEX tasks_search ON tasks USING GIN (search);
