"""The official OpenAI and Anthropic Python SDKs, unchanged, against Keyward.

Usage: KEYWARD_BASE=http://127.0.0.1:PORT KEYWARD_KEY=kw_... python check_sdks.py
Exits non-zero (with a message) on the first wrong answer.
"""

import os
import sys

import anthropic
import openai

REPLY = "Hello from the Keyward mock provider."
base = os.environ["KEYWARD_BASE"]
key = os.environ["KEYWARD_KEY"]


def check(cond, what):
    if not cond:
        sys.exit(f"FAIL: {what}")
    print(f"ok: {what}")


oa = openai.OpenAI(base_url=f"{base}/v1", api_key=key, max_retries=0)
messages = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Say hello."},
]

r = oa.chat.completions.create(model="gpt-4o-mini", messages=messages, max_tokens=64)
check(r.choices[0].message.content == REPLY, "openai chat content")
check(r.usage.prompt_tokens > 0 and r.usage.completion_tokens > 0, "openai chat usage")
plain_usage = r.usage

chunks = oa.chat.completions.create(
    model="gpt-4o-mini",
    messages=messages,
    max_tokens=64,
    stream=True,
    stream_options={"include_usage": True},
)
text, usage = "", None
for c in chunks:
    if c.choices and c.choices[0].delta.content:
        text += c.choices[0].delta.content
    if c.usage:
        usage = c.usage
check(text == REPLY, "openai streaming content")
check(
    usage is not None and usage.prompt_tokens == plain_usage.prompt_tokens,
    "openai streaming usage",
)

e = oa.embeddings.create(model="text-embedding-3-small", input=["hello", "world"])
check(len(e.data) == 2 and len(e.data[0].embedding) > 0, "openai embeddings")
check(e.usage.prompt_tokens > 0, "openai embeddings usage")

an = anthropic.Anthropic(base_url=base, api_key=key, max_retries=0)
m = an.messages.create(
    model="claude-sonnet-4-20250514",
    max_tokens=64,
    system="Be brief.",
    messages=[{"role": "user", "content": "Say hello."}],
)
check(m.content[0].text == REPLY, "anthropic messages content")
check(m.usage.input_tokens > 0 and m.usage.output_tokens > 0, "anthropic messages usage")

with an.messages.stream(
    model="claude-sonnet-4-20250514",
    max_tokens=64,
    system="Be brief.",
    messages=[{"role": "user", "content": "Say hello."}],
) as s:
    streamed = "".join(s.text_stream)
    final = s.get_final_message()
check(streamed == REPLY, "anthropic streaming content")
check(final.usage.output_tokens > 0, "anthropic streaming usage")

# Cross-shape: the Anthropic SDK against an OpenAI model.
m = an.messages.create(
    model="openai/gpt-4o-mini",
    max_tokens=64,
    messages=[{"role": "user", "content": "Say hello."}],
)
check(m.content[0].text == REPLY, "anthropic sdk -> openai upstream")

try:
    openai.OpenAI(base_url=f"{base}/v1", api_key="kw_wrong", max_retries=0).chat.completions.create(
        model="gpt-4o-mini", messages=messages
    )
    check(False, "a wrong key is refused")
except openai.AuthenticationError:
    check(True, "a wrong key is refused (openai.AuthenticationError)")

print("all SDK checks passed")
