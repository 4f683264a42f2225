/* global document, fetch, localStorage, TextDecoder, setTimeout, vega, vegaLite */
// The dashboard page: polls /dashboard/state every 2 s and redraws what changed; the chat
// box streams from /v1/chat/completions (server-sent events) like any OpenAI client.
"use strict";

const $ = (id) => document.getElementById(id);
const short = (a) => `${a.slice(0, 6)}…${a.slice(-4)}`;
const views = new Map(); // chart element id → { key, view }
const messages = []; // the conversation so far

/** Renders a Vega-Lite spec into #id, unless its data is what is already drawn. */
async function draw(id, spec) {
  const key = JSON.stringify(spec);
  const old = views.get(id);
  if (old && old.key === key) return;
  old?.view.finalize();
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: "svg", container: $(id), hover: true });
  views.set(id, { key, view });
  await view.runAsync();
}

function statusOf(s) {
  return s.offline ? "offline" : s.status;
}

function rows(tbody, items, cells) {
  tbody.replaceChildren(
    ...items.map((item) => {
      const tr = document.createElement("tr");
      for (const [text, cls] of cells(item)) {
        const td = document.createElement("td");
        td.textContent = text;
        if (cls) td.className = cls;
        tr.append(td);
      }
      return tr;
    }),
  );
}

async function refresh() {
  const s = await (await fetch("/dashboard/state")).json();
  $("model-name").textContent = `${s.model.id} · ${s.model.mode} · context ${s.model.contextLength} tokens · ${s.model.chatTemplate} chat template`;
  if (s.status === undefined) {
    $("summary").textContent = s.error ?? "--local: no swarm, no ledger (the chat runs in the API process)";
    return;
  }
  const st = s.status;
  $("summary").textContent = `chain ${st.chainId} · epoch ${st.epoch} (${st.epochSeconds} s) · θ ${st.theta} · ${st.numLayers} layers ${st.covered ? "covered" : "NOT covered"} · reward pool ${Number(st.rewardPool).toFixed(1)}`;
  const servers = st.servers.filter((x) => x.status !== "none");
  rows($("servers").tBodies[0], servers, (x) => [
    [x.address],
    [statusOf(x), `status-${statusOf(x)}`],
    [`${x.layers[0]}-${x.layers[1]}`],
    [Number(x.trust).toFixed(3)],
    [x.stake],
    [x.pendingRewards],
  ]);
  rows($("verifiers").tBodies[0], st.verifiers, (v) => [[v.address], [v.status, `status-${v.status}`], [v.stake], [String(v.strikes)], [v.pendingRewards]]);
  const events = $("events");
  events.replaceChildren(
    ...s.events.map((e) => {
      const li = document.createElement("li");
      li.textContent = `${e.epoch !== undefined ? `epoch ${e.epoch} · ` : ""}${e.kind} · ${short(e.server)} · ${e.detail}`;
      return li;
    }),
  );
  if (s.events.length === 0) events.textContent = "no settlement yet (verifiers settle each epoch two epochs later)";
  await draw("coverage-chart", {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    width: 420,
    height: { step: 22 },
    data: { values: servers.map((x) => ({ server: short(x.address), start: x.layers[0], end: x.layers[1], status: statusOf(x) })) },
    mark: { type: "bar", cornerRadius: 3 },
    encoding: {
      y: { field: "server", type: "nominal", title: null },
      x: { field: "start", type: "quantitative", title: "layer", scale: { domain: [0, st.numLayers] }, axis: { tickMinStep: 1 } },
      x2: { field: "end" },
      color: { field: "status", type: "nominal", scale: { domain: ["active", "offline", "exiting", "deactivated", "slashed"], range: ["#2e9d57", "#d4a72c", "#9aa4b2", "#d9534f", "#7a1712"] } },
      tooltip: [{ field: "server" }, { field: "start" }, { field: "end" }, { field: "status" }],
    },
  });
  await draw("trust-chart", {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    width: 420,
    height: 180,
    layer: [
      {
        data: { values: s.history.map((p) => ({ epoch: p.epoch, server: short(p.server), trust: p.trust })) },
        mark: { type: "line", point: true },
        encoding: { x: { field: "epoch", type: "quantitative", axis: { tickMinStep: 1 } }, y: { field: "trust", type: "quantitative", title: "S_i", scale: { domain: [0, 1] } }, color: { field: "server", type: "nominal" } },
      },
      { data: { values: [{ theta: Number(st.theta) }] }, mark: { type: "rule", strokeDash: [4, 4], color: "#b42318" }, encoding: { y: { field: "theta", type: "quantitative" } } },
    ],
  });
}

async function poll() {
  try {
    await refresh();
  } catch (err) {
    $("summary").textContent = `cannot reach the API: ${err.message}`;
  }
  setTimeout(poll, 2000);
}

function bubble(cls, text) {
  const div = document.createElement("div");
  div.className = `msg ${cls}`;
  div.textContent = text;
  $("chat-log").append(div);
  return div;
}

/** Sends the conversation and appends the answer as its pieces arrive. */
async function send(ev) {
  ev.preventDefault();
  const text = $("chat-input").value;
  const key = $("chat-key").value;
  localStorage.setItem("efed-api-key", key);
  messages.push({ role: "user", content: text });
  bubble("user", text || "(empty)");
  const out = bubble("assistant", "");
  $("chat-send").disabled = true;
  try {
    const res = await fetch("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify({ model: (await (await fetch("/dashboard/state")).json()).model.id, messages, stream: true, max_tokens: Number($("chat-max").value), temperature: Number($("chat-temp").value) }),
    });
    if (!res.ok) throw new Error((await res.json()).error.message);
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buf = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let nl;
      while ((nl = buf.indexOf("\n\n")) >= 0) {
        const line = buf.slice(0, nl).replace(/^data: /, "");
        buf = buf.slice(nl + 2);
        if (line === "[DONE]") continue;
        const chunk = JSON.parse(line);
        if (chunk.error) throw new Error(chunk.error.message);
        out.textContent += chunk.choices[0]?.delta?.content ?? "";
      }
    }
    messages.push({ role: "assistant", content: out.textContent });
    out.dataset.done = "true";
  } catch (err) {
    out.className = "msg error";
    out.textContent = err.message;
    messages.pop();
  } finally {
    $("chat-send").disabled = false;
  }
}

$("chat-key").value = localStorage.getItem("efed-api-key") ?? "";
$("chat-form").addEventListener("submit", send);
poll();
