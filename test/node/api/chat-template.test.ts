import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { chatTemplateOf, readChatTemplate } from "../../../node/api/chat-template.ts";
import { modelIdOf } from "../../../node/api/backend.ts";
import { STORIES_260K } from "../../helpers/models.ts";

describe("chat templates", () => {
  it("renders the model's Jinja template with the assistant's turn to come", () => {
    const zephyr = "{% for m in messages %}<|{{ m.role }}|>\n{{ m.content }}{{ eos_token }}\n{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}";
    const render = chatTemplateOf(zephyr);
    assert.equal(render([{ role: "system", content: "Be brief." }, { role: "user", content: "Hi" }]), "<|system|>\nBe brief.\n<|user|>\nHi\n<|assistant|>\n");
  });

  it("falls back to the plain template: the messages' text for a base model to continue", async () => {
    assert.equal(await readChatTemplate(STORIES_260K), undefined);
    const render = chatTemplateOf(undefined);
    assert.equal(render([{ role: "user", content: "Once upon a time" }]), "Once upon a time");
    assert.equal(render([{ role: "system", content: "A story." }, { role: "user", content: "" }, { role: "user", content: "Tom" }]), "A story.\n\nTom");
  });

  it("names the model after its file", () => {
    assert.equal(modelIdOf("/x/stories260K-f32.gguf"), "stories260K-f32");
    assert.equal(modelIdOf("/x/TinyLlama/"), "TinyLlama");
  });
});
