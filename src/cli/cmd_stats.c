/* SPDX-License-Identifier: MIT */
/*
 * `hetu stats`: what a task's samples hold (GET .../stats) as a terminal summary: totals,
 * ratings, lengths, usage, then a table per dimension (its largest keys, each with its share
 * of the samples); --json prints the server's object as it came.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "cli/table.h"
#include "util/json.h"

#include "util/banned.h"

#define ROWS_SHOWN 10 /* keys a dimension's table shows; --json has them all */

static const char usage[] =
    "Usage: hetu stats --project ID --task ID [OPTIONS]\n"
    "\n"
    "Prints statistics of the task's samples: how many, exact duplicates, ratings, input and\n"
    "output lengths (characters), tokens and cost, then the largest counts by top-level topic,\n"
    "session, source, input and output model and provider, prompt method and tag.\n"
    "\n";

static const char example[] = "\n"
                              "Examples:\n"
                              "  hetu stats -p 123456789012 -t 234567890123\n"
                              "  hetu stats --json | jq '.output_models'\n";

static long long num(struct json_object *o, const char *key)
{
    return (long long)json_object_get_int64(cli_get(o, key));
}

static void share(char *out, size_t size, long long n, long long total)
{
    snprintf(out, size, "%.1f%%", total ? 100.0 * (double)n / (double)total : 0.0);
}

static void print_head(struct json_object *s)
{
    struct json_object *share_v = cli_get(s, "exact_duplicate_share");
    struct json_object *near = cli_get(s, "near_duplicate_share");
    struct json_object *r = cli_get(s, "ratings"), *five = cli_get(r, "five_star");
    struct json_object *pf = cli_get(r, "pass_fail"), *u = cli_get(s, "usage");

    printf("samples  %lld\n", num(s, "total"));
    printf("exact duplicates  %lld", num(s, "exact_duplicates"));
    if (share_v)
        printf(" (%.1f%%)", 100.0 * json_object_get_double(share_v));
    if (near)
        printf("    near duplicates  %.1f%%", 100.0 * json_object_get_double(near));
    printf("\nratings  ");
    for (int i = 5; i >= 1; i--) {
        char k[2] = {(char)('0' + i), '\0'};
        printf("%d\xe2\x98\x85 %lld  ", i, num(five, k)); /* ★ */
    }
    printf("pass %lld  fail %lld  critical %lld  other %lld  unrated %lld\n", num(pf, "pass"),
           num(pf, "fail"), num(pf, "critical"), num(r, "other"), num(r, "unrated"));
    printf("tokens  input %lld  output %lld  total %lld  (%lld samples)", num(u, "input_tokens"),
           num(u, "output_tokens"), num(u, "total_tokens"), num(u, "samples"));
    if (cli_get(u, "cost"))
        printf("  cost %.4f", json_object_get_double(cli_get(u, "cost")));
    printf("\n\n");
}

static int print_lengths(struct json_object *s)
{
    static const char *const heads[] = {"LENGTH", "P50", "P90", "P99", "MAX", "MEAN"};
    static const char *const kinds[] = {"input_chars", "output_chars"};
    struct table t;
    int r = table_init(&t, 6, heads);

    for (int i = 0; i < 2 && r == 0; i++) {
        struct json_object *l = cli_get(s, kinds[i]);
        char v[5][32];
        const char *cells[6] = {i ? "output" : "input", v[0], v[1], v[2], v[3], v[4]};
        snprintf(v[0], sizeof(v[0]), "%s", l ? cli_cell(cli_get(l, "p50")) : "-");
        snprintf(v[1], sizeof(v[1]), "%s", l ? cli_cell(cli_get(l, "p90")) : "-");
        snprintf(v[2], sizeof(v[2]), "%s", l ? cli_cell(cli_get(l, "p99")) : "-");
        snprintf(v[3], sizeof(v[3]), "%s", l ? cli_cell(cli_get(l, "max")) : "-");
        snprintf(v[4], sizeof(v[4]), "%.2f", l ? json_object_get_double(cli_get(l, "mean")) : 0);
        if (!l)
            snprintf(v[4], sizeof(v[4]), "-");
        r = table_add(&t, cells);
    }
    if (r == 0)
        table_print(&t, stdout);
    table_done(&t);
    return r;
}

/* A table of {"key", "count"} entries (output models with their usage). */
static int print_dim(const char *title, struct json_object *list, long long total, bool with_usage)
{
    static const char *const cols[] = {"IN TOKENS", "OUT TOKENS", "COST"};
    const char *heads[6] = {title, "SAMPLES", "SHARE", cols[0], cols[1], cols[2]};
    size_t n = list ? json_object_array_length(list) : 0;
    struct table t;
    int r;

    if (n == 0)
        return 0;
    if ((r = table_init(&t, with_usage ? 6 : 3, heads)) < 0)
        return r;
    table_max_width(&t, 0, 50);
    for (size_t i = 0; i < n && i < ROWS_SHOWN && r == 0; i++) {
        struct json_object *x = json_object_array_get_idx(list, i), *key = cli_get(x, "key");
        char count[24], pct[16], cost[32];
        const char *cells[6] = {
            key ? cli_cell(key) : "(none)",        count, pct, cli_cell(cli_get(x, "input_tokens")),
            cli_cell(cli_get(x, "output_tokens")), cost};
        snprintf(count, sizeof(count), "%lld", num(x, "count"));
        share(pct, sizeof(pct), num(x, "count"), total);
        snprintf(cost, sizeof(cost), "%.4f", json_object_get_double(cli_get(x, "cost")));
        if (!cli_get(x, "cost"))
            snprintf(cost, sizeof(cost), "-");
        r = table_add(&t, cells);
    }
    if (r == 0) {
        table_print(&t, stdout);
        if (n > ROWS_SHOWN)
            printf("... %zu more\n", n - ROWS_SHOWN);
        printf("\n");
    }
    table_done(&t);
    return r;
}

/* The top-level topics as a dimension's list. */
static struct json_object *top_topics(struct json_object *tree)
{
    struct json_object *kids = cli_get(tree, "children"), *list = json_object_new_array();
    size_t n =
        kids && json_object_is_type(kids, json_type_array) ? json_object_array_length(kids) : 0;

    for (size_t i = 0; i < n; i++) {
        struct json_object *k = json_object_array_get_idx(kids, i), *x = json_object_new_object();
        json_object_object_add(x, "key", json_object_get(cli_get(k, "name")));
        json_object_object_add(x, "count", json_object_get(cli_get(k, "sample_count")));
        json_object_array_add(list, x);
    }
    return list;
}

static int show_stats(struct cli *cli, struct json_object *s)
{
    static const char *const dims[][2] = {
        {"sessions", "SESSION"},
        {"sources", "SOURCE"},
        {"input_models", "INPUT MODEL"},
        {"input_providers", "INPUT PROVIDER"},
        {"output_providers", "OUTPUT PROVIDER"},
        {"prompt_methods", "PROMPT METHOD"},
        {"tags", "TAG"},
    };
    long long total = num(s, "total");
    struct json_object *topics = top_topics(cli_get(s, "topics"));
    int r;

    (void)cli;
    print_head(s);
    r = print_lengths(s);
    printf("\n");
    if (r == 0)
        r = print_dim("TOPIC", topics, total, false);
    if (r == 0)
        r = print_dim("OUTPUT MODEL", cli_get(s, "output_models"), total, true);
    for (size_t i = 0; i < sizeof(dims) / sizeof(dims[0]) && r == 0; i++)
        r = print_dim(dims[i][1], cli_get(s, dims[i][0]), total, false);
    json_object_put(topics);
    if (r < 0) {
        fprintf(stderr, "hetu stats: out of memory\n");
        return CLI_EXIT_FAILED;
    }
    return CLI_EXIT_OK;
}

int cmd_stats(int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS, {NULL, 0, NULL, 0}};
    static const struct cli_cmd spec = {"stats", usage, example, opts, CLI_COMMON_SHORT};

    return cli_task_get(&spec, argc, argv, "/api/projects/%P/tasks/%T/stats", show_stats);
}
