/* SPDX-License-Identifier: MIT */
/*
 * `hetu export`: GET .../export with the filters given, the answer written to -o FILE (or
 * stdout) as it arrives, with a bar of bytes and lines on stderr when that is a terminal. A
 * file is written under a temporary name and renamed when the export ended well, so a failed
 * export never leaves a partial file under the name asked for.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/client.h"
#include "cli/progress.h"
#include "util/buf.h"

#include "util/banned.h"

static const char usage[] =
    "Usage: hetu export --format F --project ID --task ID [OPTIONS]\n"
    "\n"
    "Streams the task's samples in a trainer's format (openai_chat_jsonl and Kiln's other\n"
    "formats, sharegpt, alpaca, trl_prompt_completion, trl_messages, csv, hetu_jsonl) to FILE\n"
    "or stdout. A bad format name is answered with the list of formats.\n"
    "\n"
    "Options:\n"
    "  -f, --format F              the format (required)\n"
    "  -o, --output FILE           write here instead of stdout\n"
    "  --topic PATH                only samples under this topic (a/b)\n"
    "  --session ID                only this session's samples\n"
    "  --tag TAG                   only samples with this tag\n"
    "  --rating N                  only samples rated N or better (1..5)\n"
    "  --source TYPE               only inputs from human, synthetic or file_import\n"
    "  --dataset-id ID             a dataset split (with --split-name)\n"
    "  --split-name NAME           its part: train, test, val...\n"
    "  --data-strategy S           final_only (default) or final_and_intermediate\n"
    "  --system-message TEXT       the system message (default: the task's prompt); @FILE reads\n"
    "  --thinking-instructions T   for final_and_intermediate\n"
    "  --llamafactory              print the LLaMA-Factory dataset_info.json entry for the file\n"
    "  --gzip                      gzip the file (name it .gz)\n"
    "\n";

static const char example[] =
    "\n"
    "Examples:\n"
    "  hetu export -f openai_chat_jsonl -p 123456789012 -t 234567890123 -o train.jsonl\n"
    "  hetu export -f sharegpt --rating 4 --tag golden -o golden.jsonl\n"
    "  hetu export -f hetu_jsonl --gzip -o backup.jsonl.gz\n";

/* The options that are query arguments come first, in the order of names[]. */
enum {
    OPT_FORMAT = CLI_OPT_FIRST_OWN,
    OPT_DATASET,
    OPT_SPLIT,
    OPT_STRATEGY,
    OPT_TOPIC,
    OPT_SESSION,
    OPT_TAG,
    OPT_RATING,
    OPT_SOURCE,
    OPT_SYSTEM,
    OPT_THINKING,
    OPT_LLAMAFACTORY,
    OPT_GZIP,
};

#define N_VALS (OPT_THINKING - OPT_FORMAT + 1)

static const char *const names[N_VALS] = {
    "format", "dataset_id", "split_name", "data_strategy",  "topic_path",           "session_id",
    "tag",    "rating",     "source",     "system_message", "thinking_instructions"};

struct sink {
    struct progress bar;
    char label[64];
    int64_t lines;
    bool count_lines; /* an uncompressed export: a line a sample */
};

static void download_cb(const char *data, size_t n, int64_t bytes, void *ud)
{
    struct sink *s = ud;

    for (const char *p = data; s->count_lines && (p = memchr(p, '\n', n - (size_t)(p - data))); p++)
        s->lines++;
    if (s->bar.quiet)
        return;
    snprintf(s->label, sizeof(s->label), "export %lld lines", (long long)s->lines);
    progress_update(&s->bar, bytes, 0, -1);
}

static int build_path(struct cli *cli, const char *const *vals, bool array, bool gz,
                      struct buf *path)
{
    char *base = cli_path(cli, "/api/projects/%P/tasks/%T/export");
    int r = base ? buf_adds(path, base) : HE_NOMEM;

    free(base);
    for (size_t i = 0; r == 0 && i < N_VALS; i++) {
        char *esc;
        if (!vals[i])
            continue;
        if (!(esc = client_escape(&cli->client, vals[i])))
            return HE_NOMEM;
        r = buf_addf(path, "%c%s=%s", strchr(path->data, '?') ? '&' : '?', names[i], esc);
        free(esc);
    }
    if (r == 0 && array)
        r = buf_adds(path, "&llamafactory=true");
    if (r == 0 && gz)
        r = buf_adds(path, "&compress=gzip");
    return r;
}

/* Writes the export to out (stdout or a temporary file); returns the exit code. */
static int fetch(struct cli *cli, const char *path, FILE *out, bool gz)
{
    struct sink s = {.count_lines = !gz};
    struct client_resp resp;
    int r;

    client_resp_init(&resp);
    progress_init(&s.bar, stderr, cli->quiet || !isatty(STDERR_FILENO), s.label);
    snprintf(s.label, sizeof(s.label), "export");
    s.bar.unit = "B";
    r = client_download(&cli->client, path, out, download_cb, &s, &resp, &cli->err);
    if (s.bar.last_us)
        progress_finish(&s.bar);
    client_resp_done(&resp);
    if (r == 0 && fflush(out) != 0) {
        cli->client.fail = CLIENT_FAIL_LOCAL;
        r = err_set(&cli->err, HE_IO, NULL, "cannot write the export: %s", strerror(errno));
    }
    return r < 0 ? cli_fail(cli, r) : CLI_EXIT_OK;
}

static int to_file(struct cli *cli, const char *path, const char *file, bool gz)
{
    char tmp[4096];
    FILE *f;
    int code;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.part", file) >= sizeof(tmp))
        return cli_usage_error(cli, "the file name is too long");
    if (!(f = fopen(tmp, "wb"))) {
        fprintf(stderr, "hetu export: cannot write %s: %s\n", tmp, strerror(errno));
        return CLI_EXIT_FAILED;
    }
    code = fetch(cli, path, f, gz);
    if (fclose(f) != 0 && code == CLI_EXIT_OK) {
        fprintf(stderr, "hetu export: cannot write %s: %s\n", tmp, strerror(errno));
        code = CLI_EXIT_FAILED;
    }
    if (code == CLI_EXIT_OK && rename(tmp, file) != 0) {
        fprintf(stderr, "hetu export: cannot rename %s to %s: %s\n", tmp, file, strerror(errno));
        code = CLI_EXIT_FAILED;
    }
    if (code != CLI_EXIT_OK)
        unlink(tmp);
    return code;
}

int cmd_export(int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_COMMON_OPTS,
        {"format", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'},
        {"topic", required_argument, NULL, OPT_TOPIC},
        {"session", required_argument, NULL, OPT_SESSION},
        {"tag", required_argument, NULL, OPT_TAG},
        {"rating", required_argument, NULL, OPT_RATING},
        {"source", required_argument, NULL, OPT_SOURCE},
        {"dataset-id", required_argument, NULL, OPT_DATASET},
        {"split-name", required_argument, NULL, OPT_SPLIT},
        {"data-strategy", required_argument, NULL, OPT_STRATEGY},
        {"system-message", required_argument, NULL, OPT_SYSTEM},
        {"thinking-instructions", required_argument, NULL, OPT_THINKING},
        {"llamafactory", no_argument, NULL, OPT_LLAMAFACTORY},
        {"gzip", no_argument, NULL, OPT_GZIP},
        {NULL, 0, NULL, 0}};
    static const struct cli_cmd spec = {"export", usage, example, opts, CLI_COMMON_SHORT "f:o:"};
    const char *vals[N_VALS] = {0}, *file = NULL;
    char *system = NULL;
    bool array = false, gz = false;
    struct buf path;
    struct cli cli;
    int c, r, code;

    cli_init(&cli, &spec);
    while ((c = cli_getopt(&cli, argc, argv)) > 0) {
        if (c >= OPT_FORMAT && c <= OPT_THINKING)
            vals[c - OPT_FORMAT] = optarg;
        else if (c == 'f')
            vals[0] = optarg;
        else if (c == 'o')
            file = optarg;
        else if (c == OPT_LLAMAFACTORY)
            array = true;
        else if (c == OPT_GZIP)
            gz = true;
    }
    if (c < 0)
        return cli.exit;
    if ((r = cli_no_more_args(&cli, argc, argv)) != 0)
        return r;
    if (!vals[0])
        return cli_usage_error(&cli, "--format is required");
    if ((r = cli_connect(&cli)) != 0 || (r = cli_need_task(&cli)) != 0)
        return cli_finish(&cli, r);
    if (vals[OPT_SYSTEM - OPT_FORMAT] &&
        cli_arg_text(vals[OPT_SYSTEM - OPT_FORMAT], &system, &cli.err) < 0)
        return cli_finish(&cli, cli_fail(&cli, cli.err.code));
    if (system)
        vals[OPT_SYSTEM - OPT_FORMAT] = system;
    buf_init(&path, 1 << 20);
    if (build_path(&cli, vals, array, gz, &path) < 0) {
        fprintf(stderr, "hetu export: out of memory\n");
        code = CLI_EXIT_FAILED;
    } else if (file && strcmp(file, "-") != 0) {
        code = to_file(&cli, path.data, file, gz);
    } else {
        code = fetch(&cli, path.data, stdout, gz);
    }
    buf_done(&path);
    free(system);
    return cli_finish(&cli, code);
}
