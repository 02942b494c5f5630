-- The LAN's policy as this node accepted it while it was the server: one row per version, the newest in force.
-- envelope is the exact JSON text the seal covers (seal NULL on a LAN without a cluster key).
CREATE TABLE policy (
    version   INTEGER PRIMARY KEY,
    envelope  TEXT    NOT NULL,
    seal      TEXT,
    stored_at INTEGER NOT NULL -- unix ms
);
