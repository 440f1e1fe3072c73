/* SPDX-License-Identifier: MIT */
/*
 * The ceiling of benchmark "import": the fastest a minimal program stores the rows of an import
 * file in SQLite. It reads a JSONL file of {"input", "output", "topic_path"} lines (json-c, as
 * the server does), and inserts each row into the server's samples table (the store's own schema,
 * store/sqlite_schema.h, so the ceiling follows the table as it changes) through one prepared
 * statement, in WAL mode with synchronous=NORMAL, committing every 10,000 rows. By default the
 * table keeps the schema's indexes and each row gets its two tags (what the server must maintain
 * for every sample), and an input hash (its value spread as the server's is, so the index on it
 * costs what it costs the server; the server hashes the input's normal form, this the bytes);
 * --bare drops the samples indexes and the tags (the table alone).
 *
 *   bench-import-ceiling [--bare] FILE.jsonl DB
 *
 * Prints "rows=N seconds=S rows_per_s=R".
 */
#include <json-c/json.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/sqlite_schema.h"
#include "util/banned.h"

#define COMMIT_EVERY 10000

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 64-bit FNV-1a, never 0. */
static int64_t hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return (int64_t)(h ? h : 1);
}

static void die(sqlite3 *db, const char *what)
{
    fprintf(stderr, "bench-import-ceiling: %s: %s\n", what, db ? sqlite3_errmsg(db) : "");
    exit(1);
}

static void exec(sqlite3 *db, const char *sql)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        die(db, sql);
}

/* The server's own schema: every migration of the store, applied in order. */
static void create_schema(sqlite3 *db, int bare)
{
    sqlite3_stmt *q;
    char *drop;

    for (size_t i = 0; i < sizeof(sqlite_migrations) / sizeof(sqlite_migrations[0]); i++)
        exec(db, sqlite_migrations[i]);
    if (!bare)
        return;
    /* The table alone: drop whatever indexes the schema keeps on samples. */
    if (sqlite3_prepare_v2(db,
                           "SELECT group_concat('DROP INDEX ' || quote(name), ';') FROM"
                           " sqlite_master WHERE type = 'index' AND tbl_name = 'samples'"
                           " AND sql IS NOT NULL",
                           -1, &q, NULL) != SQLITE_OK ||
        sqlite3_step(q) != SQLITE_ROW)
        die(db, "list indexes");
    drop = sqlite3_column_text(q, 0) ? strdup((const char *)sqlite3_column_text(q, 0)) : NULL;
    sqlite3_finalize(q); /* (a table is locked while a statement reads it) */
    if (drop)
        exec(db, drop);
    free(drop);
}

int main(int argc, char **argv)
{
    int bare = argc > 1 && strcmp(argv[1], "--bare") == 0;
    const char *path, *dbpath;
    sqlite3 *db = NULL;
    sqlite3_stmt *ins = NULL, *tag = NULL;
    FILE *f;
    char *line = NULL, topic_key[4096], source[8192];
    size_t cap = 0, rows = 0;
    ssize_t len;
    int64_t id = 1000000000000LL;
    double t0, secs;

    if (argc != 3 + bare) {
        fprintf(stderr, "usage: bench-import-ceiling [--bare] FILE.jsonl DB\n");
        return 2;
    }
    path = argv[1 + bare];
    dbpath = argv[2 + bare];
    unlink(dbpath);
    if (!(f = fopen(path, "r"))) {
        perror(path);
        return 1;
    }
    if (sqlite3_open(dbpath, &db) != SQLITE_OK)
        die(db, "open");
    exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
    create_schema(db, bare);
    if (sqlite3_prepare_v2(
            db,
            "INSERT INTO samples (id, task_id, created_at, created_by, input, input_source_type,"
            " input_source, output_id, output_created_at, output, output_source_type,"
            " output_source, intermediate_outputs, tags, session_id, topic_key, input_hash)"
            " VALUES (?1, 1, ?2, 'bench', ?3, 'file_import', ?4, ?5, ?2, ?6,"
            " 'file_import', ?7, '{}', '[\"imported\",\"imported_bench\"]', 'bench', ?8, ?9)",
            -1, &ins, NULL) != SQLITE_OK)
        die(db, "prepare");
    if (!bare && sqlite3_prepare_v2(db,
                                    "INSERT INTO sample_tags (task_id, tag, sample_id) VALUES "
                                    "(1, ?1, ?2)",
                                    -1, &tag, NULL) != SQLITE_OK)
        die(db, "prepare tags");

    t0 = now_s();
    exec(db, "BEGIN");
    while ((len = getline(&line, &cap, f)) > 0) {
        struct json_object *o = json_tokener_parse(line), *in, *out, *tp;
        const char *input, *output;
        size_t klen = 0, slen;
        struct timespec ts;
        int64_t us;

        if (!o || !json_object_object_get_ex(o, "input", &in) ||
            !json_object_object_get_ex(o, "output", &out)) {
            fprintf(stderr, "bench-import-ceiling: bad line %zu\n", rows + 1);
            return 1;
        }
        input = json_object_get_string(in);
        output = json_object_get_string(out);
        topic_key[0] = '\0';
        if (json_object_object_get_ex(o, "topic_path", &tp) &&
            json_object_is_type(tp, json_type_array))
            for (size_t i = 0; i < json_object_array_length(tp); i++)
                klen += (size_t)snprintf(topic_key + klen, sizeof(topic_key) - klen, "%s\x1f",
                                         json_object_get_string(json_object_array_get_idx(tp, i)));
        slen = (size_t)snprintf(source, sizeof(source), "{\"file_name\":\"bench.jsonl\"}");
        clock_gettime(CLOCK_REALTIME, &ts);
        us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
        sqlite3_bind_int64(ins, 1, ++id);
        sqlite3_bind_int64(ins, 2, us);
        sqlite3_bind_text(ins, 3, input, json_object_get_string_len(in), SQLITE_STATIC);
        sqlite3_bind_text(ins, 4, source, (int)slen, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 5, ++id);
        sqlite3_bind_text(ins, 6, output, json_object_get_string_len(out), SQLITE_STATIC);
        sqlite3_bind_text(ins, 7, source, (int)slen, SQLITE_STATIC);
        sqlite3_bind_text(ins, 8, topic_key, (int)strlen(topic_key), SQLITE_STATIC);
        sqlite3_bind_int64(ins, 9, hash(input, (size_t)json_object_get_string_len(in)));
        if (sqlite3_step(ins) != SQLITE_DONE)
            die(db, "insert");
        sqlite3_reset(ins);
        for (int t = 0; tag && t < 2; t++) {
            sqlite3_bind_text(tag, 1, t ? "imported_bench" : "imported", -1, SQLITE_STATIC);
            sqlite3_bind_int64(tag, 2, id - 1);
            if (sqlite3_step(tag) != SQLITE_DONE)
                die(db, "insert tag");
            sqlite3_reset(tag);
        }
        json_object_put(o);
        if (++rows % COMMIT_EVERY == 0) {
            exec(db, "COMMIT");
            exec(db, "BEGIN");
        }
    }
    exec(db, "COMMIT");
    secs = now_s() - t0;
    printf("rows=%zu seconds=%.3f rows_per_s=%.0f\n", rows, secs, (double)rows / secs);
    free(line);
    fclose(f);
    sqlite3_finalize(ins);
    sqlite3_finalize(tag);
    sqlite3_close(db);
    return 0;
}
