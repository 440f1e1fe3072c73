/* SPDX-License-Identifier: MIT */
/*
 * The SQLite schema as forward migrations: migration N takes user_version N-1 to N. Never edit
 * a released migration; add the next one. Ids are stored as INTEGER (12-digit values), so a
 * table's id is its rowid and ids handed out in increasing order append to the b-tree.
 */
#ifndef HETU_STORE_SQLITE_SCHEMA_H
#define HETU_STORE_SQLITE_SCHEMA_H

static const char *const sqlite_migrations[] = {
    /* 1: everything the API stores */
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
    "INSERT INTO meta VALUES ('next_id', 100000000001);"

    "CREATE TABLE projects ("
    "  id INTEGER PRIMARY KEY, created_at INTEGER NOT NULL, created_by TEXT NOT NULL,"
    "  name TEXT NOT NULL, description TEXT NOT NULL DEFAULT '');"

    "CREATE TABLE tasks ("
    "  id INTEGER PRIMARY KEY,"
    "  project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,"
    "  created_at INTEGER NOT NULL, created_by TEXT NOT NULL, name TEXT NOT NULL,"
    "  description TEXT NOT NULL DEFAULT '', instruction TEXT NOT NULL,"
    "  requirements TEXT NOT NULL DEFAULT '[]', output_json_schema TEXT,"
    "  input_json_schema TEXT, thinking_instruction TEXT);"
    "CREATE INDEX tasks_by_project ON tasks(project_id, id);"

    /* A sample is a TaskRun with its one output. topic_key is the topic path with each segment
     * followed by U+001F, so a prefix of it selects a subtree. */
    "CREATE TABLE samples ("
    "  id INTEGER PRIMARY KEY,"
    "  task_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,"
    "  created_at INTEGER NOT NULL, created_by TEXT NOT NULL,"
    "  input TEXT NOT NULL, input_source_type TEXT NOT NULL, input_source TEXT NOT NULL,"
    "  output_id INTEGER NOT NULL, output_created_at INTEGER NOT NULL, output TEXT NOT NULL,"
    "  output_source_type TEXT NOT NULL, output_source TEXT NOT NULL,"
    "  rating TEXT, rating_score REAL,"
    "  repair_instructions TEXT, repaired_output TEXT,"
    "  intermediate_outputs TEXT NOT NULL DEFAULT '{}', tags TEXT NOT NULL DEFAULT '[]',"
    "  session_id TEXT, topic_key TEXT NOT NULL DEFAULT '',"
    "  input_tokens INTEGER, output_tokens INTEGER, total_tokens INTEGER, cost REAL,"
    "  job_id INTEGER, job_item INTEGER);"
    /* ids increase with creation, so (task_id, id) also orders by creation time */
    "CREATE INDEX samples_by_task ON samples(task_id, id);"
    "CREATE INDEX samples_by_session ON samples(task_id, session_id)"
    "  WHERE session_id IS NOT NULL;"
    "CREATE INDEX samples_by_topic ON samples(task_id, topic_key);"
    "CREATE INDEX samples_by_rating ON samples(task_id, rating_score)"
    "  WHERE rating_score IS NOT NULL;"
    "CREATE UNIQUE INDEX samples_by_job_item ON samples(job_id, job_item)"
    "  WHERE job_id IS NOT NULL;"

    /* Tags again, for the tag filter. A sample's rows here are found through its own tags list
     * (primary-key lookups), so no second index is kept up to date on every insert. */
    "CREATE TABLE sample_tags ("
    "  task_id INTEGER NOT NULL, tag TEXT NOT NULL, sample_id INTEGER NOT NULL,"
    "  PRIMARY KEY (task_id, tag, sample_id)) WITHOUT ROWID;"
    "CREATE TRIGGER samples_untag AFTER DELETE ON samples BEGIN"
    "  DELETE FROM sample_tags WHERE task_id = old.task_id AND sample_id = old.id"
    "    AND tag IN (SELECT value FROM json_each(old.tags));"
    "END;"

    /* The topic tree: parent_key is the parent's topic_key ('' for the root's children). */
    "CREATE TABLE topics ("
    "  id INTEGER PRIMARY KEY,"
    "  task_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,"
    "  parent_key TEXT NOT NULL, name TEXT NOT NULL, name_norm TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  UNIQUE (task_id, parent_key, name_norm));"

    "CREATE TABLE jobs ("
    "  id INTEGER PRIMARY KEY,"
    "  task_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,"
    "  kind TEXT NOT NULL, status TEXT NOT NULL, params TEXT NOT NULL DEFAULT '{}',"
    "  total INTEGER NOT NULL DEFAULT 0, completed INTEGER NOT NULL DEFAULT 0,"
    "  failed INTEGER NOT NULL DEFAULT 0, error TEXT,"
    "  cancel_requested INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER,"
    "  owner TEXT, heartbeat_at INTEGER, cursor INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX jobs_by_task ON jobs(task_id, id);"
    "CREATE INDEX jobs_by_status ON jobs(status, id);"

    /* state: 0 pending, 1 done, 2 failed */
    "CREATE TABLE job_items ("
    "  job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
    "  idx INTEGER NOT NULL, state INTEGER NOT NULL DEFAULT 0, payload TEXT NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0, error TEXT, sample_id INTEGER,"
    "  PRIMARY KEY (job_id, idx)) WITHOUT ROWID;"
    "CREATE INDEX job_items_by_state ON job_items(job_id, state, idx);",

    /* 2: what deduplication and statistics read, derived once at insert (NULL: not known) */
    "ALTER TABLE samples ADD COLUMN input_hash INTEGER;"
    "ALTER TABLE samples ADD COLUMN input_chars INTEGER;"
    "ALTER TABLE samples ADD COLUMN output_chars INTEGER;"
    "ALTER TABLE samples ADD COLUMN input_model TEXT;"
    "ALTER TABLE samples ADD COLUMN input_provider TEXT;"
    "ALTER TABLE samples ADD COLUMN output_model TEXT;"
    "ALTER TABLE samples ADD COLUMN output_provider TEXT;"
    "ALTER TABLE samples ADD COLUMN prompt_method TEXT;",

    /* 3: dataset splits. A split's runs are rows of dataset_split_runs in the split's order
     * (pos) within each part, appended in key order. No index by sample: one would take a
     * random insert per run (a million-run split stored 5x slower); a cursor's position is
     * found by a scan of its part instead. Deleting a sample leaves its row here (the split
     * keeps its ids, as Kiln's does); joins with samples skip it. */
    "CREATE TABLE dataset_splits ("
    "  id INTEGER PRIMARY KEY,"
    "  task_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,"
    "  created_at INTEGER NOT NULL, created_by TEXT NOT NULL, name TEXT NOT NULL,"
    "  description TEXT, split_type TEXT NOT NULL, filter_id TEXT NOT NULL,"
    "  splits TEXT NOT NULL);"
    "CREATE INDEX dataset_splits_by_task ON dataset_splits(task_id, id);"
    "CREATE TABLE dataset_split_runs ("
    "  split_id INTEGER NOT NULL REFERENCES dataset_splits(id) ON DELETE CASCADE,"
    "  part TEXT NOT NULL, pos INTEGER NOT NULL, sample_id INTEGER NOT NULL,"
    "  PRIMARY KEY (split_id, part, pos)) WITHOUT ROWID;",
    /* 4: statistics read this index alone, never the wide rows. It leads with (task_id, id),
     * so it also serves everything samples_by_task did (dropped: one index kept up to date on
     * insert, not two), and a new sample's entry lands at the end of its task's range. The
     * input hashes are read from it too (exact duplicates): an index keyed by the hash would
     * take a random b-tree write per sample on every import. */
    "CREATE INDEX samples_stats ON samples(task_id, id, input_chars, output_chars,"
    "  input_source_type, input_model, input_provider, output_model, output_provider,"
    "  prompt_method, rating_score, rating, input_tokens, output_tokens,"
    "  total_tokens, cost, input_hash);"
    "DROP INDEX samples_by_task;",
    /* 5: near duplicates. A sample's MinHash signature (params: how it was made), its LSH band
     * keys (per band rows, so another threshold's banding is made from the stored signature),
     * looked up by key; the clusters a job found. */
    "CREATE TABLE sample_signatures ("
    "  sample_id INTEGER PRIMARY KEY REFERENCES samples(id) ON DELETE CASCADE,"
    "  task_id INTEGER NOT NULL, params TEXT NOT NULL, sig BLOB NOT NULL);"
    "CREATE TABLE sample_bands ("
    "  task_id INTEGER NOT NULL, rows INTEGER NOT NULL, band INTEGER NOT NULL,"
    "  key INTEGER NOT NULL, sample_id INTEGER NOT NULL,"
    "  PRIMARY KEY (task_id, rows, band, key, sample_id)) WITHOUT ROWID;"
    "CREATE INDEX sample_bands_by_sample ON sample_bands(sample_id, rows);"
    "CREATE TRIGGER samples_unband AFTER DELETE ON samples BEGIN"
    "  DELETE FROM sample_bands WHERE sample_id = old.id;"
    "END;"
    "CREATE TABLE duplicate_clusters ("
    "  job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
    "  cluster INTEGER NOT NULL, sample_id INTEGER NOT NULL, similarity REAL NOT NULL,"
    "  PRIMARY KEY (job_id, cluster, sample_id)) WITHOUT ROWID;",
    /* 6: API keys: the salted SHA-256 of each key, never the key (auth/keys.c). A key names
     * its project by id alone (no foreign key): deleting the project leaves the key, which then
     * reaches nothing. */
    "CREATE TABLE api_keys ("
    "  id INTEGER PRIMARY KEY, name TEXT NOT NULL, project_id INTEGER,"
    "  admin INTEGER NOT NULL, salt BLOB NOT NULL, hash BLOB NOT NULL,"
    "  created_at INTEGER NOT NULL, revoked_at INTEGER);",
    /* 7: jobs in stages and the judge. An item's stage (NULL for an import's items), what it
     * produced and what its model calls spent (cost NULL: a price was unknown). The index lets
     * a driver take a stage's pending items in order and sums a job's stages without reading
     * the payloads. A judge's rating is kept apart from the person's, in the same shape. */
    "ALTER TABLE job_items ADD COLUMN stage TEXT;"
    "ALTER TABLE job_items ADD COLUMN produced INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE job_items ADD COLUMN calls INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE job_items ADD COLUMN input_tokens INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE job_items ADD COLUMN output_tokens INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE job_items ADD COLUMN cached_tokens INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE job_items ADD COLUMN cost REAL DEFAULT 0;"
    "CREATE INDEX job_items_by_stage ON job_items(job_id, stage, state, idx, produced, calls,"
    "  input_tokens, output_tokens, cached_tokens, cost);"
    "ALTER TABLE samples ADD COLUMN judge_rating TEXT;"
    "ALTER TABLE samples ADD COLUMN judge_score REAL;"
    "CREATE INDEX samples_by_judge ON samples(task_id, judge_score)"
    "  WHERE judge_score IS NOT NULL;",
};

#endif
