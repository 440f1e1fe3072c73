/* SPDX-License-Identifier: MIT */
/*
 * Data generation: topic-tree growth, input generation and output generation, each an
 * asynchronous operation on the provider engine. Entry points validate synchronously (unknown
 * provider, missing key) and return an error at once; otherwise they return 0 and call the
 * callback exactly once later, on the engine's or the store's thread. Callbacks must not block.
 */
#ifndef HETU_GEN_GEN_H
#define HETU_GEN_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdint.h>

#include <json-c/json.h>

#include "gen/limits.h"
#include "gen/prompt.h"
#include "store/store.h"
#include "util/err.h"

struct arena;
struct ingest_row;
struct llm_engine;
struct llm_usage;

struct gen_env {
    struct store *store;
    struct llm_engine *engine;
    const char *user;
};

#define GEN_MAX_COUNT     100 /* subtopics or samples per call */
#define GEN_MAX_FOLLOWUPS 3   /* extra calls to make up a short or repetitive answer */

/* The result is a TaskRun JSON (taken over by the callee), or e is set. */
typedef void (*gen_done_cb)(void *ud, struct json_object *taskrun, const struct err *e);

/* A list made without storing anything (gen_list_params.raw): the distinct new items (borrowed:
 * take a reference to keep them), what the calls used and how many were made; or e set. */
typedef void (*gen_list_raw_cb)(void *ud, struct json_object *items, const struct llm_usage *usage,
                                int calls, const struct err *e);

struct gen_list_params {
    struct json_object *path; /* JSON list of strings (a reference is taken) */
    size_t count;
    const char *provider, *model;
    const char *guidance;         /* or NULL */
    struct json_object *existing; /* categories: names not to repeat (a reference is taken) */
    bool drop_unsupported;
    uint64_t group;               /* engine cancel group */
    const atomic_bool *cancelled; /* or NULL: when set, calls not yet made are not made */
    bool cache_prefix;            /* ask the provider to cache the system turn (llm_request) */
    /* Set: subtopics are not stored, no TaskRun is made; raw is called instead of cb. The
     * node's present children are still read, so they are not repeated. */
    gen_list_raw_cb raw;
};

/* Exactly p->count new distinct subtopics of p->path, stored in the task's topic tree. */
int gen_categories(const struct gen_env *env, const struct task *t, const struct gen_list_params *p,
                   gen_done_cb cb, void *ud, struct err *e);
/* Exactly p->count distinct task inputs (strings, or objects valid against the input schema). */
int gen_samples(const struct gen_env *env, const struct task *t, const struct gen_list_params *p,
                gen_done_cb cb, void *ud, struct err *e);

/* One sample to save: its input, and either its output or how to generate one. */
struct gen_sample {
    char *input;  /* text; JSON text for structured tasks */
    char *output; /* NULL: generate with output_provider/output_model */
    char **topic; /* topic path names */
    size_t n_topic;
    char *input_model, *input_provider, *output_model, *output_provider;
    enum prompt_method method;
    char *guidance;
    char *source_type; /* input source: NULL means synthetic; "file_import" for imports */
    char *file_name;   /* file_import: the file's name */
    char **tags;       /* tags besides the defaults */
    size_t ntags;
    bool drop_unsupported;
    bool allow_truncated;     /* keep an output cut off at the output limit, tagged "truncated" */
    int64_t job_id, job_item; /* job_id 0: not from a job */
    char *provenance;         /* a checked row's provenance (gen_provenance_check), or NULL */
    bool cache_prefix;        /* ask the provider to cache the system turn (llm_request) */
};
void gen_sample_free(struct gen_sample *s);

/* Examples for few-shot prompt methods, loaded once per batch. */
struct gen_examples {
    struct prompt_example *items;
    size_t n;
};
int gen_examples_load(struct store *store, const char *task_id, enum prompt_method m,
                      struct gen_examples *ret, struct err *e);
void gen_examples_done(struct gen_examples *x);

/* The finished run (owned by the callee: free with run_done + free), or e set. */
typedef void (*gen_run_cb)(void *ud, struct run *run, const struct err *e);

/*
 * Builds the run of one sample: calls the output model when the sample has no output (one call,
 * two for chain-of-thought methods), or takes the output as given. Does not store it.
 * `examples` must stay valid until cb.
 */
int gen_output(const struct gen_env *env, const struct task *t, const struct gen_sample *s,
               const struct gen_examples *examples, const char *session_id, uint64_t group,
               gen_run_cb cb, void *ud, struct err *e);

/*
 * The end of a batch: runs[i] is the stored run of sample i, or NULL with errs[i] set. When
 * storing failed, store_err is set and no run was stored. Runs on the engine's or the store's
 * thread; everything is freed after it returns.
 */
typedef void (*gen_batch_cb)(void *ud, struct run *const *runs, const struct err *errs, size_t n,
                             const struct err *store_err);

/*
 * Builds every sample's run concurrently (gen_output), then stores the successful ones in one
 * write. Takes over the samples (freed when done). Examples are loaded once per prompt method.
 */
int gen_save_batch(const struct gen_env *env, const struct task *t, struct gen_sample *samples,
                   size_t n, const char *session_id, uint64_t group, gen_batch_cb cb, void *ud,
                   struct err *e);

/*
 * A list of non-empty strings at body[key] (absent: an empty list). Returns a new array in
 * *ret. Each string at most max_chars, at most max_items of them.
 */
int gen_parse_string_list(struct json_object *body, const char *where, const char *key,
                          size_t max_items, size_t max_chars, struct json_object **ret,
                          struct err *e);

/* The separator of the names of a topic path written as text: "a>>>>>b". */
#define GEN_TOPIC_SEP     ">>>>>"
#define GEN_TOPIC_SEP_LEN 5

/*
 * Why s[0..len) cannot be a name of a topic path (the end of a sentence that starts with the
 * field's name), or NULL when it can: it holds a control character or GEN_TOPIC_SEP, or begins
 * or ends with '>'. Lengths are the caller's to check (TOPIC_MAX_CHARS).
 */
const char *gen_topic_name_fault(const char *s, size_t len);

/* A model or provider name (NULL: absent, accepted) named field: at most MODEL_MAX_CHARS
 * characters, one line without control characters. */
int gen_check_model_name(const char *field, const char *s, struct err *e);

/* A model or provider name at obj[key] (json_get_str's flags; required means non-empty),
 * checked by gen_check_model_name. Absent leaves *ret unchanged. */
int gen_get_model_name(struct json_object *obj, const char *where, const char *key, unsigned flags,
                       const char **ret, struct err *e);

/*
 * A topic path at body[key]: a list of names, or a string split on ">>>>>" when it holds one
 * (an empty name there, from a separator at either end or two in a row, is refused), else on
 * "/" (empty names skipped). Every name passes gen_topic_name_fault. A leading "root" element
 * (what gateway scripts send for the root) is dropped when drop_root. Returns a new array in
 * *ret.
 */
int gen_parse_topic_path(struct json_object *body, const char *where, const char *key,
                         bool drop_root, struct json_object **ret, struct err *e);

/*
 * One sample of save_sample / save_samples_batch / import_samples_async into *ret (fields
 * owned by ret; free with gen_sample_free). Checks the input (and output) against the task's
 * schemas, the prompt method, and the providers when an output must be generated.
 */
int gen_parse_sample(const struct gen_env *env, const struct task *t, struct json_object *obj,
                     const char *where, struct gen_sample *ret, struct err *e);

/* Adds a call's usage to a sum (unknown parts stay unknown until some call knows them). */
struct llm_usage;
void gen_usage_add(struct llm_usage *sum, const struct llm_usage *u);

/* The error to report for a failed model call (an answer still invalid after retries is a
 * provider failure, 502). */
void gen_model_error(const struct err *model, struct err *ret);

/*
 * The tags of a new sample: "imported" (file imports) or "synthetic", the session's tag when
 * there is a session, then extra in order without repeats. The list and its strings are in a.
 */
const char **gen_tag_list(struct arena *a, const char *session_id, bool imported,
                          char *const *extra, size_t n_extra, size_t *ret_n);

/* The DataSource properties (compact JSON text, malloc'd) of an imported row's input and
 * output; NULL values are left out. */
char *gen_import_input_source(const char *file_name, const char *model, const char *provider,
                              const char *topic_path);
char *gen_import_output_source(const char *file_name, const char *model, const char *provider);

/*
 * The samples of one file import's rows that carry their output, built without a copy of what
 * every row shares. Set up once per import; gen_import_run then fills a run whose strings
 * point into the row, into g, or into arena a: the run is valid while all three are, and is
 * not freed with run_done.
 */
struct gen_import {
    struct gen_env env;
    const struct task *task;
    const char *session_id;
    /* every string below lives in mem, freed by gen_import_done */
    const char *file_name, *input_model, *input_provider, *output_model, *output_provider;
    const char *output_source;         /* the same for every row */
    const char *input_source_no_topic; /* of a row without a topic path */
    const char **tag_list;             /* of a row without tags of its own */
    size_t ntags;
    const char *tags;
    struct arena mem;
};
int gen_import_init(struct gen_import *g, const struct gen_env *env, const struct task *t,
                    const char *session_id, const char *file_name, const char *input_model,
                    const char *input_provider, const char *output_model,
                    const char *output_provider, struct err *e);
void gen_import_done(struct gen_import *g);
struct gen_checked_row; /* below */
/* row: a checked row with an output, its texts NUL-terminated (as the spool reads them back). */
int gen_import_run(const struct gen_import *g, const struct gen_checked_row *row, struct arena *a,
                   struct run *ret, struct err *e);

/*
 * The check of one row of an imported file, as a reader (ingest/row.h) delivers it: the checks
 * save_sample makes of a sample (texts against the task's schemas and the length limit, topic
 * path and tags, guidance, the output model when the row has no output), every message naming
 * the row's line. Every row of a file passes here once, while the upload arrives (an import
 * job then loads the rows as they were checked); the multipart fuzzer predicts the server's
 * answers with it.
 *
 * One check per thread: it remembers that the output model passed (it is checked once, at the
 * first row without an output).
 */
struct gen_row_check {
    const struct gen_env *env;
    const struct task *task;
    const char *output_model, *output_provider; /* what fills rows without an output */
    bool models_checked;
};

/* A checked row: what an import stores of it. */
struct gen_checked_row {
    const char *input; /* text, or compact JSON text for a task with an input schema */
    size_t input_len;
    const char *output; /* NULL: generated by the output model */
    size_t output_len;
    const char *guidance;     /* or NULL */
    const char *const *topic; /* outermost first, a leading "root" dropped as save_sample does */
    size_t n_topic;
    const char *const *tags; /* the row's own tags */
    size_t n_tags;
    const char *provenance; /* checked stored fields of a hetu_jsonl line, or NULL */
};

/*
 * Checks row into *ret, whose strings point into row (valid as long as it is) or into a (an
 * input or output rewritten as compact JSON text). HE_INVALID (422) or the model check's code
 * on a bad row, with the field named; HE_NOMEM.
 */
int gen_import_check_row(struct gen_row_check *c, const struct ingest_row *row, struct arena *a,
                         struct gen_checked_row *ret, struct err *e);

/*
 * The stored fields of a sample exported as hetu_jsonl (ingest_row.provenance): rating,
 * repair_instructions, repaired_output, intermediate_outputs, session_id, input_source and
 * output_source ({"type", "properties"}), usage (tokens and cost); id, created_at and created_by
 * are accepted and left out (the sample gets its own). Checks text[0..len) into *ret (compact
 * JSON text in a); HE_INVALID naming the field and line, or HE_NOMEM.
 */
int gen_provenance_check(const char *text, size_t len, size_t line, struct arena *a,
                         const char **ret, struct err *e);
/*
 * Gives run r the checked provenance prov: its sources, rating, repair, usage and session
 * (a session_id of null keeps r's), and exactly the row's tags (no default tags added), in a.
 * 0 or HE_NOMEM.
 */
int gen_provenance_apply(struct run *r, const char *prov, const char *const *tags, size_t ntags,
                         struct arena *a);

/* What every row of one file import shares: the file's name, the upload's models and prompt
 * method. */
struct gen_import_source {
    const char *file_name;
    const char *input_model, *input_provider, *output_model, *output_provider; /* or NULL */
    enum prompt_method method;
};

/* The sample of a checked row (every field a copy: free with gen_sample_free): what a small
 * import saves inside the request, and what an import job generates for a row without an
 * output. 0 or HE_NOMEM (then *ret holds nothing). */
int gen_import_sample(const struct gen_import_source *src, const struct gen_checked_row *row,
                      struct gen_sample *ret);

/* obj (an object) checked against the JSON Schema in schema_text (a schema that does not parse
 * checks nothing), its compact JSON text malloc'd into *ret. */
int gen_check_object(struct json_object *obj, const char *field, const char *schema_text,
                     char **ret, struct err *e);

/* A non-empty output at obj[key] (where may be NULL), read as a sample's output is: text, or with
 * schema_text a JSON object (or its text) matching it, stored as compact JSON text. *ret is
 * malloc'd; absent or null leaves it NULL. */
int gen_get_output(struct json_object *obj, const char *where, const char *key,
                   const char *schema_text, char **ret, struct err *e);

/* Checks a sample's providers and models before any call is made. */
int gen_sample_check(const struct gen_env *env, const struct gen_sample *s, const char *where,
                     struct err *e);

#endif
