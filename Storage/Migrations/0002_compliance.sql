-- The LAN server's compliance records: each node's latest report (one row per node) and the state of each patch in it.
CREATE TABLE compliance_nodes (
    node_id     TEXT    PRIMARY KEY,
    hostname    TEXT    NOT NULL,
    ring        TEXT,
    os_version  TEXT    NOT NULL,
    pass_id     TEXT,
    reported_at INTEGER,          -- unix ms, the node's clock (null: only known from another node's hand-over)
    last_seen   INTEGER NOT NULL  -- unix ms, the server's clock
) WITHOUT ROWID;

CREATE TABLE compliance_patches (
    node_id    TEXT    NOT NULL REFERENCES compliance_nodes (node_id) ON DELETE CASCADE,
    patch_name TEXT    NOT NULL,
    state      TEXT    NOT NULL, -- applied | pending | failed | held
    detail     TEXT,             -- the error of a failed patch, why a held one is held
    since      INTEGER NOT NULL, -- unix ms, server clock: first report of this state
    PRIMARY KEY (node_id, patch_name)
) WITHOUT ROWID;
