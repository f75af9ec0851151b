// What the extension sends the server: the `qapms` settings, in the shape qapms-lsp reads
// (camelCase, nested `diagnostics`). Kept free of `vscode` imports so it is unit-testable
// with plain node.

export interface ServerSettings {
  configPath?: string;
  profile?: string;
  keyPatterns: string[];
  user?: string;
  diagnostics: {
    enabled: boolean;
    missingTicket: string;
    resolvedSkip: string;
  };
}

/** Anything with VS Code's `WorkspaceConfiguration.get` shape. */
export interface ConfigReader {
  get<T>(section: string, defaultValue: T): T;
}

const nonEmpty = (s: string): string | undefined => (s.trim() === "" ? undefined : s.trim());

export function serverSettings(config: ConfigReader): ServerSettings {
  return {
    configPath: nonEmpty(config.get<string>("configPath", "")),
    profile: nonEmpty(config.get<string>("profile", "")),
    keyPatterns: config
      .get<string[]>("keyPatterns", [])
      .map((k) => k.trim().toUpperCase())
      .filter((k) => /^[A-Z][A-Z0-9_]*$/.test(k)),
    user: nonEmpty(config.get<string>("user", "")),
    diagnostics: {
      enabled: config.get<boolean>("diagnostics.enabled", true),
      missingTicket: config.get<string>("diagnostics.missingTicket", "warning"),
      resolvedSkip: config.get<string>("diagnostics.resolvedSkip", "information"),
    },
  };
}

/** The server binary: the configured path, else `qapms-lsp` from PATH. */
export function serverCommand(config: ConfigReader): string {
  return nonEmpty(config.get<string>("server.path", "")) ?? "qapms-lsp";
}
