/* SPDX-License-Identifier: MIT */
/* Fuzz target: the streaming CSV reader (see reader_fuzz.h for what is checked). */
#include "ingest/csv_reader.h"

#define READER csv_reader
#include "reader_fuzz.h"
