/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: one Kiln file read as each kind of record (kiln/kiln_read.c), ids from a pool (no
 * store). A record read must hold what the store needs (ids, sources of a known type, JSON where
 * JSON is kept); a refusal must be HE_BAD_REQUEST naming the file, or the pool running out.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kiln/kiln.h"
#include "util/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REL "tasks/t/runs/r/task_run.kiln"

static char pool[64][ID_LEN];

static void check_json(const char *text, json_type type)
{
    struct json_object *o = NULL;
    struct err e = ERR_INIT;

    if (json_parse(text, strlen(text), &o, &e) < 0 || !json_object_is_type(o, type))
        abort();
    json_object_put(o);
}

static void check_failure(int r, const struct err *e)
{
    if (r == 0)
        return;
    if (r == HE_CONFLICT && strstr(e->msg, "changed"))
        return; /* the pool ran out */
    if (r != HE_BAD_REQUEST || strncmp(e->msg, REL ": ", strlen(REL ": ")) != 0)
        abort();
}

static void check_run(const struct run *r)
{
    if (!id_valid(r->id) || !id_valid(r->output_id) || !r->input || !r->output ||
        !r->input_source_type || !r->output_source_type)
        abort();
    check_json(r->input_source, json_type_object);
    check_json(r->output_source, json_type_object);
    check_json(r->intermediate_outputs, json_type_object);
    check_json(r->tags, json_type_array);
    if (r->rating)
        check_json(r->rating, json_type_object);
    if (r->repaired_output)
        check_json(r->repaired_output, json_type_object);
    if ((r->repaired_output == NULL) != (r->repair_instructions == NULL))
        abort();
}

static void read_all(struct json_object *o)
{
    struct kiln_ids ids = {.pool = (const char(*)[ID_LEN])pool, .npool = 64};
    struct arena mem = {0};
    struct kiln_ctx k = {.ids = &ids, .mem = &mem, .user = "fuzz", .now = 1, .rel = REL};
    struct project p;
    struct task t;
    struct run r;
    struct dataset_split d;
    struct dataset_split_part *parts;
    size_t nparts;
    struct err e = ERR_INIT;
    int rc;

    check_failure(kiln_read_project(&k, o, &p, &e), &e);
    err_clear(&e);
    if ((rc = kiln_read_task(&k, o, "100000000001", &t, &e)) == 0)
        check_json(t.requirements, json_type_array);
    check_failure(rc, &e);
    err_clear(&e);
    if ((rc = kiln_read_run(&k, o, "100000000002", &r, &e)) == 0)
        check_run(&r);
    check_failure(rc, &e);
    err_clear(&e);
    if ((rc = kiln_read_split(&k, o, "100000000002", &d, &parts, &nparts, &e)) == 0)
        check_json(d.splits, json_type_array);
    check_failure(rc, &e);
    arena_done(&mem);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct json_object *o = NULL;
    struct err e = ERR_INIT;

    for (int i = 0; i < 64; i++)
        id_format(100000000100ULL + (uint64_t)i, pool[i]);
    if (json_parse((const char *)data, size, &o, &e) < 0)
        return 0;
    if (json_object_is_type(o, json_type_object))
        read_all(o);
    json_object_put(o);
    return 0;
}
