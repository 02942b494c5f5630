-- Piece hashes of a stored blob: SHA-256 of each piece_size-byte piece (the last one shorter), concatenated 32 bytes
-- each, in order. Written with the blob (same transaction) or computed later for a blob stored before this table;
-- removed with the blob.
CREATE TABLE blob_pieces (
    sha256     TEXT    PRIMARY KEY,
    piece_size INTEGER NOT NULL,
    hashes     BLOB    NOT NULL
) WITHOUT ROWID;
