// Chat messages → one prompt. With the model's own template (GGUF `tokenizer.chat_template`,
// or `chat_template` in a Hugging Face directory's tokenizer_config.json), rendered by the
// Hugging Face Jinja engine as transformers renders it; without one, a plain template.
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { Template } from "@huggingface/jinja";
import { readGgufHeader } from "../model/gguf.ts";

export interface ChatMessage {
  readonly role: string;
  readonly content: string;
}

/** Renders messages with a Jinja chat template, asking for the assistant's turn. BOS is
 * rendered empty because the tokenizer adds it as an id (a "<s>" in the text would be
 * tokenized as characters); EOS likewise, since our tokenizers do not parse special tokens. */
export function jinjaTemplate(source: string): (messages: readonly ChatMessage[]) => string {
  const t = new Template(source);
  return (messages) => t.render({ messages, add_generation_prompt: true, bos_token: "", eos_token: "" });
}

/** The plain template for a model without one (a base model, such as the stories models):
 * the messages' texts, one paragraph each, for the model to continue. Roles are left out
 * because a base model was never taught them; it continues the text it is given. */
export function plainTemplate(messages: readonly ChatMessage[]): string {
  return messages
    .map((m) => m.content)
    .filter((c) => c !== "")
    .join("\n\n");
}

/** The chat template stored with the model, if any. */
export async function readChatTemplate(modelFile: string): Promise<string | undefined> {
  if (statSync(modelFile).isDirectory()) {
    try {
      const cfg = JSON.parse(readFileSync(join(modelFile, "tokenizer_config.json"), "utf8")) as { chat_template?: unknown };
      return typeof cfg.chat_template === "string" ? cfg.chat_template : undefined;
    } catch {
      return undefined;
    }
  }
  if (modelFile.endsWith(".safetensors")) return undefined;
  const t = (await readGgufHeader(modelFile)).metadata["tokenizer.chat_template"];
  return typeof t === "string" ? t : undefined;
}

export function chatTemplateOf(source: string | undefined): (messages: readonly ChatMessage[]) => string {
  return source === undefined ? plainTemplate : jinjaTemplate(source);
}
