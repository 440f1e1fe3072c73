#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""
Regenerates golden/ from Kiln 0.15 itself: runs Kiln's own dataset formatter and simple prompt
builder on the samples of test_kiln_format.c (the same texts, kept in step by hand) and writes
what they produce. Needs pydantic and jsonschema, and a Kiln v0.15.0 source tree:

    git -C KILN archive v0.15.0 libs/core/kiln_ai | tar -x -C /tmp/kiln015
    python3 tests/unit/export/kiln_golden.py /tmp/kiln015/libs/core tests/unit/export/golden

Modules the formatter's imports pull in but never use here (model clients, HTTP) are stubbed.
The chat-template tool call id, random in Kiln, is replaced by the one Hetu derives from the
run id (FNV-1a of the id, low 36 bits in hex).
"""
import json
import sys

import importlib.abc
import importlib.machinery
import types

STUBBED = {"litellm", "httpx", "openai", "together", "google", "vertexai", "boto3", "ollama"}


class StubModule(types.ModuleType):
    """Any attribute is a class, and any attribute of that class is its own name."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)

        class Meta(type):
            def __getattr__(cls, attr):
                if attr.startswith("__"):
                    raise AttributeError(attr)
                return attr

        return Meta(name, (object,), {"__init__": lambda self, *a, **k: None})


class StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in STUBBED:
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        return StubModule(spec.name)

    def exec_module(self, module):
        module.__path__ = []


sys.meta_path.insert(0, StubFinder())
sys.path.insert(0, sys.argv[1])
OUT = sys.argv[2]

import kiln_ai.adapters.fine_tune.dataset_formatter as d
from kiln_ai.adapters.prompt_builders import SimplePromptBuilder, chain_of_thought_prompt
from kiln_ai.datamodel import Task, TaskRun, TaskOutput, DataSource, DataSourceType, TaskRequirement

def fnv_id(rid):
    h = 0xcbf29ce484222325
    for c in rid.encode():
        h = ((h ^ c) * 0x100000001b3) & 0xffffffffffffffff
    return "%09x" % (h & 0xfffffffff)

plain = Task(name="Translate", instruction='Translate "as is" the sentence/phrase into English. 把句子翻译成英文。',
             requirements=[TaskRequirement(name="short", instruction="保持简短。", priority=1),
                           TaskRequirement(name="quote", instruction='Keep "quotes" and slashes / as they are.', priority=2)])
structured = Task(name="Extract", instruction="Answer as JSON / 以JSON回答。", requirements=[],
                  thinking_instruction='先逐步思考 "step by step"。',
                  output_json_schema=json.dumps({"type":"object","properties":{"译文":{"type":"string"},"score":{"type":"number"},"tiny":{"type":"number"},"big":{"type":"number"},"n":{"type":"integer"},"ok":{"type":"boolean"},"none":{"type":"null"},"list":{"type":"array"}},"required":["译文"]}),
                  input_json_schema=json.dumps({"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}))

src = DataSource(type=DataSourceType.human, properties={"created_by": "tester"})
def as_kiln_stores(task_schema, text):
    """Kiln stores a structured value as json.dumps(value, ensure_ascii=False); the samples
    below hold it as Hetu stores it (compact)."""
    return json.dumps(json.loads(text), ensure_ascii=False) if task_schema and text else text


def run(task, rid, inp, out, inter, repaired=None):
    inp = as_kiln_stores(task.input_json_schema, inp)
    out = as_kiln_stores(task.output_json_schema, out)
    repaired = as_kiln_stores(task.output_json_schema, repaired)
    r = TaskRun(parent=task, input=inp, input_source=src,
                output=TaskOutput(output=out, source=src),
                repaired_output=TaskOutput(output=repaired, source=src) if repaired else None,
                repair_instructions="修正拼写" if repaired else None, intermediate_outputs=inter)
    r.id = rid
    return r

plain_runs = [
    run(plain, "100000000001", '请翻译："你好/世界" 😀\n第二行\t制表', '"Hello/world" 😀\nSecond line\ttab',
        {"chain_of_thought": '先看引号 "…"，再看斜杠 /。\n最后是表情 😀',
         "reasoning": "推理：逐字翻译 / word by word\u0001 ctl\u007f and \u2028 sep\\"}),
    run(plain, "100000000002", "早上好", "Good moning", {}, repaired="Good morning"),
    run(plain, "100000000003", "晚安", "Good night", {"reasoning": "", "chain_of_thought": "只有思维链"}),
    run(plain, "100000000004", "再见", "Goodbye", {"reasoning": ""}),
]
s_runs = [
    run(structured, "200000000001", '{"text":"你好/世界 \\"引号\\"\\n😀"}',
        '{"译文":"Hello/world \\"quotes\\"\\n😀","score":1.50,"tiny":0.00001,"big":1E16,"n":-0,"ok":true,"none":null,"list":[1,2.0,-3.25e-7,123456789012345678,0.1,1e22,12345.678]}',
        {"reasoning": "先分析 JSON 结构 / structure"}),
    run(structured, "200000000002", '{"text":"早上好"}', '{"译文":"Good moning"}',
        {"chain_of_thought": "拼写检查", "reasoning": ""}, repaired='{"译文": "Good morning", "score": 0.1}'),
]

with open(OUT + "/plain_task_prompt.txt", "w", encoding="utf-8") as f:
    f.write(SimplePromptBuilder(plain).build_prompt(include_json_instructions=False))
with open(OUT + "/structured_task_prompt.txt", "w", encoding="utf-8") as f:
    f.write(SimplePromptBuilder(structured).build_prompt(include_json_instructions=False))

for label, task, runs in (("plain", plain, plain_runs), ("structured", structured, s_runs)):
    system = SimplePromptBuilder(task).build_prompt(include_json_instructions=False)
    for fmt, gen in d.FORMAT_GENERATORS.items():
        if label == "plain" and fmt.value in ("openai_chat_json_schema_jsonl", "openai_chat_toolcall_jsonl", "huggingface_chat_template_toolcall_jsonl"):
            continue
        for strat in ("final_only", "final_and_intermediate"):
            cot = strat == "final_and_intermediate"
            ti = chain_of_thought_prompt(task) if cot else None
            with open(f"{OUT}/{label}.{fmt.value}.{strat}.jsonl", "w", encoding="utf-8") as f:
                for r in runs:
                    class U:
                        def __str__(s, rid=r.id): return fnv_id(rid) + "0" * 23
                    d.uuid4 = lambda: U()
                    td = d.build_training_data(task_run=r, system_message=system, include_cot=cot, thinking_instructions=ti)
                    f.write(json.dumps(gen(td), ensure_ascii=False) + "\n")
