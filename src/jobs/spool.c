/* SPDX-License-Identifier: MIT */
#include "jobs/spool.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "util/log.h"
#include "util/banned.h"

#define SPOOL_HAS_OUTPUT     1u
#define SPOOL_HAS_PROVENANCE 2u

static void put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int add_u32(struct buf *b, uint32_t v)
{
    unsigned char p[4];
    put_u32(p, v);
    return buf_add(b, p, 4);
}

static int add_str(struct buf *b, const char *s, size_t len)
{
    int r;
    if (!s)
        return add_u32(b, 0);
    if (len > SPOOL_RECORD_MAX)
        return HE_TOO_LARGE;
    if ((r = add_u32(b, (uint32_t)len)) < 0 || (r = buf_add(b, s, len)) < 0)
        return r;
    return buf_add(b, "", 1);
}

/* Fills in the size of the record that starts at offset at of b. */
static int seal(struct buf *b, size_t at, int r)
{
    if (r == 0 && b->len - at - 4 > SPOOL_RECORD_MAX)
        r = HE_TOO_LARGE;
    if (r == 0)
        put_u32((unsigned char *)b->data + at, (uint32_t)(b->len - at - 4));
    else
        b->len = at; /* the part written is dropped */
    return r;
}

int spool_write_header(FILE *f, const struct spool_header *h, struct err *e)
{
    const char *fields[] = {h->input_model, h->input_provider, h->output_model, h->output_provider,
                            h->prompt_method};
    struct buf b;
    int r;

    buf_init(&b, SPOOL_RECORD_MAX);
    r = buf_add(&b, SPOOL_MAGIC, sizeof(SPOOL_MAGIC) - 1);
    if (r == 0)
        r = add_u32(&b, 0);
    for (size_t i = 0; r == 0 && i < sizeof(fields) / sizeof(fields[0]); i++)
        r = add_str(&b, fields[i], fields[i] ? strlen(fields[i]) : 0);
    if ((r = seal(&b, sizeof(SPOOL_MAGIC) - 1, r)) < 0)
        r = err_set(e, r, NULL, "the import's model names are too long");
    else if (fwrite(b.data, 1, b.len, f) != b.len)
        r = err_set(e, HE_IO, NULL, "cannot write the import's spool file: %s", strerror(errno));
    buf_done(&b);
    return r;
}

int spool_encode_row(struct buf *out, const struct gen_checked_row *row)
{
    unsigned char flags =
        (row->output ? SPOOL_HAS_OUTPUT : 0) | (row->provenance ? SPOOL_HAS_PROVENANCE : 0);
    size_t at = out->len;
    int r;

    if ((r = add_u32(out, 0)) == 0 && (r = buf_add(out, &flags, 1)) == 0 &&
        (r = add_str(out, row->input, row->input_len)) == 0 &&
        (!row->output || (r = add_str(out, row->output, row->output_len)) == 0) &&
        (r = add_str(out, row->guidance, row->guidance ? strlen(row->guidance) : 0)) == 0 &&
        (r = add_u32(out, (uint32_t)row->n_topic)) == 0)
        for (size_t i = 0; r == 0 && i < row->n_topic; i++)
            r = add_str(out, row->topic[i], strlen(row->topic[i]));
    if (r == 0)
        r = add_u32(out, (uint32_t)row->n_tags);
    for (size_t i = 0; r == 0 && i < row->n_tags; i++)
        r = add_str(out, row->tags[i], strlen(row->tags[i]));
    if (r == 0 && row->provenance)
        r = add_str(out, row->provenance, strlen(row->provenance));
    return seal(out, at, r);
}

/* ---- reading ---- */

struct cursor {
    const unsigned char *p, *end;
    bool bad;
};

static uint32_t take_u32(struct cursor *c)
{
    uint32_t v;
    if (c->end - c->p < 4) {
        c->bad = true;
        return 0;
    }
    v = get_u32(c->p);
    c->p += 4;
    return v;
}

/* A string of the record, pointing into it (NUL-terminated in place); NULL when absent. */
static const char *take_str(struct cursor *c, size_t *len)
{
    uint32_t n = take_u32(c);
    const char *s;

    if (len)
        *len = n;
    if (c->bad || n == 0)
        return NULL;
    if ((size_t)(c->end - c->p) < (size_t)n + 1 || c->p[n] != '\0') {
        c->bad = true;
        return NULL;
    }
    s = (const char *)c->p;
    c->p += n + 1;
    return s;
}

static const char *const *take_list(struct cursor *c, struct arena *a, size_t *n)
{
    uint32_t count = take_u32(c);
    const char **items;

    *n = 0;
    if (c->bad || count == 0)
        return NULL;
    /* every item takes at least five bytes of the record */
    if (count > (size_t)(c->end - c->p) / 5 || !(items = arena_alloc(a, count * sizeof(*items)))) {
        c->bad = true;
        return NULL;
    }
    for (uint32_t i = 0; i < count; i++)
        if (!(items[i] = take_str(c, NULL))) {
            c->bad = true;
            return NULL;
        }
    *n = count;
    return items;
}

/* The next record's bytes into a: 0, 1 at a clean end of file. */
static int read_record(FILE *f, struct arena *a, struct cursor *c, struct err *e)
{
    unsigned char size[4];
    size_t got = fread(size, 1, 4, f);
    uint32_t n;
    unsigned char *p;

    if (got == 0 && feof(f))
        return 1;
    if (got != 4)
        return err_set(e, HE_INVALID, NULL, "the import's spool file is cut short");
    n = get_u32(size);
    if (n > SPOOL_RECORD_MAX)
        return err_set(e, HE_INVALID, NULL, "the import's spool file is damaged");
    if (!(p = arena_alloc(a, n ? n : 1)))
        return err_set(e, HE_NOMEM, NULL, NULL);
    if (fread(p, 1, n, f) != n)
        return err_set(e, HE_INVALID, NULL, "the import's spool file is cut short");
    c->p = p;
    c->end = p + n;
    c->bad = false;
    return 0;
}

/* The header record c holds: 0, or -1 when it is damaged. */
static int parse_header(struct cursor c, struct spool_header *h)
{
    memset(h, 0, sizeof(*h));
    h->record = c.p;
    h->record_len = (size_t)(c.end - c.p);
    h->input_model = take_str(&c, NULL);
    h->input_provider = take_str(&c, NULL);
    h->output_model = take_str(&c, NULL);
    h->output_provider = take_str(&c, NULL);
    h->prompt_method = take_str(&c, NULL);
    return c.bad || c.p != c.end ? -1 : 0;
}

/* The row record c holds, its lists in a: 0, or -1 when it is damaged. */
static int parse_row(struct cursor c, struct arena *a, struct spool_row *spooled)
{
    struct gen_checked_row *row = &spooled->row;
    unsigned char flags;

    memset(spooled, 0, sizeof(*spooled));
    spooled->record = c.p;
    spooled->record_len = (size_t)(c.end - c.p);
    if (c.p == c.end)
        return -1;
    flags = *c.p++;
    row->input = take_str(&c, &row->input_len);
    if (flags & SPOOL_HAS_OUTPUT)
        row->output = take_str(&c, &row->output_len);
    row->guidance = take_str(&c, NULL);
    row->topic = take_list(&c, a, &row->n_topic);
    row->tags = take_list(&c, a, &row->n_tags);
    if (flags & SPOOL_HAS_PROVENANCE)
        row->provenance = take_str(&c, NULL);
    if (c.bad || c.p != c.end || !row->input || ((flags & SPOOL_HAS_OUTPUT) && !row->output))
        return -1;
    return 0;
}

int spool_read_header(FILE *f, struct arena *a, struct spool_header *h, struct err *e)
{
    char magic[sizeof(SPOOL_MAGIC) - 1];
    struct cursor c;
    int r;

    if (fread(magic, 1, sizeof(magic), f) != sizeof(magic) ||
        memcmp(magic, SPOOL_MAGIC, sizeof(magic)) != 0)
        return err_set(e, HE_INVALID, NULL,
                       "the import's spool file is not in this version's format; import the "
                       "file again");
    if ((r = read_record(f, a, &c, e)) != 0)
        return r < 0 ? r : err_set(e, HE_INVALID, NULL, "the import's spool file is cut short");
    if (parse_header(c, h) < 0)
        return err_set(e, HE_INVALID, NULL, "the import's spool file is damaged");
    return 0;
}

int spool_read_row(FILE *f, struct arena *a, struct spool_row *row, struct err *e)
{
    struct cursor c;
    int r;

    if ((r = read_record(f, a, &c, e)) != 0)
        return r;
    if (parse_row(c, a, row) < 0)
        return err_set(e, HE_INVALID, NULL, "the import's spool file is damaged");
    return 0;
}

int spool_skip_rows(FILE *f, int64_t n, struct err *e)
{
    for (int64_t i = 0; i < n; i++) {
        unsigned char size[4];
        size_t got = fread(size, 1, 4, f);
        if (got == 0 && feof(f))
            return 1;
        if (got != 4 || get_u32(size) > SPOOL_RECORD_MAX ||
            fseeko(f, (off_t)get_u32(size), SEEK_CUR) != 0)
            return err_set(e, HE_INVALID, NULL, "the import's spool file is damaged");
    }
    return 0;
}

/* ---- items: a spool of one row ---- */

const void *spool_item(struct arena *a, const struct spool_header *h, const struct spool_row *row,
                       size_t *ret_len)
{
    size_t magic = sizeof(SPOOL_MAGIC) - 1, len = magic + 4 + h->record_len + 4 + row->record_len;
    unsigned char *p, *at;

    if (!h->record || !row->record || !(p = arena_alloc(a, len)))
        return NULL;
    memcpy(p, SPOOL_MAGIC, magic);
    at = p + magic;
    put_u32(at, (uint32_t)h->record_len);
    memcpy(at + 4, h->record, h->record_len);
    at += 4 + h->record_len;
    put_u32(at, (uint32_t)row->record_len);
    memcpy(at + 4, row->record, row->record_len);
    *ret_len = len;
    return p;
}

bool spool_is_item(const void *p, size_t len)
{
    return len >= sizeof(SPOOL_MAGIC) - 1 && memcmp(p, SPOOL_MAGIC, sizeof(SPOOL_MAGIC) - 1) == 0;
}

/* The next record of an item, as a cursor over its bytes. */
static struct cursor take_record(struct cursor *c)
{
    uint32_t n = take_u32(c);
    struct cursor r = {c->p, c->p, true};

    if (c->bad || (size_t)(c->end - c->p) < n) {
        c->bad = true;
        return r;
    }
    r = (struct cursor){c->p, c->p + n, false};
    c->p += n;
    return r;
}

int spool_item_read(const void *p, size_t len, struct arena *a, struct spool_header *h,
                    struct spool_row *row, struct err *e)
{
    struct cursor c = {p, (const unsigned char *)p + len, false}, hc, rc;

    if (!spool_is_item(p, len))
        return err_set(e, HE_INVALID, NULL, "the item is not a spooled row");
    c.p += sizeof(SPOOL_MAGIC) - 1;
    hc = take_record(&c);
    rc = take_record(&c);
    if (c.bad || c.p != c.end || hc.bad || rc.bad || parse_header(hc, h) < 0 ||
        parse_row(rc, a, row) < 0)
        return err_set(e, HE_INVALID, NULL, "the item's spooled row is damaged");
    return 0;
}

/* The job an import spool belongs to ("import-ID.spool"): 1 and id set, else 0. */
static int spool_job_of(const char *name, char *id, size_t size)
{
    const char *p = name + strlen("import-"), *end = strstr(p, ".spool");
    size_t n = end ? (size_t)(end - p) : 0;

    if (strncmp(name, "import-", 7) != 0 || n == 0 || n >= size || strcmp(end, ".spool") != 0)
        return 0;
    memcpy(id, p, n);
    id[n] = 0;
    return 1;
}

static bool job_exists(struct store *store, const char *job_id)
{
    struct job job = {0};
    struct err e;
    int r;

    err_clear(&e);
    r = store_job_get(store, job_id, &job, &e);
    job_done(&job);
    return r == 0 || e.code != HE_NOT_FOUND; /* when in doubt, keep the file */
}

void spool_sweep(const char *dir, struct store *store)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t files = 0;
    unsigned long long bytes = 0;
    char n[32], b[32];

    if (!d)
        return;
    while ((de = readdir(d))) {
        char path[4096], id[64];
        struct stat st;
        bool orphan = strncmp(de->d_name, "upload-", 7) == 0 ||
                      (spool_job_of(de->d_name, id, sizeof(id)) && !job_exists(store, id));
        if (!orphan || snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path))
            continue;
        if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && unlink(path) == 0) {
            files++;
            bytes += (unsigned long long)st.st_size;
        }
    }
    closedir(d);
    snprintf(n, sizeof(n), "%zu", files);
    snprintf(b, sizeof(b), "%llu", bytes);
    log_event(LOG_INFO, "removed leftover spool files", "dir", dir, "files", n, "bytes", b, NULL);
}
