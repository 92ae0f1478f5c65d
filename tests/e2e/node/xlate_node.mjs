// The official OpenAI and Anthropic Node SDKs, unmodified (default base
// URLs, default transport), asking for a tool call; the gateway may serve
// either from a provider of the other API. Prints one JSON line.
//   node xlate_node.mjs openai-json | openai-stream | anthropic-json | anthropic-stream
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";

const mode = process.argv[2] || "openai-json";
const schema = { type: "object", properties: { city: { type: "string" } }, required: ["city"] };
const oaTools = [{ type: "function", function: { name: "get_weather", description: "Weather now", parameters: schema } }];
const anTools = [{ name: "get_weather", description: "Weather now", input_schema: schema }];
const out = (o) => console.log(JSON.stringify(o));

try {
  if (mode.startsWith("openai")) {
    const client = new OpenAI({ apiKey: "sk-dummy-openai-client", maxRetries: 0 });
    const req = {
      model: "gpt-4o",
      messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Weather in Paris?" }],
      tools: oaTools,
    };
    if (mode === "openai-json") {
      const r = await client.chat.completions.create(req);
      out({ ok: true, object: r.object, model: r.model, message: r.choices[0].message,
            finish: r.choices[0].finish_reason, usage: r.usage });
    } else {
      const stream = await client.chat.completions.create({ ...req, stream: true,
                                                            stream_options: { include_usage: true } });
      const calls = {};
      let content = "", finish = null, usage = null, chunks = 0;
      for await (const ch of stream) {
        chunks++;
        if (ch.usage) usage = ch.usage;
        const c = ch.choices[0];
        if (!c) continue;
        if (c.delta?.content) content += c.delta.content;
        for (const tc of c.delta?.tool_calls ?? []) {
          const t = (calls[tc.index] ??= { id: null, name: null, arguments: "" });
          if (tc.id) t.id = tc.id;
          if (tc.function?.name) t.name = tc.function.name;
          if (tc.function?.arguments) t.arguments += tc.function.arguments;
        }
        if (c.finish_reason) finish = c.finish_reason;
      }
      out({ ok: true, content, calls: Object.values(calls), finish, usage, chunks });
    }
  } else {
    const client = new Anthropic({ apiKey: "sk-ant-dummy-anthropic-client", maxRetries: 0 });
    const req = { model: "claude-sonnet-4-5", max_tokens: 200, system: "Be brief.",
                  messages: [{ role: "user", content: "Weather in Paris?" }], tools: anTools };
    const m = mode === "anthropic-json" ? await client.messages.create(req)
                                        : await client.messages.stream(req).finalMessage();
    out({ ok: true, type: m.type, model: m.model, content: m.content, stop: m.stop_reason, usage: m.usage });
  }
} catch (e) {
  out({ ok: false, status: e.status ?? null, error: String(e.message || e), body: e.error ?? null });
}
