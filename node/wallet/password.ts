// Passwords come from EFED_PASSWORD or a prompt with hidden input — never from flags,
// so they stay out of shell history and process lists. They are never printed or logged.
import { createInterface } from "node:readline";

export class PasswordError extends Error {
  override readonly name = "PasswordError";
}

function promptHidden(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    const out = rl as unknown as { _writeToOutput: (s: string) => void; output: NodeJS.WritableStream };
    out._writeToOutput = (s: string) => {
      // echo the prompt and the newline, nothing typed
      if (s.includes(question) || s === "\r\n" || s === "\n") out.output.write(s.includes(question) ? question : "\n");
    };
    rl.question(question, (answer) => {
      rl.close();
      resolve(answer);
    });
    rl.on("SIGINT", () => {
      rl.close();
      reject(new PasswordError("cancelled"));
    });
  });
}

export async function readPassword(purpose: string, opts: { confirm?: boolean } = {}): Promise<string> {
  const env = process.env.EFED_PASSWORD;
  if (env !== undefined) {
    if (env === "") throw new PasswordError("EFED_PASSWORD is set but empty");
    return env;
  }
  if (!process.stdin.isTTY) throw new PasswordError(`a password is needed to ${purpose}: set EFED_PASSWORD or run in a terminal`);
  const pw = await promptHidden(`password to ${purpose}: `);
  if (pw === "") throw new PasswordError("empty password");
  if (opts.confirm) {
    const again = await promptHidden("repeat the password: ");
    if (again !== pw) throw new PasswordError("the passwords differ");
  }
  return pw;
}
