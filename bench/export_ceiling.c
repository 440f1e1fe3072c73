/* SPDX-License-Identifier: MIT */
/*
 * The ceiling of benchmark "export": reads a task's samples from a Hetu SQLite file with one
 * prepared statement (id order, the order an export writes) and writes the openai_chat_jsonl
 * line of each to stdout, the way Kiln writes it (json.dumps with ensure_ascii=False: ", " and
 * ": " separators, raw UTF-8, \uXXXX for other control characters). No server, no paging, no
 * format table: the least work that produces the same bytes.
 *
 * Usage: bench-export-ceiling DB TASK_ID SYSTEM_MESSAGE > out.jsonl
 * Prints "rows N bytes M" on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#define OUT_BUF (1u << 20)

static char out[OUT_BUF];
static size_t used;
static long long written;

static void flush(void)
{
    if (used && fwrite(out, 1, used, stdout) != used) {
        perror("write");
        exit(1);
    }
    written += (long long)used;
    used = 0;
}

static void put(const char *s, size_t n)
{
    if (used + n > OUT_BUF) {
        flush();
        if (n > OUT_BUF) {
            if (fwrite(s, 1, n, stdout) != n)
                exit(1);
            written += (long long)n;
            return;
        }
    }
    memcpy(out + used, s, n);
    used += n;
}

static void put_json_string(const unsigned char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;

    put("\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        const char *esc = NULL;
        char u[6];

        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        put((const char *)s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        default:
            memcpy(u, "\\u00", 4);
            u[4] = hex[c >> 4];
            u[5] = hex[c & 15];
            put(u, 6);
            continue;
        }
        put(esc, 2);
    }
    put((const char *)s + run, n - run);
    put("\"", 1);
}

#define LIT(s) put(s, sizeof(s) - 1)

int main(int argc, char **argv)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    long long rows = 0;
    int rc;

    if (argc != 4) {
        fprintf(stderr, "usage: %s DB TASK_ID SYSTEM_MESSAGE\n", argv[0]);
        return 2;
    }
    if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT input, output FROM samples WHERE task_id = ?1 ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", argv[1], sqlite3_errmsg(db));
        return 1;
    }
    sqlite3_bind_int64(st, 1, strtoll(argv[2], NULL, 10));
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        LIT("{\"messages\": [{\"role\": \"system\", \"content\": ");
        put_json_string((const unsigned char *)argv[3], strlen(argv[3]));
        LIT("}, {\"role\": \"user\", \"content\": ");
        put_json_string(sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0));
        LIT("}, {\"role\": \"assistant\", \"content\": ");
        put_json_string(sqlite3_column_text(st, 1), (size_t)sqlite3_column_bytes(st, 1));
        LIT("}]}\n");
        rows++;
    }
    if (rc != SQLITE_DONE) {
        fprintf(stderr, "%s: %s\n", argv[1], sqlite3_errmsg(db));
        return 1;
    }
    flush();
    sqlite3_finalize(st);
    sqlite3_close(db);
    fprintf(stderr, "rows %lld bytes %lld\n", rows, written);
    return 0;
}
