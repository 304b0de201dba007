-- The processes that run each consumer role, as each process announces itself every few
-- seconds: `taskstream status` counts a role's members here, whatever the broker (not every
-- broker lists a consumer group's members). A row not renewed for a while belongs to a process
-- that is gone; rows older than a day are deleted by the next announcement.
CREATE TABLE role_members (
    role       TEXT NOT NULL,
    instance   TEXT NOT NULL,   -- TASKSTREAM_INSTANCE_ID, or an id the process drew at start
    host       TEXT NOT NULL,
    pid        BIGINT NOT NULL,
    state      TEXT NOT NULL,   -- starting | consuming | waiting
    started_at TEXT NOT NULL,
    seen_at    TEXT NOT NULL,
    PRIMARY KEY (role, instance)
);
