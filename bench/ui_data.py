# SPDX-License-Identifier: MIT
"""The samples of benchmark "ui" (bench/ui.sh): N rows of JSONL for import_samples_from_file,
shaped like users' rows by the import benchmark's generator (import_bench.row: Chinese and
English, quotes, commas and newlines, 28,000 three-level topic paths, in scrambled order), plus
what a reviewed dataset carries: a third rated (five stars, 1 to 5), a few tags from a set of 40,
300 sessions. Usage: ui_data.py N FILE (kept when FILE exists)."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from import_bench import row  # noqa: E402


def main():
    n, path = int(sys.argv[1]), sys.argv[2]
    if os.path.exists(path):
        return
    tmp = path + ".part"
    with open(tmp, "w", encoding="utf-8") as f:
        for i in range(n):
            inp, out, topic = row(i)
            h = (i * 2246822519) % 4294967296
            r = {"input": inp, "output": out, "topic_path": topic,
                 "tags": ["标签-%d" % (h % 40)] if h % 4 == 0 else [],
                 "session_id": "session-%03d" % (h // 7 % 300)}
            if h % 3 == 0:
                r["rating"] = {"type": "five_star", "value": 1 + h // 11 % 5}
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


if __name__ == "__main__":
    main()
