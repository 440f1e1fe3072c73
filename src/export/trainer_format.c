/* SPDX-License-Identifier: MIT */
#include "export/format.h"

const struct export_format export_trainer_formats[] = {
    {0},
};
