-- Patch database: (os_version, patch_name, sha256) -> installer blob. A row exists only while its blob does.
CREATE TABLE patches (
    os_version   TEXT    NOT NULL,
    patch_name   TEXT    NOT NULL,
    sha256       TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    upstream_url TEXT,
    added_at     INTEGER NOT NULL, -- unix ms
    added_by     TEXT    NOT NULL, -- node id
    hits         INTEGER NOT NULL DEFAULT 0,
    last_hit     INTEGER,          -- unix ms
    PRIMARY KEY (os_version, patch_name, sha256)
) WITHOUT ROWID;
CREATE INDEX patches_by_sha ON patches (sha256);

-- Content-addressed blobs present in the blob store.
CREATE TABLE blobs (
    sha256      TEXT    PRIMARY KEY,
    size        INTEGER NOT NULL,
    stored_at   INTEGER NOT NULL,
    last_access INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX blobs_by_access ON blobs (last_access);

-- Patches this node has applied (so a second pass applies nothing).
CREATE TABLE applied (
    os_version TEXT    NOT NULL,
    patch_name TEXT    NOT NULL,
    sha256     TEXT    NOT NULL,
    applied_at INTEGER NOT NULL,
    PRIMARY KEY (os_version, patch_name, sha256)
) WITHOUT ROWID;

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
