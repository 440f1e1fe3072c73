/* SPDX-License-Identifier: MIT */
/* The format lookup over every file's table. */
#include "export/format.h"

#include <string.h>

#include "util/banned.h"

static const struct export_format *const tables[] = {export_kiln_formats, export_trainer_formats};

const struct export_format *export_format_find(const char *name)
{
    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
        for (const struct export_format *f = tables[t]; f->name; f++)
            if (strcmp(f->name, name) == 0)
                return f;
    return NULL;
}

void export_format_each(void (*fn)(void *ud, const struct export_format *f), void *ud)
{
    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
        for (const struct export_format *f = tables[t]; f->name; f++)
            fn(ud, f);
}
