/* SPDX-License-Identifier: MIT */
/* Fuzz target: the streaming JSON Lines reader (see reader_fuzz.h for what is checked). */
#include "ingest/jsonl_reader.h"

#define READER jsonl_reader
#include "reader_fuzz.h"
