/* SPDX-License-Identifier: MIT */
/* `hetu import-kiln DIR`: imports a Kiln project folder on the server's disk (POST
 * /api/import-project with DIR made absolute against the current folder, not resolved: the
 * server, perhaps on another machine, resolves it) and prints the imported project. */
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include "cli/client.h"
#include "util/json.h"
#include "util/banned.h"

static const char usage[] =
    "Usage: hetu import-kiln DIR [OPTIONS]\n"
    "\n"
    "Imports the Kiln project in the folder DIR (or DIR may name its project.kiln) with its\n"
    "tasks, runs and dataset splits, keeping Kiln's ids, and prints the project. The server\n"
    "reads the folder: it must be on the server's disk, under the folder the server was\n"
    "started with (--import-root). A relative DIR is taken from the current folder. Nothing is\n"
    "stored when a file is damaged or an id is taken already.\n"
    "\n";

static const char example[] = "\n"
                              "Examples:\n"
                              "  hetu import-kiln ~/Kiln\\ Projects/support_bot\n"
                              "  hetu import-kiln /srv/kiln/demo/project.kiln --json\n";

static const char *const fields[] = {"id", "name", "description", "created_at", "created_by", NULL};

static int show_project(struct cli *cli, struct json_object *p)
{
    (void)cli;
    cli_print_fields(p, fields);
    return CLI_EXIT_OK;
}

int cmd_import_kiln(int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS, {NULL, 0, NULL, 0}};
    static const struct cli_cmd spec = {"import-kiln", usage, example, opts, CLI_COMMON_SHORT};
    const char *dir = NULL;
    char cwd[PATH_MAX], absolute[PATH_MAX];
    struct json_object *body;
    struct cli cli;
    int c, r;

    cli_init(&cli, &spec);
    while ((c = cli_getopt(&cli, argc, argv)) > 0)
        ;
    if (c < 0)
        return cli.exit;
    if ((r = cli_operands(&cli, argc, argv, 1, 1, "the project folder DIR", &dir)) != 0)
        return r;
    /* the server reads the path, perhaps on another machine: made absolute, not resolved */
    if (dir[0] != '/' &&
        (!getcwd(cwd, sizeof(cwd)) ||
         (size_t)snprintf(absolute, sizeof(absolute), "%s/%s", cwd, dir) >= sizeof(absolute))) {
        err_set(&cli.err, HE_IO, NULL, "%s: cannot make the path absolute", dir);
        return cli_fail(&cli, HE_IO);
    }
    if ((r = cli_connect(&cli)) != 0)
        return cli_finish(&cli, r);
    body = json_object_new_object();
    json_object_object_add(body, "project_path",
                           json_object_new_string(dir[0] == '/' ? dir : absolute));
    return cli_call(&cli, "POST", cli_path(&cli, "/api/import-project"), body, show_project);
}
