// The dashboard's routes, served by the API process: the page and its script (no build
// step), Vega and Vega-Lite straight from node_modules, and /dashboard/state, the swarm as
// the ledger shows it (read at most once a second, however many pages are open).
import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Backend } from "./backend.ts";
import { sendJson } from "./http.ts";
import { readSwarmView, type SwarmView } from "./swarm-view.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const MODULES = join(HERE, "..", "..", "node_modules");

/** URL → file and content type. Nothing else is served: no path ever comes from the request. */
const FILES: Record<string, [string, string]> = {
  "/": [join(HERE, "dashboard", "index.html"), "text/html; charset=utf-8"],
  "/dashboard/app.js": [join(HERE, "dashboard", "app.js"), "text/javascript; charset=utf-8"],
  "/dashboard/style.css": [join(HERE, "dashboard", "style.css"), "text/css; charset=utf-8"],
  "/vendor/vega.min.js": [join(MODULES, "vega", "build", "vega.min.js"), "text/javascript; charset=utf-8"],
  "/vendor/vega-lite.min.js": [join(MODULES, "vega-lite", "build", "vega-lite.min.js"), "text/javascript; charset=utf-8"],
};

const STATE_TTL_MS = 1000;

export function dashboardRoutes(backend: Backend): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  let cached: { at: number; view: Promise<SwarmView> } | undefined;
  const view = () => {
    if (cached === undefined || Date.now() - cached.at > STATE_TTL_MS) {
      cached = { at: Date.now(), view: readSwarmView(backend.ledger!) };
      cached.view.catch(() => (cached = undefined)); // a failed read is retried at the next request
    }
    return cached.view;
  };
  return async (req, res) => {
    if (req.method !== "GET") return false;
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (path === "/dashboard/state") {
      const model = { id: backend.modelId, mode: backend.mode, contextLength: backend.client.config.contextLength, chatTemplate: backend.hasChatTemplate ? "model" : "plain" };
      if (backend.ledger === undefined) return sendJson(res, 200, { model }), true;
      try {
        sendJson(res, 200, { model, ...(await view()) });
      } catch (err) {
        sendJson(res, 503, { model, error: `cannot read the ledger: ${(err as Error).message.split("\n")[0]}` });
      }
      return true;
    }
    const file = FILES[path];
    if (file === undefined) return false;
    const body = await readFile(file[0]);
    res.writeHead(200, { "content-type": file[1], "content-length": body.length, "cache-control": "no-cache" });
    res.end(body);
    return true;
  };
}
