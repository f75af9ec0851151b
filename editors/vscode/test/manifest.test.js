// Checks the extension without a VS Code test host (none can run headless here): the
// manifest is valid and consistent with the code, and the settings reach the server in the
// shape qapms-lsp reads. Run after `npm run compile`.

const test = require("node:test");
const assert = require("node:assert");
const fs = require("node:fs");
const path = require("node:path");

const root = path.join(__dirname, "..");
const manifest = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));

test("manifest names an entry point that the build produced", () => {
  assert.strictEqual(manifest.main, "./out/extension.js");
  assert.ok(fs.existsSync(path.join(root, manifest.main)), "run npm run compile first");
  assert.match(manifest.engines.vscode, /^\^1\.\d+\.\d+$/);
  assert.ok(manifest.dependencies["vscode-languageclient"]);
});

test("every contributed setting has a type, a default and a description", () => {
  const props = manifest.contributes.configuration.properties;
  for (const [key, spec] of Object.entries(props)) {
    assert.ok(key.startsWith("qapms."), key);
    assert.ok(spec.type, `${key} has no type`);
    assert.ok("default" in spec, `${key} has no default`);
    assert.ok(spec.description, `${key} has no description`);
    if (spec.enum) {
      assert.ok(spec.enum.includes(spec.default), `${key} default not in enum`);
    }
  }
});

test("contributed commands are registered by the code", () => {
  const source = fs.readFileSync(path.join(root, "src", "extension.ts"), "utf8");
  for (const { command } of manifest.contributes.commands) {
    assert.ok(source.includes(`"${command}"`), `${command} is not registered`);
  }
});

test("settings are sent in the server's shape", () => {
  const { serverSettings, serverCommand } = require(path.join(root, "out", "settings.js"));
  const values = {
    "configPath": " ",
    "keyPatterns": ["pay", "OPS", "not a key"],
    "diagnostics.missingTicket": "error",
    "server.path": "",
  };
  const reader = { get: (k, d) => (k in values ? values[k] : d) };
  const s = serverSettings(reader);
  assert.deepStrictEqual(s.keyPatterns, ["PAY", "OPS"]);
  assert.strictEqual(s.configPath, undefined);
  assert.strictEqual(s.diagnostics.missingTicket, "error");
  assert.strictEqual(s.diagnostics.resolvedSkip, "information");
  assert.strictEqual(serverCommand(reader), "qapms-lsp");
});
