/* SPDX-License-Identifier: MIT */
/* `hetu projects list|create|show|update|delete`: the project API (POST /api/project, ...). */
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "util/json.h"

#include "util/banned.h"

static const char usage[] =
    "Usage: hetu projects ACTION [OPTIONS]\n"
    "\n"
    "Actions:\n"
    "  list                        list the projects (ID, name, description, created)\n"
    "  create NAME [--description TEXT]\n"
    "                              create a project and print it\n"
    "  show [ID]                   one project (ID, or --project, or HETU_PROJECT)\n"
    "  update [ID] [--name NAME] [--description TEXT]\n"
    "                              change a project's name or description\n"
    "  delete [ID]                 delete a project with its tasks and samples\n"
    "\n"
    "Options:\n"
    "  --name NAME                 the new name (update; create takes it as NAME too)\n"
    "  --description TEXT          the description\n"
    "\n";

static const char example[] = "\n"
                              "Examples:\n"
                              "  hetu projects create '客服对话' --description 'support chats'\n"
                              "  hetu projects list\n"
                              "  hetu projects list --json | jq '.projects[].id'\n";

enum { OPT_NAME = CLI_OPT_FIRST_OWN, OPT_DESCRIPTION };

static const char *const fields[] = {"id", "name", "description", "created_at", "created_by", NULL};

static int show_project(struct cli *cli, struct json_object *p)
{
    (void)cli;
    cli_print_fields(p, fields);
    return CLI_EXIT_OK;
}

static int show_list(struct cli *cli, struct json_object *answer)
{
    static const char *const keys[] = {"id", "name", "description", "created_at", NULL};
    static const char *const heads[] = {"ID", "NAME", "DESCRIPTION", "CREATED"};

    return cli_show_table(cli, cli_get(answer, "projects"), keys, heads);
}

int cmd_projects(int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS,
                                         {"name", required_argument, NULL, OPT_NAME},
                                         {"description", required_argument, NULL, OPT_DESCRIPTION},
                                         {NULL, 0, NULL, 0}};
    static const struct cli_cmd spec = {"projects", usage, example, opts, CLI_COMMON_SHORT};
    const char *name = NULL, *description = NULL, *action, *id;
    struct json_object *body;
    struct cli cli;
    int c, r;

    cli_init(&cli, &spec);
    while ((c = cli_getopt(&cli, argc, argv)) > 0) {
        if (c == OPT_NAME)
            name = optarg;
        else if (c == OPT_DESCRIPTION)
            description = optarg;
    }
    if (c < 0)
        return cli.exit;
    if ((r = cli_crud_operands(&cli, argc, argv, &action, &id)) != 0)
        return r;
    if (strcmp(action, "list") == 0 && id)
        return cli_usage_error(&cli, "list takes no argument");
    if (strcmp(action, "create") == 0) {
        if (id && name)
            return cli_usage_error(&cli, "give the name once (NAME or --name)");
        if (!(name = name ? name : id))
            return cli_usage_error(&cli, "create needs a NAME");
    }
    if ((r = cli_connect(&cli)) != 0)
        return cli_finish(&cli, r);
    if (id && strcmp(action, "create") != 0)
        cli.project = id;

    if (strcmp(action, "list") == 0)
        return cli_call(&cli, "GET", cli_path(&cli, "/api/projects"), NULL, show_list);
    if (strcmp(action, "create") == 0) {
        body = json_object_new_object();
        json_object_object_add(body, "name", json_object_new_string(name));
        if (description)
            json_object_object_add(body, "description", json_object_new_string(description));
        return cli_call(&cli, "POST", cli_path(&cli, "/api/project"), body, show_project);
    }
    if ((r = cli_need_project(&cli)) != 0)
        return cli_finish(&cli, r);
    if (strcmp(action, "show") == 0)
        return cli_call(&cli, "GET", cli_path(&cli, "/api/projects/%P"), NULL, show_project);
    if (strcmp(action, "delete") == 0)
        return cli_call(&cli, "DELETE", cli_path(&cli, "/api/projects/%P"), NULL, cli_show_message);
    if (!name && !description)
        return cli_finish(&cli, cli_usage_error(&cli, "update needs --name or --description"));
    body = json_object_new_object();
    if (name)
        json_object_object_add(body, "name", json_object_new_string(name));
    if (description)
        json_object_object_add(body, "description", json_object_new_string(description));
    return cli_call(&cli, "PATCH", cli_path(&cli, "/api/projects/%P"), body, show_project);
}
