-- Next occurrences the recurrence role has made, by id (derived from the completed occurrence):
-- each is made once, also when it has been deleted since, so completing its predecessor again
-- after a reopen does not bring it back. One short row per occurrence made, kept like the tasks.
CREATE TABLE occurrences_made (
    id        TEXT PRIMARY KEY,
    series_id TEXT NOT NULL,
    made_at   TEXT NOT NULL
);
INSERT INTO occurrences_made (id, series_id, made_at)
    SELECT id, series_id, created_at FROM tasks WHERE occurrence_index > 1 AND series_id IS NOT NULL;
