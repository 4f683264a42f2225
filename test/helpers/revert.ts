// Asserts that a call reverts with a named custom error (and, optionally, its arguments).
import assert from "node:assert/strict";
import type { Interface } from "ethers";

function revertData(err: unknown): string | undefined {
  let e = err as Record<string, unknown> | undefined;
  for (let depth = 0; e !== undefined && depth < 5; depth++) {
    if (typeof e.data === "string" && e.data.startsWith("0x")) return e.data;
    if (e.data !== null && typeof e.data === "object" && typeof (e.data as { data?: unknown }).data === "string") {
      return (e.data as { data: string }).data;
    }
    e = (e.error ?? e.cause) as Record<string, unknown> | undefined;
  }
  return undefined;
}

export async function expectRevert(
  call: Promise<unknown>,
  iface: Interface,
  name: string,
  args?: readonly unknown[],
): Promise<void> {
  try {
    await call;
  } catch (err) {
    const data = revertData(err);
    assert.ok(data !== undefined, `expected ${name}, got an error without revert data: ${String(err)}`);
    const parsed = iface.parseError(data);
    assert.ok(parsed !== null, `expected ${name}, got undecodable revert data ${data}`);
    assert.equal(parsed.name, name);
    if (args !== undefined) assert.deepEqual([...parsed.args], [...args]);
    return;
  }
  assert.fail(`expected revert ${name}, but the call succeeded`);
}
