// The qapms VS Code extension: starts `qapms-lsp` over stdio and passes it the `qapms`
// settings. Everything else (hovers, links, completion, diagnostics, lenses, code actions)
// is the language server's; the extension stays a thin launcher so every editor gets the
// same features.

import * as vscode from "vscode";
import {
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  TransportKind,
} from "vscode-languageclient/node";

import { serverCommand, serverSettings } from "./settings";

let client: LanguageClient | undefined;

const DOCUMENTS = [
  "python",
  "java",
  "kotlin",
  "javascript",
  "typescript",
  "javascriptreact",
  "typescriptreact",
  "markdown",
  "yaml",
  "feature",
  "json",
  "plaintext",
].map((language) => ({ scheme: "file", language }));

async function start(context: vscode.ExtensionContext): Promise<void> {
  const config = vscode.workspace.getConfiguration("qapms");
  const command = serverCommand(config);
  const serverOptions: ServerOptions = {
    run: { command, transport: TransportKind.stdio },
    debug: { command, transport: TransportKind.stdio },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: DOCUMENTS,
    initializationOptions: serverSettings(config),
    outputChannelName: "qapms",
    synchronize: {
      fileEvents: vscode.workspace.createFileSystemWatcher("**/qapms.{yaml,yml}"),
    },
  };
  client = new LanguageClient("qapms", "qapms", serverOptions, clientOptions);
  try {
    await client.start();
  } catch (err) {
    void vscode.window.showErrorMessage(
      `qapms: cannot start ${command} (${String(err)}). Install qapms-lsp or set qapms.server.path.`,
    );
    client = undefined;
  }
  context.subscriptions.push({ dispose: () => void client?.stop() });
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  context.subscriptions.push(
    vscode.commands.registerCommand("qapms.restartServer", async () => {
      await client?.stop();
      await start(context);
    }),
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (!event.affectsConfiguration("qapms") || !client) {
        return;
      }
      if (event.affectsConfiguration("qapms.server.path")) {
        await client.stop();
        await start(context);
        return;
      }
      await client.sendNotification("workspace/didChangeConfiguration", {
        settings: { qapms: serverSettings(vscode.workspace.getConfiguration("qapms")) },
      });
    }),
  );
  await start(context);
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
