/* SPDX-License-Identifier: MIT */
/*
 * `hetu keys create|list|revoke`: the API key routes (/api/keys, admin keys only once a key
 * exists). `keys create --db PATH` makes a key in a database directly, without a server: the
 * way back in when no admin key is left (stop the server first).
 */
#include <stdlib.h>
#include <string.h>

#include "auth/keys.h"
#include "cli/client.h"
#include "store/store.h"
#include "util/json.h"

#include "util/banned.h"

static const char usage[] =
    "Usage: hetu keys ACTION [OPTIONS]\n"
    "\n"
    "Actions:\n"
    "  create --name NAME [--project ID] [--admin] [--db PATH]\n"
    "                              make a key and print it: it is shown this once only\n"
    "  list                        the keys (never the keys themselves: their id and prefix)\n"
    "  revoke ID                   revoke a key: requests with it get 401 from now on\n"
    "\n"
    "While no key exists the server is open to every client; the first key must be --admin.\n"
    "Once a key exists every request needs one (Authorization: Bearer KEY).\n"
    "\n"
    "Options:\n"
    "  --name NAME                 what the key is for (create)\n"
    "  --admin                     the key may manage keys and reaches every project\n"
    "  -p, --project ID            the key reaches this project only (HETU_PROJECT is not\n"
    "                              read here: a project key is made on purpose)\n"
    "  --db PATH                   make the key in this database directly, no server (for\n"
    "                              recovery; stop the server first)\n"
    "\n";

static const char example[] =
    "\n"
    "Examples:\n"
    "  hetu keys create --name ops --admin\n"
    "  HETU_API_KEY=hetu_... hetu keys create --name labelling --project 123456789012\n"
    "  hetu keys list\n"
    "  hetu keys revoke 234567890123\n"
    "  hetu keys create --name rescue --admin --db ./hetu-data/hetu.db\n";

enum { OPT_NAME = CLI_OPT_FIRST_OWN, OPT_ADMIN, OPT_DB };

static int show_created(struct cli *cli, struct json_object *k)
{
    static const char *const fields[] = {"id", "name", "project", "admin", "key", NULL};

    (void)cli;
    cli_print_fields(k, fields);
    fputs("Keep the key now: it is not shown again.\n", stderr);
    return CLI_EXIT_OK;
}

static int show_key(struct cli *cli, struct json_object *k)
{
    static const char *const fields[] = {"id",         "name",    "project",    "admin", "prefix",
                                         "created_at", "revoked", "revoked_at", NULL};

    (void)cli;
    cli_print_fields(k, fields);
    return CLI_EXIT_OK;
}

static int show_list(struct cli *cli, struct json_object *answer)
{
    static const char *const keys[] = {"id",     "name",       "project", "admin",
                                       "prefix", "created_at", "revoked", NULL};
    static const char *const heads[] = {"ID",     "NAME",    "PROJECT", "ADMIN",
                                        "PREFIX", "CREATED", "REVOKED"};

    return cli_show_table(cli, cli_get(answer, "keys"), keys, heads);
}

/* keys create --db PATH: the key made in the database itself. */
static int create_in_db(struct cli *cli, const char *db, const struct auth_key_spec *spec)
{
    struct store *s = NULL;
    struct json_object *o;
    char key[AUTH_KEY_SIZE];
    struct api_key k;
    int code = CLI_EXIT_OK;

    if (store_open(db, &s, &cli->err) < 0 || auth_key_create(s, spec, &k, key, &cli->err) < 0) {
        fprintf(stderr, "hetu keys: %s\n", cli->err.msg);
        store_close(s);
        return CLI_EXIT_FAILED;
    }
    o = auth_key_created_json(&k, key);
    if (cli->json)
        puts(json_text(o, NULL));
    else
        code = show_created(cli, o);
    json_object_put(o);
    memset(key, 0, sizeof(key));
    store_close(s);
    return code;
}

static int create(struct cli *cli, const char *db, const struct auth_key_spec *spec)
{
    struct json_object *body;
    int r;

    if (!spec->name)
        return cli_usage_error(cli, "create needs --name NAME");
    if (db)
        return create_in_db(cli, db, spec);
    if ((r = cli_connect(cli)) != 0)
        return cli_finish(cli, r);
    body = json_object_new_object();
    json_object_object_add(body, "name", json_object_new_string(spec->name));
    if (spec->project_id)
        json_object_object_add(body, "project", json_object_new_string(spec->project_id));
    json_object_object_add(body, "admin", json_object_new_boolean(spec->admin));
    return cli_call(cli, "POST", cli_path(cli, "/api/keys"), body, show_created);
}

int cmd_keys(int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS,
                                         {"name", required_argument, NULL, OPT_NAME},
                                         {"admin", no_argument, NULL, OPT_ADMIN},
                                         {"db", required_argument, NULL, OPT_DB},
                                         {NULL, 0, NULL, 0}};
    static const struct cli_cmd spec = {"keys", usage, example, opts, CLI_COMMON_SHORT};
    struct auth_key_spec ks = {0};
    const char *ops[2], *db = NULL;
    struct cli cli;
    int c, r;

    cli_init(&cli, &spec);
    while ((c = cli_getopt(&cli, argc, argv)) > 0) {
        if (c == OPT_NAME)
            ks.name = optarg;
        else if (c == OPT_ADMIN)
            ks.admin = true;
        else if (c == OPT_DB)
            db = optarg;
    }
    if (c < 0)
        return cli.exit;
    if ((r = cli_operands(&cli, argc, argv, 1, 2, "ACTION (create, list, revoke)", ops)) != 0)
        return r;
    ks.project_id = cli.project; /* --project alone, before HETU_PROJECT is read */
    if (strcmp(ops[0], "create") == 0)
        return ops[1] ? cli_usage_error(&cli, "create takes no argument (the name is --name)")
                      : create(&cli, db, &ks);
    if (db)
        return cli_usage_error(&cli, "--db goes with create only");
    if (strcmp(ops[0], "list") == 0) {
        if (ops[1])
            return cli_usage_error(&cli, "list takes no argument");
        if ((r = cli_connect(&cli)) != 0)
            return cli_finish(&cli, r);
        return cli_call(&cli, "GET", cli_path(&cli, "/api/keys"), NULL, show_list);
    }
    if (strcmp(ops[0], "revoke") != 0)
        return cli_usage_error(&cli, "unknown action '%s' (create, list, revoke)", ops[0]);
    if (!ops[1])
        return cli_usage_error(&cli, "revoke needs the key's ID");
    if ((r = cli_connect(&cli)) != 0)
        return cli_finish(&cli, r);
    return cli_call(&cli, "DELETE", cli_path(&cli, "/api/keys/%s", ops[1]), NULL, show_key);
}
