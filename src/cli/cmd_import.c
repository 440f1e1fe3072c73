/* SPDX-License-Identifier: MIT */
/*
 * `hetu import FILE`: uploads a CSV or JSONL file to import_samples_from_file, streamed from
 * disk as a multipart part, then follows the job the server started (small files are imported
 * inside the request and need no following).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/client.h"
#include "cli/progress.h"
#include "util/buf.h"
#include "util/json.h"

#include "util/banned.h"

#define UPLOAD_BAR_MIN (1 << 20) /* files smaller than this upload without a bar */

static const char usage[] =
    "Usage: hetu import FILE --project ID --task ID [OPTIONS]\n"
    "\n"
    "Uploads FILE (.csv or .jsonl) and imports its rows as samples. CSV: a header row with an\n"
    "'input' column and optionally output, topic_path (a>>>>>b), human_guidance, tags. JSONL:\n"
    "one {\"input\", \"output\"?, \"topic_path\"?} object a line, or an OpenAI chat record\n"
    "{\"messages\": [...]}. Rows without an output get one from the output model.\n"
    "Files over 100 rows become a job, followed to its end with a progress bar on a terminal\n"
    "(a progress line every few seconds otherwise; HETU_PROGRESS_INTERVAL seconds); exits 0\n"
    "when every row was imported, 1 when some failed or the job was cancelled.\n"
    "\n"
    "Options:\n"
    "  --prompt-method NAME   prompt for generated outputs [simple_prompt_builder]\n"
    "  --input-model M        input_model_name recorded on the samples\n"
    "  --input-provider P     input_provider\n"
    "  --output-model M       model that writes missing outputs\n"
    "  --output-provider P    its provider\n"
    "  --session ID           session id: tags the samples synthetic_session_ID\n"
    "  --no-wait              print the job id and return at once\n"
    "\n"
    "With --json: the server's answer to the upload, then (when followed) the job's final\n"
    "JSON, one document a line.\n"
    "\n";

static const char example[] =
    "\n"
    "Examples:\n"
    "  hetu import samples.csv -p 123456789012 -t 234567890123\n"
    "  hetu import chats.jsonl --output-model gpt-4o-mini --output-provider openai\n"
    "  hetu import big.csv --no-wait --json | jq -r .job_id\n";

enum {
    OPT_PROMPT_METHOD = CLI_OPT_FIRST_OWN,
    OPT_INPUT_MODEL,
    OPT_INPUT_PROVIDER,
    OPT_OUTPUT_MODEL,
    OPT_OUTPUT_PROVIDER,
    OPT_SESSION,
    OPT_NO_WAIT,
};

static const char *const params[] = {"prompt_method",     "input_model_name", "input_provider",
                                     "output_model_name", "output_provider",  "session_id"};

static void upload_cb(int64_t sent, int64_t total, void *ud)
{
    struct progress *p = ud;

    if (total >= UPLOAD_BAR_MIN)
        progress_update(p, sent, total, -1);
}

int cmd_import(int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_COMMON_OPTS,
        {"prompt-method", required_argument, NULL, OPT_PROMPT_METHOD},
        {"input-model", required_argument, NULL, OPT_INPUT_MODEL},
        {"input-provider", required_argument, NULL, OPT_INPUT_PROVIDER},
        {"output-model", required_argument, NULL, OPT_OUTPUT_MODEL},
        {"output-provider", required_argument, NULL, OPT_OUTPUT_PROVIDER},
        {"session", required_argument, NULL, OPT_SESSION},
        {"no-wait", no_argument, NULL, OPT_NO_WAIT},
        {NULL, 0, NULL, 0}};
    static const struct cli_cmd spec = {"import", usage, example, opts, CLI_COMMON_SHORT};
    const char *vals[6] = {0}, *file;
    struct json_object *answer = NULL;
    struct client_resp resp;
    struct progress up;
    struct cli cli;
    bool no_wait = false;
    char *base = NULL;
    struct buf path;
    int c, r, code;

    cli_init(&cli, &spec);
    while ((c = cli_getopt(&cli, argc, argv)) > 0) {
        if (c >= OPT_PROMPT_METHOD && c <= OPT_SESSION)
            vals[c - OPT_PROMPT_METHOD] = optarg;
        else if (c == OPT_NO_WAIT)
            no_wait = true;
    }
    if (c < 0)
        return cli.exit;
    if ((r = cli_operands(&cli, argc, argv, 1, 1, "FILE", &file)) != 0)
        return r;
    if ((r = cli_connect(&cli)) != 0 || (r = cli_need_task(&cli)) != 0)
        return cli_finish(&cli, r);

    buf_init(&path, 1 << 16);
    base = cli_path(&cli, "/api/dataset/projects/%P/tasks/%T/import_samples_from_file");
    r = base ? buf_adds(&path, base) : HE_NOMEM;
    for (size_t i = 0; r == 0 && i < 6; i++) {
        char *esc;
        if (!vals[i])
            continue;
        if (!(esc = client_escape(&cli.client, vals[i]))) {
            r = HE_NOMEM;
            break;
        }
        r = buf_addf(&path, "%c%s=%s", strchr(path.data, '?') ? '&' : '?', params[i], esc);
        free(esc);
    }
    free(base);
    if (r < 0) {
        buf_done(&path);
        fprintf(stderr, "hetu import: out of memory\n");
        return cli_finish(&cli, CLI_EXIT_FAILED);
    }

    client_resp_init(&resp);
    /* the upload gets a bar on a terminal only: lines in a log are for the job */
    progress_init(&up, stderr, cli.quiet || !isatty(STDERR_FILENO), "upload");
    up.unit = "B";
    r = client_upload(&cli.client, path.data, "file", file, upload_cb, &up, &resp, &cli.err);
    buf_done(&path);
    if (r == 0 && json_parse(resp.body.data, resp.body.len, &answer, &cli.err) < 0) {
        cli.client.fail = CLIENT_FAIL_HTTP;
        r = HE_BAD_JSON;
    }
    if (up.last_us)
        progress_finish(&up);
    if (r < 0) {
        code = cli_fail(&cli, r);
    } else {
        const char *status = cli_cell(cli_get(answer, "status"));
        const char *job = cli_cell(cli_get(answer, "job_id"));
        if (cli.json)
            cli_print_raw(&resp);
        else if (strcmp(status, "import_started") != 0 || no_wait)
            printf("%s%s%s\n", cli_cell(cli_get(answer, "message")), *job ? " job " : "", job);
        fflush(stdout);
        if (strcmp(status, "import_started") == 0 && *job && !no_wait)
            code = cli_watch_job(&cli, job);
        else
            code = CLI_EXIT_OK;
    }
    json_object_put(answer);
    client_resp_done(&resp);
    return cli_finish(&cli, code);
}
