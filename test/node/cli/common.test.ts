import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { homedir } from "node:os";
import { join } from "node:path";
import { defaultDeploymentsDir } from "../../../node/cli/common.ts";

describe("where deployments are read and written", () => {
  it("beside the wallets, whatever the current directory", () => {
    assert.equal(defaultDeploymentsDir({}), join(homedir(), ".efed", "deployments"));
    assert.equal(defaultDeploymentsDir({ EFED_HOME: "/srv/efed" }), "/srv/efed/deployments");
    assert.equal(defaultDeploymentsDir({ EFED_HOME: "/srv/efed", EFED_DEPLOYMENTS: "/d" }), "/d");
  });
});
