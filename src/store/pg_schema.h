/* SPDX-License-Identifier: MIT */
/*
 * The PostgreSQL schema as forward migrations, one for one with sqlite_schema.h up to 7:
 * migration N takes hetu_schema.version N-1 to N, with the same tables and columns. Never edit
 * a released migration; add the next one, here and in sqlite_schema.h together. From 8 on,
 * some are PostgreSQL's alone (what only a store several servers share needs).
 *
 * Types: ids, times (microseconds) and counts BIGINT; ratings, scores and costs DOUBLE
 * PRECISION; flags BOOLEAN; bytes BYTEA; JSON the store treats as text stays TEXT (it is
 * written and read back verbatim, never queried inside). SQLite's triggers are trigger functions.
 */
#ifndef HETU_STORE_PG_SCHEMA_H
#define HETU_STORE_PG_SCHEMA_H

/* Created before the migrations, under the advisory lock; version 0 is an empty database. */
#define PG_SCHEMA_TABLE                                                                         \
    "CREATE TABLE IF NOT EXISTS hetu_schema (one BOOLEAN PRIMARY KEY DEFAULT true CHECK (one)," \
    "  version INTEGER NOT NULL);"                                                              \
    "INSERT INTO hetu_schema (version) VALUES (0) ON CONFLICT DO NOTHING;"

static const char *const pg_migrations[] = {
    /* 1: everything the API stores */
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL);"
    "INSERT INTO meta VALUES ('next_id', 100000000001);"

    "CREATE TABLE projects ("
    "  id BIGINT PRIMARY KEY, created_at BIGINT NOT NULL, created_by TEXT NOT NULL,"
    "  name TEXT NOT NULL, description TEXT NOT NULL DEFAULT '');"

    "CREATE TABLE tasks ("
    "  id BIGINT PRIMARY KEY,"
    "  project_id BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,"
    "  created_at BIGINT NOT NULL, created_by TEXT NOT NULL, name TEXT NOT NULL,"
    "  description TEXT NOT NULL DEFAULT '', instruction TEXT NOT NULL,"
    "  requirements TEXT NOT NULL DEFAULT '[]', output_json_schema TEXT,"
    "  input_json_schema TEXT, thinking_instruction TEXT);"
    "CREATE INDEX tasks_by_project ON tasks(project_id, id);"

    "CREATE TABLE samples ("
    "  id BIGINT PRIMARY KEY,"
    "  task_id BIGINT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,"
    "  created_at BIGINT NOT NULL, created_by TEXT NOT NULL,"
    "  input TEXT NOT NULL, input_source_type TEXT NOT NULL, input_source TEXT NOT NULL,"
    "  output_id BIGINT NOT NULL, output_created_at BIGINT NOT NULL, output TEXT NOT NULL,"
    "  output_source_type TEXT NOT NULL, output_source TEXT NOT NULL,"
    "  rating TEXT, rating_score DOUBLE PRECISION,"
    "  repair_instructions TEXT, repaired_output TEXT,"
    "  intermediate_outputs TEXT NOT NULL DEFAULT '{}', tags TEXT NOT NULL DEFAULT '[]',"
    "  session_id TEXT, topic_key TEXT NOT NULL DEFAULT '',"
    "  input_tokens BIGINT, output_tokens BIGINT, total_tokens BIGINT, cost DOUBLE PRECISION,"
    "  job_id BIGINT, job_item BIGINT);"
    "CREATE INDEX samples_by_task ON samples(task_id, id);"
    "CREATE INDEX samples_by_session ON samples(task_id, session_id)"
    "  WHERE session_id IS NOT NULL;"
    /* C collation: a prefix range of topic_key is a byte range, as in SQLite */
    "CREATE INDEX samples_by_topic ON samples(task_id, topic_key COLLATE \"C\");"
    "CREATE INDEX samples_by_rating ON samples(task_id, rating_score)"
    "  WHERE rating_score IS NOT NULL;"
    "CREATE UNIQUE INDEX samples_by_job_item ON samples(job_id, job_item)"
    "  WHERE job_id IS NOT NULL;"

    "CREATE TABLE sample_tags ("
    "  task_id BIGINT NOT NULL, tag TEXT NOT NULL, sample_id BIGINT NOT NULL,"
    "  PRIMARY KEY (task_id, tag, sample_id));"
    "CREATE FUNCTION samples_untag() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    "  DELETE FROM sample_tags WHERE task_id = old.task_id AND sample_id = old.id"
    "    AND tag IN (SELECT json_array_elements_text(old.tags::json));"
    "  RETURN NULL;"
    "END $$;"
    "CREATE TRIGGER samples_untag AFTER DELETE ON samples"
    "  FOR EACH ROW EXECUTE FUNCTION samples_untag();"

    "CREATE TABLE topics ("
    "  id BIGINT PRIMARY KEY,"
    "  task_id BIGINT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,"
    "  parent_key TEXT NOT NULL, name TEXT NOT NULL, name_norm TEXT NOT NULL,"
    "  created_at BIGINT NOT NULL,"
    "  UNIQUE (task_id, parent_key, name_norm));"

    "CREATE TABLE jobs ("
    "  id BIGINT PRIMARY KEY,"
    "  task_id BIGINT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,"
    "  kind TEXT NOT NULL, status TEXT NOT NULL, params TEXT NOT NULL DEFAULT '{}',"
    "  total BIGINT NOT NULL DEFAULT 0, completed BIGINT NOT NULL DEFAULT 0,"
    "  failed BIGINT NOT NULL DEFAULT 0, error TEXT,"
    "  cancel_requested BOOLEAN NOT NULL DEFAULT false,"
    "  created_at BIGINT NOT NULL, started_at BIGINT, finished_at BIGINT,"
    "  owner TEXT, heartbeat_at BIGINT, cursor BIGINT NOT NULL DEFAULT 0);"
    "CREATE INDEX jobs_by_task ON jobs(task_id, id);"
    "CREATE INDEX jobs_by_status ON jobs(status, id);"

    /* state: 0 pending, 1 done, 2 failed */
    "CREATE TABLE job_items ("
    "  job_id BIGINT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
    "  idx BIGINT NOT NULL, state SMALLINT NOT NULL DEFAULT 0, payload TEXT NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0, error TEXT, sample_id BIGINT,"
    "  PRIMARY KEY (job_id, idx));"
    "CREATE INDEX job_items_by_state ON job_items(job_id, state, idx);",

    /* 2: what deduplication and statistics read, derived once at insert (NULL: not known) */
    "ALTER TABLE samples ADD COLUMN input_hash BIGINT, ADD COLUMN input_chars BIGINT,"
    "  ADD COLUMN output_chars BIGINT, ADD COLUMN input_model TEXT,"
    "  ADD COLUMN input_provider TEXT, ADD COLUMN output_model TEXT,"
    "  ADD COLUMN output_provider TEXT, ADD COLUMN prompt_method TEXT;",

    /* 3: dataset splits (see sqlite_schema.h) */
    "CREATE TABLE dataset_splits ("
    "  id BIGINT PRIMARY KEY,"
    "  task_id BIGINT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,"
    "  created_at BIGINT NOT NULL, created_by TEXT NOT NULL, name TEXT NOT NULL,"
    "  description TEXT, split_type TEXT NOT NULL, filter_id TEXT NOT NULL,"
    "  splits TEXT NOT NULL);"
    "CREATE INDEX dataset_splits_by_task ON dataset_splits(task_id, id);"
    "CREATE TABLE dataset_split_runs ("
    "  split_id BIGINT NOT NULL REFERENCES dataset_splits(id) ON DELETE CASCADE,"
    "  part TEXT NOT NULL, pos BIGINT NOT NULL, sample_id BIGINT NOT NULL,"
    "  PRIMARY KEY (split_id, part, pos));",

    /* 4: the statistics index (see sqlite_schema.h); PostgreSQL reads it in index-only scans
     * once the table is vacuumed */
    "CREATE INDEX samples_stats ON samples(task_id, id, input_chars, output_chars,"
    "  input_source_type, input_model, input_provider, output_model, output_provider,"
    "  prompt_method, rating_score, rating, input_tokens, output_tokens,"
    "  total_tokens, cost, input_hash);"
    "DROP INDEX samples_by_task;",

    /* 5: near duplicates (see sqlite_schema.h) */
    "CREATE TABLE sample_signatures ("
    "  sample_id BIGINT PRIMARY KEY REFERENCES samples(id) ON DELETE CASCADE,"
    "  task_id BIGINT NOT NULL, params TEXT NOT NULL, sig BYTEA NOT NULL);"
    "CREATE TABLE sample_bands ("
    "  task_id BIGINT NOT NULL, rows INTEGER NOT NULL, band INTEGER NOT NULL,"
    "  key BIGINT NOT NULL, sample_id BIGINT NOT NULL,"
    "  PRIMARY KEY (task_id, rows, band, key, sample_id));"
    "CREATE INDEX sample_bands_by_sample ON sample_bands(sample_id, rows);"
    "CREATE FUNCTION samples_unband() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    "  DELETE FROM sample_bands WHERE sample_id = old.id;"
    "  RETURN NULL;"
    "END $$;"
    "CREATE TRIGGER samples_unband AFTER DELETE ON samples"
    "  FOR EACH ROW EXECUTE FUNCTION samples_unband();"
    "CREATE TABLE duplicate_clusters ("
    "  job_id BIGINT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
    "  cluster BIGINT NOT NULL, sample_id BIGINT NOT NULL, similarity DOUBLE PRECISION NOT NULL,"
    "  PRIMARY KEY (job_id, cluster, sample_id));",

    /* 6: API keys: the salted SHA-256 of each key, never the key (see sqlite_schema.h) */
    "CREATE TABLE api_keys ("
    "  id BIGINT PRIMARY KEY, name TEXT NOT NULL, project_id BIGINT,"
    "  admin BOOLEAN NOT NULL, salt BYTEA NOT NULL, hash BYTEA NOT NULL,"
    "  created_at BIGINT NOT NULL, revoked_at BIGINT);",

    /* 7: jobs in stages and the judge (see sqlite_schema.h) */
    "ALTER TABLE job_items ADD COLUMN stage TEXT,"
    "  ADD COLUMN produced BIGINT NOT NULL DEFAULT 0, ADD COLUMN calls BIGINT NOT NULL DEFAULT 0,"
    "  ADD COLUMN input_tokens BIGINT NOT NULL DEFAULT 0,"
    "  ADD COLUMN output_tokens BIGINT NOT NULL DEFAULT 0,"
    "  ADD COLUMN cached_tokens BIGINT NOT NULL DEFAULT 0,"
    "  ADD COLUMN cost DOUBLE PRECISION DEFAULT 0;"
    "CREATE INDEX job_items_by_stage ON job_items(job_id, stage, state, idx, produced, calls,"
    "  input_tokens, output_tokens, cached_tokens, cost);"
    "ALTER TABLE samples ADD COLUMN judge_rating TEXT, ADD COLUMN judge_score DOUBLE PRECISION;"
    "CREATE INDEX samples_by_judge ON samples(task_id, judge_score)"
    "  WHERE judge_score IS NOT NULL;",

    /* 8 (PostgreSQL only: one server owns a SQLite store): the queue several servers share.
     * Each server that claims work has a row in hetu_servers, live until lease_until
     * (microseconds on the database's clock) and renewed while it runs; an item is claimed by
     * a server (claimed_by, its owner name), a job held by one (jobs.owner), for as long as that
     * server's row is live. Payloads become bytes (a file import's items are binary records).
     * samples_by_job_item (1) keeps each item to one sample. */
    "CREATE TABLE hetu_servers (owner TEXT PRIMARY KEY, lease_until BIGINT NOT NULL);"
    "ALTER TABLE job_items ADD COLUMN claimed_by TEXT,"
    "  ALTER COLUMN payload TYPE BYTEA USING convert_to(payload, 'UTF8');"
    "CREATE INDEX job_items_by_claim ON job_items(claimed_by) WHERE claimed_by IS NOT NULL;"
    "CREATE INDEX jobs_by_owner ON jobs(owner) WHERE owner IS NOT NULL;",

    /* 9 (PostgreSQL only): a job's results counted per server, and its claims by server. Each
     * server adds the results it records to its own row, so servers finishing items of one job
     * never wait on one counter row; a job's counts are its jobs row's (loads, stages) plus the sum
     * of these. */
    "CREATE TABLE job_counts ("
    "  job_id BIGINT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
    "  owner TEXT NOT NULL,"
    "  completed BIGINT NOT NULL DEFAULT 0, failed BIGINT NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (job_id, owner));"
    /* a job's claimed items, for the claims of servers whose lease lapsed */
    "CREATE INDEX job_items_by_job_claim ON job_items(job_id, claimed_by, idx)"
    "  WHERE claimed_by IS NOT NULL;",
};

#endif
