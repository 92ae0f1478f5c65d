// The official OpenAI Node SDK, unmodified: default base URL, default
// transport. Run inside a test cgroup; prints one JSON line per call with
// the arrival time (ms since start) of every streamed chunk.
import OpenAI from "openai";

const [mode = "json", countArg = "1"] = process.argv.slice(2);
const client = new OpenAI({ apiKey: process.env.OPENAI_API_KEY || "sk-test-not-a-real-key", maxRetries: 0 });
const t0 = performance.now();
const results = [];
try {
  for (let i = 0; i < Number(countArg); i++) {
    if (mode === "stream") {
      const stream = await client.chat.completions.create({
        model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: "hi" }],
      });
      const chunks = [];
      for await (const ev of stream) chunks.push({ t: performance.now() - t0, content: ev.choices[0]?.delta?.content ?? "" });
      results.push({ chunks });
    } else {
      const r = await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });
      results.push({ content: r.choices[0].message.content, usage: r.usage, model: r.model });
    }
  }
  console.log(JSON.stringify({ ok: true, results }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, status: e.status ?? null, error: String(e.message || e), body: e.error ?? null }));
}
