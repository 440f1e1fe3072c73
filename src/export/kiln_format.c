/* SPDX-License-Identifier: MIT */
#include "export/format.h"

const struct export_format export_kiln_formats[] = {
    {0},
};
